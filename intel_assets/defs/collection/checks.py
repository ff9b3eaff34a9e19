"""The checks of the collection assets, read from the stored snapshots.

Each collection asset has one multi-check step (see `intel_assets.defs.check_helpers`) that
reads the game's latest snapshot (the collection `intel_collection_state` points at, written in
the same transaction as the rows) from Postgres. In the collection's own run it checks that
game; run alone it checks every game's latest snapshot.

`youtube_videos`:
- `youtube_videos_has_unique_video_ids` (blocking): no video appears twice in one collection.
- `youtube_videos_has_no_negative_counts` (blocking): views, likes, comments, concurrent viewers
  and durations of the videos, and the subscriber, video and view counts of their channels, are
  missing or at least 0.
- `youtube_videos_has_required_fields` (blocking): every row names its video, channel and title
  (not blank) and has its publish time, Shorts flag and live state.
- `youtube_videos_match_the_game` (warning): the share of the snapshot's videos whose title,
  tags or description match the game's catalog rules (reported; warns under 90%: tracked
  videos were matched when found, so a lower share means their titles changed or the rules did).
- `youtube_videos_quota_under_target_share` (warning): every YouTube bucket has spent at most
  the collection policy's target share of its daily limit this Pacific day. Not blocking: an
  overspent day is a pacing problem, not bad data. It sits on this asset because collections
  are what spend the quota, so each one shows the day's spend so far.

`twitch_streams`:
- `twitch_streams_has_unique_stream_ids` (blocking), `twitch_streams_has_no_negative_viewers`
  (blocking), `twitch_streams_has_required_fields` (blocking: stream, user and Twitch game ids
  not blank, a start time).

Both also have `<asset>_hot_tier_matches_postgres` and `<asset>_repairs_are_usual` (warnings,
`health_checks.py`): the hot tier is rewritten from Postgres where a Redis failure left it
behind, and a jump in the fields repaired or items rejected at the model boundary warns.

Blocking checks stop the analysis that follows a collection in the same run.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd
from psycopg import sql

from intel_assets.catalog import CatalogError, effective_catalog
from intel_assets.defs.check_helpers import check_result, is_selected, run_partition_key
from intel_assets.defs.collection.assets import CollectionPolicy, twitch_streams, youtube_videos
from intel_assets.defs.collection.health_checks import (
    hot_tier_result,
    hot_tier_spec,
    repairs_result,
    repairs_spec,
)
from intel_assets.defs.collection.state import load_states
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeResource

MIN_MATCHED_SHARE = 0.9
"""Share of a snapshot's videos that must still match the game's rules (below: a warning)."""

VIDEO_COUNT_COLUMNS: tuple[str, ...] = (
    "view_count", "like_count", "comment_count", "concurrent_viewers", "duration_seconds",
)  # fmt: skip
CHANNEL_COUNT_COLUMNS: tuple[str, ...] = ("subscriber_count", "video_count", "view_count")

UNIQUE_VIDEOS = dg.AssetCheckSpec(
    "youtube_videos_has_unique_video_ids",
    asset=youtube_videos,
    blocking=True,
    description="No video appears twice in one collection of a game.",
)
NO_NEGATIVE_COUNTS = dg.AssetCheckSpec(
    "youtube_videos_has_no_negative_counts",
    asset=youtube_videos,
    blocking=True,
    description="View, like, comment and viewer counts and durations of the videos, and the "
    "counts of their channels, are missing or at least 0.",
)
REQUIRED_VIDEO_FIELDS = dg.AssetCheckSpec(
    "youtube_videos_has_required_fields",
    asset=youtube_videos,
    blocking=True,
    description="Every row has a video id, channel id and title (not blank), a publish time, "
    "a Shorts flag and a live state.",
)
MATCH_THE_GAME = dg.AssetCheckSpec(
    "youtube_videos_match_the_game",
    asset=youtube_videos,
    description=f"At least {MIN_MATCHED_SHARE:.0%} of the snapshot's videos match the game's "
    "catalog rules (the share is reported).",
)
QUOTA_UNDER_TARGET = dg.AssetCheckSpec(
    "youtube_videos_quota_under_target_share",
    asset=youtube_videos,
    description="Every YouTube quota bucket has spent at most the target share of its daily "
    "limit this Pacific day.",
)
YOUTUBE_HOT_TIER = hot_tier_spec(youtube_videos)
YOUTUBE_REPAIRS = repairs_spec(youtube_videos)
YOUTUBE_CHECKS = (
    UNIQUE_VIDEOS,
    NO_NEGATIVE_COUNTS,
    REQUIRED_VIDEO_FIELDS,
    MATCH_THE_GAME,
    QUOTA_UNDER_TARGET,
    YOUTUBE_HOT_TIER,
    YOUTUBE_REPAIRS,
)

UNIQUE_STREAMS = dg.AssetCheckSpec(
    "twitch_streams_has_unique_stream_ids",
    asset=twitch_streams,
    blocking=True,
    description="No stream appears twice in one collection of a game.",
)
NO_NEGATIVE_VIEWERS = dg.AssetCheckSpec(
    "twitch_streams_has_no_negative_viewers",
    asset=twitch_streams,
    blocking=True,
    description="Every stream's viewer count is at least 0.",
)
REQUIRED_STREAM_FIELDS = dg.AssetCheckSpec(
    "twitch_streams_has_required_fields",
    asset=twitch_streams,
    blocking=True,
    description="Every row has a stream id, user id and Twitch game id (not blank) and a start "
    "time.",
)
TWITCH_HOT_TIER = hot_tier_spec(twitch_streams)
TWITCH_REPAIRS = repairs_spec(twitch_streams)
TWITCH_CHECKS = (
    UNIQUE_STREAMS,
    NO_NEGATIVE_VIEWERS,
    REQUIRED_STREAM_FIELDS,
    TWITCH_HOT_TIER,
    TWITCH_REPAIRS,
)


def latest_snapshots(
    warehouse: PostgresWarehouse,
    table: str,
    columns: Sequence[str],
    source: str,
    game_key: str | None,
) -> pd.DataFrame:
    """The rows of each game's latest collection from `source` in `table` (one game, or all).

    Args:
        warehouse: The warehouse.
        table: `video_snapshots`, `channel_snapshots` or `stream_snapshots`.
        columns: Columns to read; `game_key` and `collection_id` are always read.
        source: "youtube" or "twitch": whose collection state names the latest collection.
        game_key: Only this game (None: every game with a collection).
    """
    wanted = list(dict.fromkeys(["game_key", "collection_id", *columns]))
    query = sql.SQL(
        "SELECT {columns} FROM {table} AS t JOIN intel_collection_state AS s "
        # From the collection's time on, the primary key holds only the latest collection's
        # rows (and any a faulty write put later), with no index by collection.
        "ON s.game_key = t.game_key AND t.collected_at >= s.last_collected_at "
        "AND s.last_collection_id = t.collection_id "
        "WHERE s.source = %s AND (%s::text IS NULL OR s.game_key = %s)"
    ).format(
        columns=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in wanted),
        table=sql.Identifier(table),
    )
    frame = warehouse.fetch_frame(query, (source, game_key, game_key))
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in wanted})
    return frame


def _collections(warehouse: PostgresWarehouse, source: str, game_key: str | None) -> list[str]:
    states = load_states(warehouse, source)
    return sorted(
        key
        for key, state in states.items()
        if state.last_collection_id is not None and (game_key is None or key == game_key)
    )


def duplicate_problems(rows: pd.DataFrame, id_column: str, noun: str) -> list[str]:
    """One line per game whose latest collection repeats an id."""
    problems = []
    for game, group in rows.groupby("game_key", sort=True):
        repeated = int(group[id_column].duplicated().sum())
        if repeated:
            problems.append(f"{game}: {repeated} rows repeat a {noun} already in the collection")
    return problems


def negative_problems(rows: pd.DataFrame, columns: Sequence[str], table: str) -> list[str]:
    """One line per game and column with values below 0 (missing values are allowed)."""
    problems = []
    for column in columns:
        values = pd.to_numeric(rows[column], errors="coerce")
        negative = rows.loc[values < 0, "game_key"].value_counts().sort_index()
        problems.extend(
            f"{game}: {count} negative {column} in {table}" for game, count in negative.items()
        )
    return problems


def missing_field_problems(
    rows: pd.DataFrame, text_columns: Sequence[str], other_columns: Sequence[str]
) -> list[str]:
    """One line per game and column with missing values (or blank text)."""
    problems = []
    for column in (*text_columns, *other_columns):
        values = rows[column]
        missing = values.isna()
        if column in text_columns:
            missing |= values.astype(str).str.strip().eq("")
        counts = rows.loc[missing, "game_key"].value_counts().sort_index()
        problems.extend(f"{game}: {count} rows without {column}" for game, count in counts.items())
    return problems


def matched_shares(warehouse: PostgresWarehouse, videos: pd.DataFrame) -> dict[str, float]:
    """Per game, the share of its snapshot's videos that match its catalog rules now."""
    catalog = effective_catalog(warehouse)
    shares: dict[str, float] = {}
    for game_key, group in videos.groupby("game_key", sort=True):
        try:
            game = catalog.get(str(game_key))
        except CatalogError:
            shares[str(game_key)] = 0.0
            continue
        matched = sum(
            game.matches(str(title), list(tags) if tags is not None else [], str(description))
            for title, tags, description in zip(
                group["title"].fillna(""), group["tags"], group["description"].fillna(""),
                strict=True,
            )
        )  # fmt: skip
        shares[str(game_key)] = matched / len(group) if len(group) else 1.0
    return shares


