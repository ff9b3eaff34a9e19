"""`channel_projections[day]`: where each YouTube channel's subscribers are heading, and how surely.

One row per game, UTC day and channel seen behind the game's videos that day (the channels of
`channel_growth`), in `channel_projections`:

- the history: the channel's last subscriber count of each UTC day of the `WINDOW_DAYS` days up
  to the day (fetch times, as in `channel_growth`); `history_days` counts the days with one;
- where at least `MIN_HISTORY_DAYS` days have one, an ordinary least-squares line through those
  counts against their fetch times (statsmodels): `subscribers_per_day` (the slope) and its
  standard error, `r_squared`, and `projected_subscribers_30d`, the line `HORIZON_DAYS` days
  after the last fetch, with its 95% prediction interval (`_low`, `_high`): where one new count
  would fall, not only the line;
- below that, the projection columns are NULL: two weeks is the least history that says more
  than its noise and its rounding (YouTube shows subscribers to three significant figures).

No projection is made for Twitch broadcasters: their daily hours follow their schedule, not a
trend.
"""

import time
from datetime import date, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import statsmodels.api as sm

from intel_assets.contracts.tables import PROJECTION_COLUMNS
from intel_assets.defs.aggregation.common import markdown_preview
from intel_assets.defs.aggregation.twitch_stats import day_start
from intel_assets.freshness import DAILY_FRESHNESS
from intel_assets.partitions import daily_partitions
from intel_assets.resources.warehouse import PostgresWarehouse, RowScope, frame_rows

WINDOW_DAYS = 30
"""UTC days of history a projection looks at, the day itself included."""

MIN_HISTORY_DAYS = 14
"""Days with a subscriber count a projection needs."""

HORIZON_DAYS = 30.0
"""How far past the last fetch the line is extended."""

CONFIDENCE = 0.95
"""The prediction interval's coverage."""

# Each channel seen that day, and its last fetch with a subscriber count on each UTC day of the
# window (a fetch carried by later collections counts once; rows from before fetch times were
# kept count as fetched when collected). Snapshots are read from a day before the window, since
# the channel cache carries a fetch into the next day's collections.
_HISTORY = """
WITH seen AS (
    SELECT DISTINCT game_key, channel_id FROM channel_snapshots
    WHERE collected_at >= %(start)s AND collected_at < %(end)s
),
fetches AS (
    SELECT channel_id, coalesce(fetched_at, collected_at) AS fetch_time, subscriber_count,
        collected_at
    FROM channel_snapshots
    WHERE collected_at >= %(read_from)s AND collected_at < %(end)s
        AND channel_id IN (SELECT channel_id FROM seen)
),
day_last AS (
    SELECT DISTINCT ON (channel_id, fetch_day) channel_id, fetch_day, fetch_time, subscriber_count
    FROM (SELECT *, (fetch_time AT TIME ZONE 'UTC')::date AS fetch_day FROM fetches) AS f
    WHERE subscriber_count IS NOT NULL AND fetch_day >= %(first_day)s AND fetch_day <= %(day)s
    ORDER BY channel_id, fetch_day, fetch_time DESC, collected_at DESC
)
SELECT s.game_key, s.channel_id, d.fetch_time, d.subscriber_count
FROM seen AS s LEFT JOIN day_last AS d USING (channel_id)
ORDER BY s.game_key, s.channel_id, d.fetch_time
"""


def read_history(warehouse: PostgresWarehouse, day: date) -> pd.DataFrame:
    """Per game and channel seen on `day`: its daily last fetches with a count (see above).

    A channel without any has one row with `fetch_time` and `subscriber_count` missing.
    """
    start = day_start(day)
    params: dict[str, Any] = {
        "start": start,
        "end": start + timedelta(days=1),
        "read_from": start - timedelta(days=WINDOW_DAYS),
        "first_day": day - timedelta(days=WINDOW_DAYS - 1),
        "day": day,
    }
    with warehouse.connection() as conn, conn.cursor() as cur:
        cur.execute(_HISTORY, params)
        columns = [d.name for d in cur.description or []]
        return pd.DataFrame.from_records(cur.fetchall(), columns=columns)


