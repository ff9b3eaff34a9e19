"""Hot-tier writes: `RedisHotTier.put_json` (one pipelined round trip) against one SET per trip.

Both write the same keys and JSON values (a game's summary-sized document each) with the same
TTL to the embedded Redis, which syncs its append-only file on every write (`appendfsync
always`, so the ledger survives a crash): one round trip per key also pays one sync per key.
"""

from typing import Any

from benchmarks import environment
from benchmarks.harness import check
from benchmarks.measure import interleaved_medians, rate, row, seconds, times
from intel_assets.resources.hot_tier import RedisHotTier, dumps

TTL_SECONDS = 3600


def _values(count: int) -> dict[str, Any]:
    return {
        f"bench:hot:{i}": {
            "game_key": f"game_{i % 500}",
            "video_count": i,
            "top": [{"video_id": f"v{i}-{n}", "views": n * 1000 + i} for n in range(5)],
        }
        for i in range(count)
    }


def run(smoke: bool) -> list[dict[str, Any]]:
    """Time both ways of writing `count` keys, interleaved, and check every key landed."""
    env = environment.current()
    count = 200 if smoke else 20_000
    repeats = 1 if smoke else 3
    items = _values(count)
    hot_tier = RedisHotTier(url=env.redis_url, socket_timeout_seconds=10.0)
    client = hot_tier.client()

    def one_set_per_trip() -> None:
        for key, value in items.items():
            client.set(key, dumps(value), ex=TTL_SECONDS)

    def landed() -> int:
        return int(client.dbsize())  # type: ignore[arg-type]

    env.flush_redis()
    medians: dict[str, float] = {}
    try:
        results: dict[str, int] = {}

        def ours() -> None:
            hot_tier.put_json(items, TTL_SECONDS)

        for name, action in (("ours", ours), ("reference", one_set_per_trip)):
            env.flush_redis()
            action()
            results[name] = landed()
        check(results == {"ours": count, "reference": count}, f"keys written: {results}")
        sample = hot_tier.get_json("bench:hot:7")
        check(sample == items["bench:hot:7"], "a value read back differs from the one written")
        medians = interleaved_medians(
            {"ours": ours, "reference": one_set_per_trip}, repeats, before_each=env.flush_redis
        )
    finally:
        env.flush_redis()
        client.close()
    ratio = medians["reference"] / medians["ours"]
    return [
        row(
            f"hot-tier writes ({count:,} JSON values with TTL)",
            f"{seconds(medians['ours'])} ({rate(count, medians['ours'], 'keys')})",
            f"one SET per round trip: {seconds(medians['reference'])} "
            f"({rate(count, medians['reference'], 'keys')})",
            times(ratio),
            "at least 10x",
            met=ratio >= 10,
            note=(
                f"`RedisHotTier.put_json` of {count:,} keys in one pipeline against a loop of "
                f"`SET key value EX {TTL_SECONDS}`, same client and values, median of {repeats} "
                "interleaved rounds; no Dagster run (the resource is called directly)."
            ),
        )
    ]