def _match_the_game(
    warehouse: PostgresWarehouse, videos: pd.DataFrame, scope: Mapping[str, Any]
) -> dg.AssetCheckResult:
    """MATCH_THE_GAME: each snapshot's share of videos that its game's rules match."""
    shares = matched_shares(warehouse, videos)
    problems = [
        f"{key}: only {share:.0%} of the snapshot's videos match the game's rules"
        for key, share in shares.items()
        if share < MIN_MATCHED_SHARE
    ]
    metadata: dict[str, dg.RawMetadataValue] = {
        **scope,
        **{f"matched_share_{k}": dg.MetadataValue.float(round(v, 4)) for k, v in shares.items()},
    }
    if len(shares) == 1:
        metadata["matched_share"] = dg.MetadataValue.float(round(next(iter(shares.values())), 4))
    return check_result(MATCH_THE_GAME, problems, metadata, severity=dg.AssetCheckSeverity.WARN)


def _quota_under_target(youtube: YouTubeResource, target: float) -> dg.AssetCheckResult:
    """QUOTA_UNDER_TARGET: every YouTube bucket's spend today against the target share."""
    buckets = youtube.quota_status()
    problems = [
        f"bucket {name} has spent {b.share_used:.1%} of its limit ({b.used} of {b.limit} "
        f"units), over the target {target:.0%}"
        for name, b in sorted(buckets.items())
        if b.share_used > target
    ]
    metadata: dict[str, dg.RawMetadataValue] = {"target_share": dg.MetadataValue.float(target)}
    for name, b in sorted(buckets.items()):
        metadata[f"share_used_{name}"] = dg.MetadataValue.float(round(b.share_used, 6))
        metadata[f"units_used_{name}"] = dg.MetadataValue.int(b.used)
    return check_result(QUOTA_UNDER_TARGET, problems, metadata, severity=dg.AssetCheckSeverity.WARN)


