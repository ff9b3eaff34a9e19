"""`channel_growth[day]`: how fast each YouTube channel behind a game's videos is growing.

One row per game, UTC day and channel in `channel_growth`, for every channel in the game's
`channel_snapshots` that day, as Social Blade and Playboard show them:

- `subscriber_count`, `view_count`, `video_count`: the counts of the channel's last fetch before
  the day ended, and `fetched_at`, when YouTube gave them. Channel details are cached for up to
  a day and shared by every game, so a snapshot's `collected_at` can be hours after its counts
  were fetched; each distinct fetch counts once, whichever collections carried it;
- `*_change_1d`, `_7d`, `_30d`: those counts minus the counts of the channel's last fetch on the
  UTC day 1, 7 or 30 days before `fetched_at`'s day (its time in `fetched_at_1d` etc.), NULL when
  that day had no fetch or either count is hidden;
- `subscribers_growth_7d` = subscribers_change_7d / the subscribers 7 days before (NULL when
  unknown or 0), and per game and day `rank_7d_absolute` / `rank_7d_relative`, 1 for the channel
  that grew most (ties by channel id; NULL without a 7-day change).

Projections of the subscribers are `channel_projections` (where 14 days of fetches exist); the
Twitch side is `twitch_broadcaster_growth`.
"""

import time
from datetime import timedelta

import dagster as dg
import pandas as pd

from intel_assets.contracts.tables import CHANNEL_GROWTH_COLUMNS
from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.aggregation.twitch_stats import day_start
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

LOOKBACK = timedelta(days=31)
"""How far before the day the fetches are read: the 30-day comparison's day, and the day
before it, since a fetch can be carried by collections up to a day later."""

_GROWTH = """
WITH fetches AS (
    SELECT DISTINCT ON (channel_id, fetch_time) channel_id, fetch_time, title,
        subscriber_count, view_count, video_count
    FROM (
        SELECT *, coalesce(fetched_at, collected_at) AS fetch_time FROM channel_snapshots
        WHERE collected_at >= %(from)s AND collected_at < %(end)s
    ) AS in_window
    ORDER BY channel_id, fetch_time, collected_at DESC
),
seen AS (
    SELECT DISTINCT game_key, channel_id FROM channel_snapshots
    WHERE collected_at >= %(start)s AND collected_at < %(end)s
),
latest AS (
    SELECT DISTINCT ON (channel_id) *, (fetch_time AT TIME ZONE 'UTC')::date AS fetch_day
    FROM fetches WHERE channel_id IN (SELECT channel_id FROM seen)
    ORDER BY channel_id, fetch_time DESC
),
day_last AS (
    SELECT DISTINCT ON (channel_id, fetch_day) *
    FROM (SELECT *, (fetch_time AT TIME ZONE 'UTC')::date AS fetch_day FROM fetches) AS f
    ORDER BY channel_id, fetch_day, fetch_time DESC
),
growth AS (
    SELECT s.game_key, l.channel_id, l.title, l.fetch_time AS fetched_at,
        l.subscriber_count, l.view_count, l.video_count,
        l.subscriber_count - d1.subscriber_count AS subscribers_change_1d,
        l.subscriber_count - d7.subscriber_count AS subscribers_change_7d,
        l.subscriber_count - d30.subscriber_count AS subscribers_change_30d,
        l.view_count - d1.view_count AS views_change_1d,
        l.view_count - d7.view_count AS views_change_7d,
        l.view_count - d30.view_count AS views_change_30d,
        l.video_count - d1.video_count AS videos_change_1d,
        l.video_count - d7.video_count AS videos_change_7d,
        l.video_count - d30.video_count AS videos_change_30d,
        d1.fetch_time AS fetched_at_1d, d7.fetch_time AS fetched_at_7d,
        d30.fetch_time AS fetched_at_30d,
        (l.subscriber_count - d7.subscriber_count)::float8
            / nullif(d7.subscriber_count, 0) AS subscribers_growth_7d
    FROM seen AS s JOIN latest AS l USING (channel_id)
    LEFT JOIN day_last AS d1 ON d1.channel_id = l.channel_id AND d1.fetch_day = l.fetch_day - 1
    LEFT JOIN day_last AS d7 ON d7.channel_id = l.channel_id AND d7.fetch_day = l.fetch_day - 7
    LEFT JOIN day_last AS d30
        ON d30.channel_id = l.channel_id AND d30.fetch_day = l.fetch_day - 30
)
SELECT *,
    CASE WHEN subscribers_change_7d IS NOT NULL THEN row_number() OVER (
        PARTITION BY game_key, subscribers_change_7d IS NULL
        ORDER BY subscribers_change_7d DESC, channel_id) END AS rank_7d_absolute,
    CASE WHEN subscribers_growth_7d IS NOT NULL THEN row_number() OVER (
        PARTITION BY game_key, subscribers_growth_7d IS NULL
        ORDER BY subscribers_growth_7d DESC, channel_id) END AS rank_7d_relative
FROM growth
ORDER BY game_key, channel_id
"""


def compute_channel_growth(warehouse: PostgresWarehouse, day: pd.Timestamp) -> pd.DataFrame:
    """The `channel_growth` rows of one UTC day (see the module docstring), in Postgres.

    Args:
        warehouse: The warehouse to read.
        day: The UTC day.
    """
    start = day_start(day.date())
    params = {"from": start - LOOKBACK, "start": start, "end": start + timedelta(days=1)}
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.execute(_GROWTH, params)
        columns = [d.name for d in cur.description or []]
        frame = pd.DataFrame.from_records(cur.fetchall(), columns=columns)
    return frame.assign(day=day.date()).reindex(columns=list(CHANNEL_GROWTH_COLUMNS))


@dg.asset(
    partitions_def=daily_partitions,
    deps=[dg.AssetDep("youtube_videos", partition_mapping=dg.AllPartitionMapping())],
    kinds={"postgres"},
    group_name="aggregation",
    freshness_policy=DAILY_FRESHNESS,
)
def channel_growth(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Per game, UTC day and YouTube channel: subscribers, views and videos and their growth.

    From `channel_snapshots` (the channels behind each game's videos): the counts of each
    channel's last fetch of the day, their change over 1, 7 and 30 days between fetch times,
    and the game's channels ranked by 7-day subscriber growth, absolute and relative. Replaces
    the day's rows in one transaction.
    """
    day = pd.Timestamp(context.partition_time_window.start.date())
    started = time.monotonic()
    rows = compute_channel_growth(warehouse, day)
    written = warehouse.replace_rows(
        "channel_growth",
        CHANNEL_GROWTH_COLUMNS,
        frame_rows(rows, CHANNEL_GROWTH_COLUMNS),
        scope=RowScope(equals={"day": day.date()}),
    )
    hidden = int(rows["subscriber_count"].isna().sum())
    without_week = int(rows["subscribers_change_7d"].isna().sum())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "games": dg.MetadataValue.int(int(rows["game_key"].nunique())),
            "channels": dg.MetadataValue.int(int(rows["channel_id"].nunique())),
            "channels_hiding_subscribers": dg.MetadataValue.int(hidden),
            "rows_without_7_day_change": dg.MetadataValue.int(without_week),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "preview": markdown_preview(
                rows.sort_values(["game_key", "rank_7d_absolute"], na_position="last")
            ),
        }
    )
