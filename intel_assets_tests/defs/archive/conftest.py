"""An S3 API for archive tests: moto's server on a free local port, and archive stores."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest
from dagster_aws.s3 import S3Resource

from intel_assets.resources.archive import ArchiveStore
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope
from intel_assets_tests.conftest import free_port
from intel_assets_tests.defs.snapshot_rows import insert_channels, insert_streams, insert_videos

BUCKET = "intel-archive"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """URL of an S3-compatible server (moto) on 127.0.0.1, for this test session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_resource(moto_url: str, max_attempts: int = 5) -> S3Resource:
    """dagster-aws' S3 resource pointed at moto with moto's dummy credentials."""
    return S3Resource(
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        max_attempts=max_attempts,
    )


@pytest.fixture
def s3_store(moto_url: str, request: pytest.FixtureRequest) -> ArchiveStore:
    """An archive in a fresh bucket prefix of moto's S3."""
    client = s3_resource(moto_url).get_client()
    if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=BUCKET)
    prefix = f"runs/{request.node.name}"
    return ArchiveStore(url=f"s3://{BUCKET}/{prefix}", s3=s3_resource(moto_url))


@pytest.fixture
def folder_store(tmp_path: Path) -> ArchiveStore:
    """An archive in a local folder (the embedded default)."""
    return ArchiveStore(url=str(tmp_path / "archive"), s3=S3Resource())


def download_prefix(store: ArchiveStore, target: Path) -> list[str]:
    """Copy every object of an S3 archive into `target`, keeping its keys; the keys."""
    client = boto3.client(
        "s3",
        endpoint_url=store.s3.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    prefix = store.key("")
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :].lstrip("/")
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            client.download_file(BUCKET, item["Key"], str(target / relative))
            keys.append(relative)
    return sorted(keys)