@dg.multi_asset_check(specs=list(YOUTUBE_CHECKS), can_subset=True, name="youtube_videos_checks")
def youtube_videos_checks(
    context: dg.AssetCheckExecutionContext,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    youtube: YouTubeResource,
    collection_policy: CollectionPolicy,
) -> Iterator[dg.AssetCheckResult]:
    """Checks of the game's latest YouTube snapshot (every game's when run alone)."""
    game = run_partition_key(context)
    games = _collections(warehouse, "youtube", game)
    videos = latest_snapshots(
        warehouse,
        "video_snapshots",
        [
            "video_id", "channel_id", "title", "description", "tags", "published_at", "is_short",
            "live_state", *VIDEO_COUNT_COLUMNS,
        ],
        "youtube",
        game,
    )  # fmt: skip
    scope = {
        "snapshots_checked": dg.MetadataValue.int(len(games)),
        "rows_checked": dg.MetadataValue.int(len(videos)),
    }
    if is_selected(context, UNIQUE_VIDEOS):
        problems = duplicate_problems(videos, "video_id", "video")
        yield check_result(UNIQUE_VIDEOS, problems, scope)
    if is_selected(context, NO_NEGATIVE_COUNTS):
        channels = latest_snapshots(
            warehouse, "channel_snapshots", CHANNEL_COUNT_COLUMNS, "youtube", game
        )
        problems = negative_problems(videos, VIDEO_COUNT_COLUMNS, "video_snapshots")
        problems += negative_problems(channels, CHANNEL_COUNT_COLUMNS, "channel_snapshots")
        yield check_result(
            NO_NEGATIVE_COUNTS,
            problems,
            {**scope, "channel_rows_checked": dg.MetadataValue.int(len(channels))},
        )
    if is_selected(context, REQUIRED_VIDEO_FIELDS):
        problems = missing_field_problems(
            videos, ("video_id", "channel_id", "title"), ("published_at", "is_short", "live_state")
        )
        yield check_result(REQUIRED_VIDEO_FIELDS, problems, scope)
    if is_selected(context, MATCH_THE_GAME):
        yield _match_the_game(warehouse, videos, scope)
    if is_selected(context, QUOTA_UNDER_TARGET):
        yield _quota_under_target(youtube, collection_policy.target_share)
    if is_selected(context, YOUTUBE_HOT_TIER):
        yield hot_tier_result(YOUTUBE_HOT_TIER, warehouse, hot_tier, "youtube", game)
    if is_selected(context, YOUTUBE_REPAIRS):
        yield repairs_result(YOUTUBE_REPAIRS, context.instance, games)


