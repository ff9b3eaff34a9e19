from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from intel_assets.catalog import load_catalog
from intel_assets.defs.aggregation.daily import daily_rollup
from intel_assets.defs.collection.assets import CollectionPolicy
from intel_assets.dev.history_seeding import seed_history, simulator_resources
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.simulator import Simulator
from intel_assets_tests.clock import utc_midnight
from intel_assets_tests.defs.aggregation.test_daily import _daily, _hours, _run, expected_daily
from intel_assets_tests.defs.aggregation.test_hourly import expected_hourly

HOURLY_COMPARED = (
    "video_count", "avg_views", "total_views", "avg_engagement", "shorts_count",
    "shorts_avg_views", "longform_count", "longform_avg_views", "avg_duration_seconds",
    "language_distribution", "dominant_language", "snapshot_count", "twitch_stream_count",
    "twitch_total_viewers",
)  # fmt: skip


def _rows(frame: pd.DataFrame) -> list[dict]:
    frame = frame.assign(collected_at=pd.to_datetime(frame["collected_at"], utc=True))
    return frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[return-value]


@pytest.mark.long
def test_two_seeded_days_roll_up_as_an_independent_pandas_computation_says(
    warehouse: PostgresWarehouse, hot_tier: RedisHotTier
):
    # The two UTC days before yesterday (of the test's clock): complete days with partitions.
    day_two = utc_midnight(-2)
    day_one = day_two - timedelta(days=1)
    # Twitch every 6 hours (4 collections a game a day): enough hours with streams for the
    # rollup's Twitch columns, at half the runs of every 3 hours.
    with Simulator(seed=9, videos_per_game_per_day=40, channels=600).running() as sim:
        resources = simulator_resources(
            sim.youtube_url, sim.twitch_url, sim.auth_url, warehouse, hot_tier,
            CollectionPolicy(regions=["US", "JP"], twitch_interval_minutes=360),
        )  # fmt: skip
        report = seed_history(2, resources, end=day_two + timedelta(days=1), with_analysis=False)
    assert report.failed == 0

    _hours(warehouse, f"{day_one:%Y-%m-%d}-00:00", f"{day_two:%Y-%m-%d}-23:00")
    _run([daily_rollup], warehouse, f"{day_one:%Y-%m-%d}")
    _run([daily_rollup], warehouse, f"{day_two:%Y-%m-%d}")

    videos = _rows(warehouse.fetch_frame(b"SELECT * FROM video_snapshots"))
    streams = _rows(warehouse.fetch_frame(b"SELECT * FROM stream_snapshots"))
    expected = expected_hourly(videos, streams)
    stored = warehouse.fetch_frame(
        b"SELECT * FROM intel_hourly_metrics WHERE video_count > 0 "
        b"ORDER BY hour_start, category_key"
    ).reset_index(drop=True)
    stored["hour_start"] = pd.to_datetime(stored["hour_start"], utc=True)
    # every game has YouTube snapshots in some hours of both days
    assert len(stored) == len(expected) >= 2 * len(load_catalog().keys) * 4
    assert stored["category_key"].tolist() == expected["category_key"].tolist()
    assert stored["hour_start"].tolist() == expected["hour_start"].tolist()
    # The Twitch columns are compared in hours that have streams, not only zeros.
    assert (stored["twitch_stream_count"] > 0).sum() >= 2 * len(load_catalog().keys)
    for column in HOURLY_COMPARED:
        if stored[column].dtype.kind == "f":
            np.testing.assert_allclose(stored[column], expected[column], rtol=1e-9, err_msg=column)
        else:
            assert stored[column].tolist() == expected[column].tolist(), column

    all_hours = warehouse.fetch_frame(b"SELECT * FROM intel_hourly_metrics")
    all_hours["hour_start"] = pd.to_datetime(all_hours["hour_start"], utc=True)
    want = expected_daily(videos, all_hours, games=sorted(load_catalog().keys))
    got = _daily(warehouse)  # ordered by date, then game
    assert len(got) == len(want) == 2 * len(load_catalog().keys)
    for actual, row in zip(got, want, strict=True):
        assert actual["category_key"] == row["category_key"]
        for column, value in row.items():
            if isinstance(value, float):
                assert actual[column] == pytest.approx(value, rel=1e-9), (actual["date"], column)
            else:
                assert actual[column] == value, (actual["date"], column)
