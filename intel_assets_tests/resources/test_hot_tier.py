import time
from datetime import UTC, datetime

import pytest

from intel_assets.resources.hot_tier import RedisHotTier


def test_values_round_trip_as_json_with_their_ttl(hot_tier: RedisHotTier):
    when = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    hot_tier.put_json(
        {"youtube:games:fortnite": {"videos": 3, "fetched_at": when}, "k2": [1, 2]},
        ttl_seconds=18_000,
    )

    assert hot_tier.get_json("youtube:games:fortnite") == {
        "videos": 3,
        "fetched_at": "2026-05-01T12:30:00+00:00",
    }
    assert hot_tier.get_json_many(["k2", "missing"]) == {"k2": [1, 2]}
    ttl = hot_tier.client().ttl("youtube:games:fortnite")
    assert 17_990 <= int(ttl) <= 18_000  # type: ignore[arg-type]


def test_keys_expire(hot_tier: RedisHotTier):
    hot_tier.put_json({"intel:viral:precomputed:roblox": {"viral": 1}}, ttl_seconds=1)
    assert hot_tier.get_json("intel:viral:precomputed:roblox") == {"viral": 1}
    time.sleep(1.2)
    assert hot_tier.get_json("intel:viral:precomputed:roblox") is None


def test_keys_without_expiry_are_refused(hot_tier: RedisHotTier):
    with pytest.raises(ValueError, match="always expire"):
        hot_tier.put_json({"k": 1}, ttl_seconds=0)