@dg.multi_asset_check(specs=list(TWITCH_CHECKS), can_subset=True, name="twitch_streams_checks")
def twitch_streams_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse, hot_tier: RedisHotTier
) -> Iterator[dg.AssetCheckResult]:
    """Checks of the game's latest Twitch snapshot (every game's when run alone)."""
    game = run_partition_key(context)
    games = _collections(warehouse, "twitch", game)
    streams = latest_snapshots(
        warehouse,
        "stream_snapshots",
        ["stream_id", "user_id", "twitch_game_id", "started_at", "viewer_count"],
        "twitch",
        game,
    )
    scope = {
        "snapshots_checked": dg.MetadataValue.int(len(games)),
        "rows_checked": dg.MetadataValue.int(len(streams)),
    }
    if is_selected(context, UNIQUE_STREAMS):
        yield check_result(
            UNIQUE_STREAMS, duplicate_problems(streams, "stream_id", "stream"), scope
        )
    if is_selected(context, NO_NEGATIVE_VIEWERS):
        problems = negative_problems(streams, ("viewer_count",), "stream_snapshots")
        yield check_result(NO_NEGATIVE_VIEWERS, problems, scope)
    if is_selected(context, REQUIRED_STREAM_FIELDS):
        problems = missing_field_problems(
            streams, ("stream_id", "user_id", "twitch_game_id"), ("started_at",)
        )
        yield check_result(REQUIRED_STREAM_FIELDS, problems, scope)
    if is_selected(context, TWITCH_HOT_TIER):
        yield hot_tier_result(TWITCH_HOT_TIER, warehouse, hot_tier, "twitch", game)
    if is_selected(context, TWITCH_REPAIRS):
        yield repairs_result(TWITCH_REPAIRS, context.instance, games)


COLLECTION_CHECKS: dict[dg.AssetKey, dg.AssetChecksDefinition] = {
    youtube_videos.key: youtube_videos_checks,
    twitch_streams.key: twitch_streams_checks,
}
"""Each collection asset's checks, for runs that select assets by hand (seed-history)."""
