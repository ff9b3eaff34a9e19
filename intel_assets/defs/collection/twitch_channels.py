"""`twitch_channels[game]`: channel details and latest videos of each game's top broadcasters.

The broadcasters are the game's `top_broadcasters` with the most viewers summed over the game's
stream snapshots of the last 24 hours (with snapshots every I minutes, that orders them by hours
watched). For them, `GET /channels` (100 broadcasters a call) gives language, tags and content
labels, and `GET /videos?user_id=` (one call each) their latest past broadcasts with views and
length. Every call spends a point of the per-minute Twitch bucket in the quota ledger and
honours Twitch's own rate-limit headers, as `twitch_streams` does; the asset sits in the same
`twitch_api` pool. Rows go to `twitch_channel_snapshots` and `twitch_video_snapshots` in one
transaction, a collection replacing its own rows.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.contracts.tables import TWITCH_CHANNEL_COLUMNS, TWITCH_VIDEO_COLUMNS
from intel_assets.defs.collection.assets import collection_id, report_overlap
from intel_assets.defs.collection.sensors import GAMES
from intel_assets.defs.collection.state import boundary_report, collection_lock_name
from intel_assets.defs.collection.youtube import elapsed_since
from intel_assets.defs.limits import max_runtime
from intel_assets.partitions import games_partitions
from intel_assets.resources.twitch import TwitchClient, TwitchResource
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, TableWrite, frame_rows

TOP_WINDOW = timedelta(hours=24)
"""How far back the stream snapshots that rank a game's broadcasters reach."""


class TwitchChannelsConfig(dg.Config):
    """How much one collection of a game's broadcasters reads.

    Attributes:
        top_broadcasters: Broadcasters per game (each costs one `/videos` call).
        videos_per_broadcaster: Latest past broadcasts read per broadcaster (1..100).
    """

    top_broadcasters: int = 10
    videos_per_broadcaster: int = 20


def top_broadcasters(
    warehouse: PostgresWarehouse, game_key: str, now: datetime, limit: int
) -> list[str]:
    """The game's broadcasters with the most viewers summed over the last day's snapshots."""
    rows = warehouse.fetch_dicts(
        "SELECT user_id FROM stream_snapshots WHERE game_key = %s AND collected_at >= %s"
        " AND collected_at < %s GROUP BY user_id ORDER BY sum(viewer_count) DESC, user_id"
        " LIMIT %s",
        (game_key, now - TOP_WINDOW, now, limit),
    )
    return [str(r["user_id"]) for r in rows]


def _channel_rows(
    client: TwitchClient, broadcasters: list[str], base: dict[str, Any]
) -> pd.DataFrame:
    rank = {user: n + 1 for n, user in enumerate(broadcasters)}
    infos = client.channels(broadcasters) if broadcasters else []
    rows = [
        {
            **base,
            "broadcaster_id": c.broadcaster_id,
            "broadcaster_login": c.broadcaster_login,
            "broadcaster_name": c.broadcaster_name,
            "broadcaster_language": c.broadcaster_language,
            "twitch_game_id": c.game_id,
            "twitch_game_name": c.game_name,
            "title": c.title,
            "tags": list(c.tags),
            "content_classification_labels": list(c.content_classification_labels),
            "is_branded_content": c.is_branded_content,
            "top_rank": rank[c.broadcaster_id],
        }
        for c in infos
        if c.broadcaster_id in rank
    ]
    return pd.DataFrame(rows, columns=list(TWITCH_CHANNEL_COLUMNS))


def _video_rows(
    client: TwitchClient, broadcasters: list[str], per_broadcaster: int, base: dict[str, Any]
) -> pd.DataFrame:
    rows = [
        {
            **base,
            "video_id": v.video_id,
            "stream_id": v.stream_id,
            "user_id": v.user_id,
            "user_login": v.user_login,
            "user_name": v.user_name,
            "title": v.title,
            "created_at": v.created_at,
            "published_at": v.published_at,
            "view_count": v.view_count,
            "language": v.language,
            "video_type": v.type,
            "duration_seconds": v.duration_seconds,
        }
        for user in broadcasters
        for v in client.user_videos(user_id=user, first=per_broadcaster)
    ]
    # A video listed twice (Helix pages can shift) is kept once.
    frame = pd.DataFrame(rows, columns=list(TWITCH_VIDEO_COLUMNS))
    return frame.drop_duplicates("video_id", keep="first")