def ts(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def seed_month(warehouse: PostgresWarehouse) -> dict[str, int]:
    """Rows in and around March 2026 in every archived table; March's count per table."""
    insert_videos(
        warehouse,
        [
            dict(video_id="before", game_key="fortnite", collected_at=ts(2026, 2, 28, 23, 59, 59)),
            dict(video_id="first", game_key="fortnite", collected_at=ts(2026, 3, 1),
                 tags=["fps", "ñandú 🎮"], view_count=10, like_count=None,
                 default_audio_language="es"),
            dict(video_id="mid", game_key="minecraft", collected_at=ts(2026, 3, 15, 12),
                 duration_seconds=61, is_short=False, view_count=2**40),
            dict(video_id="last", game_key="fortnite", collected_at=ts(2026, 3, 31, 23, 59, 59)),
            dict(video_id="after", game_key="fortnite", collected_at=ts(2026, 4, 1)),
        ],
    )  # fmt: skip
    insert_streams(
        warehouse,
        [
            dict(stream_id="s1", game_key="valorant", collected_at=ts(2026, 3, 2), viewer_count=5),
            dict(stream_id="s2", game_key="valorant", collected_at=ts(2026, 4, 2), viewer_count=5),
        ],
    )
    insert_channels(
        warehouse,
        [dict(channel_id="c1", game_key="fortnite", collected_at=ts(2026, 3, 3), country="BR")],
    )
    everything = RowScope(time_column="hour_start", start=ts(2000, 1, 1), end=ts(2100, 1, 1))
    warehouse.replace_rows(
        "intel_hourly_metrics",
        ["category_key", "hour_start", "video_count", "language_distribution"],
        [
            ("fortnite", ts(2026, 3, 1, 0), 2, '{"en": 1, "es": 1}'),
            ("fortnite", ts(2026, 3, 31, 23), 1, "{}"),
            ("fortnite", ts(2026, 4, 1, 0), 1, "{}"),
        ],
        scope=everything,
    )
    by_date = RowScope(time_column="date", start=date(2000, 1, 1), end=date(2100, 1, 1))
    warehouse.replace_rows(
        "intel_daily_metrics",
        ["category_key", "date", "views_trend"],
        [("fortnite", date(2026, 3, 1), 12.5), ("fortnite", date(2026, 4, 1), 0.0)],
        scope=by_date,
    )
    warehouse.replace_rows(
        "intel_duration_performance",
        ["category_key", "date", "bucket_label", "bucket_min_seconds", "bucket_max_seconds"],
        [("fortnite", date(2026, 3, 9), "1_3m", 60, 180)],
        scope=by_date,
    )
    warehouse.replace_rows(
        "intel_regional_performance",
        ["category_key", "date", "language_code"],
        [("fortnite", date(2026, 3, 9), "pt"), ("fortnite", date(2026, 3, 9), "en")],
        scope=by_date,
    )
    warehouse.replace_rows(
        "intel_premiere_performance",
        ["category_key", "date", "best_times"],
        [("fortnite", date(2026, 3, 9), '[{"hour_utc": 18, "day_of_week": 5}]')],
        scope=by_date,
    )
    warehouse.replace_rows(
        "intel_quota_log",
        ["platform", "bucket", "operation", "units_used", "units_remaining", "quota_day",
         "created_at"],
        [
            ("youtube", "default", "videos.list", 1, 9999, date(2026, 3, 4), ts(2026, 3, 5, 7)),
            ("youtube", "search", "search.list", 1, 99, date(2026, 4, 1), ts(2026, 4, 1, 8)),
        ],
        scope=RowScope(time_column="created_at", start=ts(2000, 1, 1), end=ts(2100, 1, 1)),
    )  # fmt: skip
    _seed_twitch_stats(warehouse)
    _seed_twitch_growth_and_channels(warehouse)
    return {
        "video_snapshots": 3,
        "stream_snapshots": 1,
        "channel_snapshots": 1,
        "intel_hourly_metrics": 2,
        "intel_daily_metrics": 1,
        "intel_duration_performance": 1,
        "intel_regional_performance": 2,
        "intel_premiere_performance": 1,
        "intel_quota_log": 1,
        "twitch_game_stats": 2,
        "twitch_game_stats_hourly": 1,
        "twitch_game_top_streamers": 1,
        "twitch_game_stats_monthly": 1,
        "channel_growth": 1,
        "twitch_broadcaster_growth": 1,
        "twitch_channel_snapshots": 1,
        "twitch_video_snapshots": 1,
        "channel_projections": 1,
    }


def _twitch_stats_row(game: str, period: object, watched: float) -> tuple:
    """A Twitch statistics row of `watched` hours over 2 streamed hours in a 24-hour period."""
    return (game, period, watched, 2.0, watched / 24, 2.0 / 24, watched / 2, 9, 1, 1, 4, 4)


def _seed_twitch_stats(warehouse: PostgresWarehouse) -> None:
    stats = ("game_key", "hours_watched", "hours_streamed", "avg_viewers", "avg_channels",
             "viewer_ratio", "peak_viewers", "peak_channels", "unique_streamers",
             "snapshot_count")  # fmt: skip
    days = RowScope(time_column="day", start=date(2000, 1, 1), end=date(2100, 1, 1))
    warehouse.replace_rows(
        "twitch_game_stats",
        [stats[0], "day", *stats[1:], "collection_count"],
        [
            _twitch_stats_row("valorant", date(2026, 3, 1), 10.0),
            ("valorant", date(2026, 3, 31), 0.0, 0.0, 0.0, 0.0, None, 0, 0, 0, 0, 0),  # no streams
            _twitch_stats_row("valorant", date(2026, 4, 1), 12.0),
        ],
        scope=days,
    )
    warehouse.replace_rows(
        "twitch_game_stats_hourly",
        [stats[0], "hour_start", *stats[1:], "collection_count"],
        [
            _twitch_stats_row("valorant", ts(2026, 3, 2, 0), 5.0),
            _twitch_stats_row("valorant", ts(2026, 4, 2, 0), 5.0),
        ],
        scope=RowScope(time_column="hour_start", start=ts(2000, 1, 1), end=ts(2100, 1, 1)),
    )
    warehouse.replace_rows(
        "twitch_game_top_streamers",
        ["game_key", "day", "rank", "user_id", "user_login", "user_name", "hours_watched",
         "hours_streamed", "avg_viewers", "peak_viewers"],
        [
            ("valorant", date(2026, 3, 2), 1, "u1", "ü_login", None, 2.5, 0.5, 5.0, 5),
            ("valorant", date(2026, 4, 2), 1, "u1", "ü_login", None, 2.5, 0.5, 5.0, 5),
        ],
        scope=days,
    )  # fmt: skip
    warehouse.replace_rows(
        "channel_growth",
        ["game_key", "day", "channel_id", "fetched_at", "subscriber_count",
         "subscribers_change_7d", "rank_7d_absolute"],
        [
            ("fortnite", date(2026, 3, 31), "c1", ts(2026, 3, 31, 10), 1200, 70, 1),
            ("fortnite", date(2026, 4, 1), "c1", ts(2026, 4, 1, 10), None, None, None),
        ],
        scope=days,
    )  # fmt: skip
    warehouse.replace_rows(
        "twitch_game_stats_monthly",
        [stats[0], "month", *stats[1:], "days_covered"],
        [
            _twitch_stats_row("valorant", date(2026, 3, 1), 10.0),
            _twitch_stats_row("valorant", date(2026, 4, 1), 12.0),
        ],
        scope=RowScope(time_column="month", start=date(2000, 1, 1), end=date(2100, 1, 1)),
    )


def _seed_twitch_growth_and_channels(warehouse: PostgresWarehouse) -> None:
    """A March and an April row of the broadcasters' growth, the channel projections and the
    Twitch channel and video snapshots."""
    warehouse.replace_rows(
        "twitch_broadcaster_growth",
        ["game_key", "day", "user_id", "user_login", "hours_streamed", "hours_watched",
         "avg_viewers", "peak_viewers", "snapshot_count", "hours_watched_change_7d",
         "rank_hours_watched"],
        [
            ("valorant", date(2026, 3, 5), "u1", "ü_login", 2.0, 20.0, 10.0, 14, 5, -1.5, 1),
            ("valorant", date(2026, 4, 1), "u1", "ü_login", 1.0, 5.0, 5.0, 6, 3, None, 1),
        ],
        scope=RowScope(time_column="day", start=date(2000, 1, 1), end=date(2100, 1, 1)),
    )  # fmt: skip
    warehouse.replace_rows(
        "channel_projections",
        ["game_key", "day", "channel_id", "history_days", "subscriber_count",
         "subscribers_per_day", "projected_subscribers_30d"],
        [
            ("fortnite", date(2026, 3, 31), "c1", 20, 1200, 10.5, 1515.0),
            ("fortnite", date(2026, 4, 1), "c1", 3, 1210, None, None),
        ],
        scope=RowScope(time_column="day", start=date(2000, 1, 1), end=date(2100, 1, 1)),
    )  # fmt: skip
    every = RowScope(time_column="collected_at", start=ts(2000, 1, 1), end=ts(2100, 1, 1))
    warehouse.replace_rows(
        "twitch_channel_snapshots",
        ["game_key", "collected_at", "collection_id", "broadcaster_id", "broadcaster_language",
         "tags", "top_rank"],
        [
            ("valorant", ts(2026, 3, 6), "c-march", "u1", "pt", ["Português", "FPS"], 1),
            ("valorant", ts(2026, 4, 2), "c-april", "u1", None, [], 1),
        ],
        scope=every,
    )  # fmt: skip
    warehouse.replace_rows(
        "twitch_video_snapshots",
        ["game_key", "collected_at", "collection_id", "video_id", "user_id", "created_at",
         "view_count", "video_type", "duration_seconds"],
        [
            ("valorant", ts(2026, 3, 6), "c-march", "v1", "u1", ts(2026, 3, 5), 2**33, "archive",
             3600),
            ("valorant", ts(2026, 4, 2), "c-april", "v2", "u1", ts(2026, 4, 1), None, "archive",
             60),
        ],
        scope=every,
    )  # fmt: skip
