import math
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from intel_assets.defs.aggregation.performance import premiere_performance, regional_performance
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.snapshot_rows import insert_streams, insert_videos

D1 = datetime(2026, 3, 4, tzinfo=UTC)


def _run(asset: dg.AssetsDefinition, warehouse: PostgresWarehouse) -> None:
    for _ in range(2):  # the second run must leave the same rows
        result = dg.materialize(
            [asset], partition_key="2026-03-04", resources={"warehouse": warehouse}
        )
        assert result.success


def test_regional_table_is_supply_against_demand_per_language(warehouse: PostgresWarehouse):
    at = D1 + timedelta(hours=8)
    insert_videos(
        warehouse,
        [
            dict(video_id="a", game_key="valorant", collected_at=at, view_count=100,
                 default_audio_language="en"),
            dict(video_id="b", game_key="valorant", collected_at=at, view_count=300,
                 default_audio_language="en-US"),
            dict(video_id="c", game_key="valorant", collected_at=at, view_count=600,
                 default_audio_language="es"),
        ],
    )  # fmt: skip
    insert_streams(
        warehouse,
        [
            dict(stream_id="s1", game_key="valorant", collected_at=at, viewer_count=30,
                 language="en"),
            dict(stream_id="s2", game_key="valorant", collected_at=at, viewer_count=10,
                 language="es"),
        ],
    )  # fmt: skip

    _run(regional_performance, warehouse)

    rows = warehouse.fetch_dicts(
        "SELECT language_code, youtube_video_count, youtube_avg_views, youtube_total_views, "
        "twitch_stream_count, twitch_total_viewers, competition_score, opportunity_score, "
        "market_share_percent FROM intel_regional_performance ORDER BY language_code"
    )
    # Supply: en 2/3, es 1/3 of the videos; demand: en 30/40, es 10/40 of the viewers.
    s_en, s_es, d_en, d_es = 2 / 3, 1 / 3, 0.75, 0.25
    assert rows == [
        {"language_code": "en", "youtube_video_count": 2, "youtube_avg_views": 200.0,
         "youtube_total_views": 400, "twitch_stream_count": 1, "twitch_total_viewers": 30,
         "competition_score": pytest.approx(100 * s_en / (s_en + d_en), abs=1e-3),
         "opportunity_score": pytest.approx(100 * d_en / (s_en + d_en), abs=1e-3),
         "market_share_percent": pytest.approx(40.0)},  # 400 of 1000 views
        {"language_code": "es", "youtube_video_count": 1, "youtube_avg_views": 600.0,
         "youtube_total_views": 600, "twitch_stream_count": 1, "twitch_total_viewers": 10,
         "competition_score": pytest.approx(100 * s_es / (s_es + d_es), abs=1e-3),
         # es has a third of en's audience: its opportunity is scaled by sqrt(1/3).
         "opportunity_score": pytest.approx(
             100 * d_es / (s_es + d_es) * math.sqrt(d_es / d_en), abs=1e-3),
         "market_share_percent": pytest.approx(60.0)},
    ]  # fmt: skip


def test_premiere_table_compares_premieres_with_instant_uploads(warehouse: PostgresWarehouse):
    at = D1 + timedelta(hours=20)
    scheduled = D1 + timedelta(hours=18)
    insert_videos(
        warehouse,
        [
            dict(video_id="p", game_key="apex", collected_at=at, view_count=900,
                 live_state="ended", is_premiere=True, scheduled_start=scheduled,
                 actual_start=scheduled + timedelta(seconds=120)),
            dict(video_id="i1", game_key="apex", collected_at=at, view_count=300),
            dict(video_id="i2", game_key="apex", collected_at=at, view_count=600),
        ],
    )  # fmt: skip

    _run(premiere_performance, warehouse)

    (row,) = warehouse.fetch_dicts("SELECT * FROM intel_premiere_performance")
    assert {k: row[k] for k in ("category_key", "premiere_count", "instant_count")} == {
        "category_key": "apex",
        "premiere_count": 1,
        "instant_count": 2,
    }
    assert row["premiere_avg_views"] == 900.0
    assert row["instant_avg_views"] == 450.0  # (300 + 600) / 2
    assert row["performance_ratio"] == pytest.approx(2.0)  # 900 / 450
    assert row["avg_delay_seconds"] == 120.0  # started two minutes late
    assert row["on_time_percent"] == pytest.approx(100.0)  # within the 5-minute tolerance
    assert isinstance(row["best_times"], list) and isinstance(row["worst_times"], list)