def channel_writes(
    game_key: str, this_collection: str, channels: pd.DataFrame, videos: pd.DataFrame
) -> list[TableWrite]:
    """Both tables' rows of one collection, replacing that collection's earlier rows."""
    scope = RowScope(equals={"game_key": game_key, "collection_id": this_collection})
    return [
        TableWrite(
            "twitch_channel_snapshots",
            TWITCH_CHANNEL_COLUMNS,
            frame_rows(channels, TWITCH_CHANNEL_COLUMNS),
            scope,
        ),
        TableWrite(
            "twitch_video_snapshots",
            TWITCH_VIDEO_COLUMNS,
            frame_rows(videos, TWITCH_VIDEO_COLUMNS),
            scope,
        ),
    ]


@dg.asset(
    partitions_def=games_partitions,
    deps=["twitch_streams"],
    group_name="collection",
    kinds={"twitch", "postgres"},
    pool="twitch_api",
    output_required=False,
)
def twitch_channels(
    context: dg.AssetExecutionContext,
    config: TwitchChannelsConfig,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
) -> Iterator[dg.MaterializeResult]:
    """Language, tags and latest past broadcasts of one game's top Twitch broadcasters.

    The broadcasters with the most viewers over the game's last day of stream snapshots;
    `/channels` for their settings and `/videos` for their latest archives, within the Twitch
    rate limit (see `intel_assets.defs.collection.twitch_channels`). Like the other
    collections, one overlapping another of the same game writes nothing and says so.
    """
    game_key = context.partition_key
    with warehouse.session_lock(collection_lock_name("twitch_channels", game_key)) as sole:
        if not sole:
            report_overlap(context, twitch_channels.key, game_key)
            return
        yield _collect(context, config, twitch, warehouse)


def _collect(
    context: dg.AssetExecutionContext,
    config: TwitchChannelsConfig,
    twitch: TwitchResource,
    warehouse: PostgresWarehouse,
) -> dg.MaterializeResult:
    started = time.perf_counter()
    game_key = context.partition_key
    this_collection = collection_id(context)
    now = datetime.now(UTC)
    broadcasters = top_broadcasters(warehouse, game_key, now, config.top_broadcasters)
    client = twitch.client(game_key=game_key, run_id=context.run.run_id)
    base = {"game_key": game_key, "collected_at": now, "collection_id": this_collection}
    channels = _channel_rows(client, broadcasters, base)
    videos = _video_rows(client, broadcasters, config.videos_per_broadcaster, base)
    client.close()
    written = warehouse.replace_many(channel_writes(game_key, this_collection, channels, videos))
    report = boundary_report(client, game_key)
    if report.summary:
        context.log.warning(report.summary)
    if not broadcasters:
        context.log.warning(f"{game_key}: no stream snapshots in the last 24 h; nothing to read")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written[0]),
            "broadcasters_asked": dg.MetadataValue.int(len(broadcasters)),
            "channels": dg.MetadataValue.int(written[0]),
            "channels_not_found": dg.MetadataValue.int(len(broadcasters) - len(channels)),
            "videos": dg.MetadataValue.int(written[1]),
            "points": dg.MetadataValue.int(client.points_spent()),
            "rejected_items": dg.MetadataValue.int(report.rejected_items),
            "duration_seconds": elapsed_since(started),
            "collected_at": dg.MetadataValue.text(now.isoformat()),
        }
    )


twitch_channels_job = dg.define_asset_job(
    "twitch_channels_job", selection=[twitch_channels], tags=max_runtime(15)
)


@dg.schedule(
    job=twitch_channels_job,
    cron_schedule="10 0 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 00:10 UTC, one run per game: channel details and latest past "
    "broadcasts of its top Twitch broadcasters.",
)
def twitch_channels_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """One run per tracked game, keyed by the scheduled day, so a tick repeats nothing."""
    day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
    games = context.instance.get_dynamic_partitions(GAMES)
    return [dg.RunRequest(run_key=f"{day}:{game}", partition_key=game) for game in sorted(games)]