def fit_projection(times: pd.Series, counts: pd.Series) -> dict[str, float | None]:
    """The least-squares line of `counts` against `times` and its projection (see above).

    Args:
        times: Fetch times (UTC timestamps), at least 3.
        counts: The subscriber count at each.
    """
    last = times.max()
    days = ((times - last) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    fit = sm.OLS(counts.to_numpy(dtype=float), sm.add_constant(days, has_constant="add")).fit()
    frame = fit.get_prediction(np.array([[1.0, HORIZON_DAYS]])).summary_frame(alpha=1 - CONFIDENCE)
    # Every count the same: no variance for a line to explain.
    r_squared = None if fit.centered_tss == 0 else float(fit.rsquared)
    return {
        "subscribers_per_day": float(fit.params[1]),
        "subscribers_per_day_stderr": float(fit.bse[1]),
        "r_squared": r_squared,
        "projected_subscribers_30d": float(frame["mean"].iloc[0]),
        "projected_subscribers_30d_low": float(frame["obs_ci_lower"].iloc[0]),
        "projected_subscribers_30d_high": float(frame["obs_ci_upper"].iloc[0]),
    }


def _channel_row(key: tuple[str, str], history: pd.DataFrame) -> dict[str, Any]:
    known = history.dropna(subset=["fetch_time"])
    row: dict[str, Any] = {"game_key": key[0], "channel_id": key[1], "history_days": len(known)}
    if len(known):
        times = pd.to_datetime(known["fetch_time"], utc=True)
        row.update(
            first_fetched_at=times.min(),
            last_fetched_at=times.max(),
            subscriber_count=int(known["subscriber_count"].iloc[-1]),
        )
    if len(known) >= MIN_HISTORY_DAYS:
        row.update(fit_projection(pd.to_datetime(known["fetch_time"], utc=True),
                                  known["subscriber_count"]))  # fmt: skip
    return row


def compute_projections(warehouse: PostgresWarehouse, day: date) -> pd.DataFrame:
    """The `channel_projections` rows of one UTC day."""
    history = read_history(warehouse, day)
    rows = [
        _channel_row((str(game), str(channel)), group)
        for (game, channel), group in history.groupby(["game_key", "channel_id"], sort=True)
    ]
    frame = pd.DataFrame(rows).reindex(columns=list(PROJECTION_COLUMNS))
    frame["day"] = day
    return frame


@dg.asset(
    partitions_def=daily_partitions,
    deps=[dg.AssetDep("youtube_videos", partition_mapping=dg.AllPartitionMapping())],
    kinds={"postgres"},
    group_name="aggregation",
    freshness_policy=DAILY_FRESHNESS,
)
def channel_projections(
    context: dg.AssetExecutionContext, warehouse: PostgresWarehouse
) -> dg.MaterializeResult:
    """Per game, UTC day and YouTube channel: its subscribers 30 days ahead, with a 95% interval.

    A least-squares line through the channel's daily subscriber counts of the last 30 days,
    where at least 14 days have one (see `intel_assets.defs.aggregation.channel_projections`);
    NULL where the history is shorter. Replaces the day's rows in one transaction.
    """
    day = context.partition_time_window.start.date()
    started = time.monotonic()
    rows = compute_projections(warehouse, day)
    written = warehouse.replace_rows(
        "channel_projections",
        PROJECTION_COLUMNS,
        frame_rows(rows, PROJECTION_COLUMNS),
        scope=RowScope(equals={"day": day}),
    )
    projected = rows[rows["projected_subscribers_30d"].notna()]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(written),
            "channels_projected": dg.MetadataValue.int(len(projected)),
            "channels_with_short_history": dg.MetadataValue.int(len(rows) - len(projected)),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            "preview": markdown_preview(
                projected.sort_values("subscribers_per_day", ascending=False)
            ),
        }
    )
