import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from intel_assets.contracts.tables import DAILY_COLUMNS
from intel_assets.defs.aggregation.daily import daily_rollup
from intel_assets.defs.aggregation.hourly import hourly_metrics
from intel_assets.defs.aggregation.performance import duration_performance
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.aggregation.test_hourly import (
    DAY,
    GAMES,
    expected_hourly,
    generated_snapshots,
    language_of,
)
from intel_assets_tests.defs.snapshot_rows import insert_analysis, insert_streams, insert_videos

D1 = datetime(2026, 3, 4, tzinfo=UTC)
D2 = D1 + timedelta(days=1)


def _run(assets: list, warehouse: PostgresWarehouse, key: str = "", **tags: str) -> None:
    result = dg.materialize(
        assets,
        partition_key=key or None,
        resources={"warehouse": warehouse},
        tags=tags or None,
    )
    assert result.success


def _hours(warehouse: PostgresWarehouse, first: str, last: str) -> None:
    _run(
        [hourly_metrics],
        warehouse,
        **{
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


def _daily(warehouse: PostgresWarehouse) -> list[dict[str, Any]]:
    frame = warehouse.fetch_frame("SELECT * FROM intel_daily_metrics ORDER BY date, category_key")
    records = frame[list(DAILY_COLUMNS)].astype(object).where(frame.notna(), None)
    return [{str(k): v for k, v in r.items()} for r in records.to_dict("records")]


def _video(video_id: str, at: datetime, views: int, likes: int | None, **extra: Any) -> dict:
    return dict(video_id=video_id, game_key="fortnite", collected_at=at, view_count=views,
                like_count=likes, comment_count=0, **extra)  # fmt: skip


def _seed_two_days(warehouse: PostgresWarehouse) -> None:
    v1 = dict(duration_seconds=30, is_short=True, default_audio_language="en")
    v2 = dict(duration_seconds=600, default_audio_language="es")
    v3 = dict(duration_seconds=1200, default_audio_language="en")
    insert_videos(
        warehouse,
        [
            _video("v1", D1 + timedelta(hours=5, minutes=10), 100, 10, **v1),
            _video("v2", D1 + timedelta(hours=5, minutes=10), 300, 30, **v2),
            _video("v1", D1 + timedelta(hours=9, minutes=10), 200, 20, **v1),
            _video("v3", D1 + timedelta(hours=9, minutes=10), 1000, None, **v3),
            _video("v1", D2 + timedelta(hours=10), 400, 40, **v1),
            _video("v2", D2 + timedelta(hours=10), 500, 100, **v2),
        ],
    )
    insert_streams(
        warehouse,
        [dict(stream_id="s", game_key="minecraft", collected_at=D2 + timedelta(hours=3),
              viewer_count=7)],
    )  # fmt: skip
    for at, viral in ((D1 + timedelta(hours=5, minutes=30), 1),
                      (D1 + timedelta(hours=9, minutes=30), 3),
                      (D2 + timedelta(hours=10, minutes=30), 4)):  # fmt: skip
        insert_analysis(warehouse, "viral", "fortnite", at, {"viral_video_count": viral})
    _hours(warehouse, "2026-03-04-00:00", "2026-03-05-23:00")


def test_two_days_match_the_values_worked_out_by_hand(warehouse: PostgresWarehouse):
    _seed_two_days(warehouse)

    _run([daily_rollup], warehouse, "2026-03-04")
    _run([daily_rollup], warehouse, "2026-03-05")

    day1, day2, minecraft = _daily(warehouse)
    # Day 1 hours: 05 avg (100+300)/2 = 200, total 400, viral 1; 09 avg (200+1000)/2 = 600,
    # total 1200, viral 3. Distinct videos at their latest snapshot: v1 200, v2 300, v3 1000.
    assert day1 == {
        "category_key": "fortnite",
        "date": date(2026, 3, 4),
        "total_videos_seen": 3,
        "peak_viral_count": 3,
        "avg_viral_count": 2.0,
        "views_trend": 0.0,  # no previous day
        "viral_trend": 0.0,
        "engagement_trend": 0.0,
        "best_hour_utc": 9,
        "worst_hour_utc": 5,
        "peak_views_hour_utc": 9,
        "shorts_performance_ratio": pytest.approx(200 / 650),  # v1 against (300 + 1000) / 2
        "optimal_duration_range": None,  # no bucket has the 5 videos format analysis needs
        "dominant_language": "en",  # v1, v3 en; v2 es
        # Normalised entropy of shares 2/3 and 1/3: 0.9183
        "language_diversity_score": pytest.approx(
            -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)) / math.log(2)
        ),
        "avg_views": 500.0,  # (200 + 300 + 1000) / 3
        "avg_engagement": pytest.approx(0.1),  # v1 20/200, v2 30/300; v3 hides likes
        "total_views": 1500,
        "hours_covered": 2,
    }
    # Day 2: v1 400 (eng .1), v2 500 (eng .2) in hour 10, viral 4.
    assert {k: day2[k] for k in ("avg_views", "avg_viral_count", "avg_engagement")} == {
        "avg_views": 450.0,
        "avg_viral_count": 4.0,
        "avg_engagement": pytest.approx(0.15),
    }
    assert day2["views_trend"] == pytest.approx(-10.0)  # (450 - 500) / 500
    assert day2["viral_trend"] == pytest.approx(100.0)  # (4 - 2) / 2
    assert day2["engagement_trend"] == pytest.approx(50.0)  # (.15 - .1) / .1
    assert day2["shorts_performance_ratio"] == pytest.approx(0.8)  # 400 / 500
    assert (day2["best_hour_utc"], day2["worst_hour_utc"]) == (10, 10)
    assert (day2["dominant_language"], day2["language_diversity_score"]) == ("en", 1.0)
    # minecraft only streamed: one hour covered, no videos.
    assert minecraft["category_key"] == "minecraft"
    assert (minecraft["total_videos_seen"], minecraft["hours_covered"]) == (0, 1)
    assert minecraft["best_hour_utc"] is None and minecraft["dominant_language"] is None
    assert minecraft["shorts_performance_ratio"] == 1.0


def test_day_two_trends_come_from_day_one_as_stored_and_reruns_are_identical(
    warehouse: PostgresWarehouse,
):
    _seed_two_days(warehouse)
    _run([daily_rollup], warehouse, "2026-03-04")
    _run([daily_rollup], warehouse, "2026-03-05")
    first = _daily(warehouse)

    with warehouse.connection() as conn:
        conn.execute("UPDATE intel_daily_metrics SET avg_views = 1000 WHERE date = '2026-03-04'")
    _run([daily_rollup], warehouse, "2026-03-05")
    assert _daily(warehouse)[1]["views_trend"] == pytest.approx(-55.0)  # (450 - 1000) / 1000

    _run([daily_rollup], warehouse, "2026-03-04")
    _run([daily_rollup], warehouse, "2026-03-05")
    _run([daily_rollup], warehouse, "2026-03-05")
    assert _daily(warehouse) == first


def expected_daily(
    video_rows: list[dict], hourly: pd.DataFrame, games: Sequence[str] = GAMES
) -> list[dict[str, Any]]:
    """Daily rows by a plain pandas route over the same snapshots and hourly expectation."""
    videos = pd.DataFrame(video_rows)
    videos["day"] = videos["collected_at"].dt.floor("D")
    hourly = hourly.assign(day=hourly["hour_start"].dt.floor("D"))
    out: list[dict[str, Any]] = []
    previous: dict[str, dict[str, Any]] = {}
    for day in sorted(videos["day"].unique()):
        for game in games:
            g = videos[(videos["day"] == day) & (videos["game_key"] == game)]
            latest = g.sort_values("collected_at").drop_duplicates("video_id", keep="last")
            likes = latest["like_count"].astype("float64")
            comments = latest["comment_count"].astype("float64").fillna(0.0)
            eng = ((likes + comments) / latest["view_count"].where(
                latest["view_count"] > 0)).clip(upper=1.0)  # fmt: skip
            h = hourly[(hourly["day"] == day) & (hourly["category_key"] == game)]
            hv = h[h["video_count"] > 0]  # best, worst and peak hours are hours with videos
            # A broadcast that is upcoming or still live has no final views: format analysis
            # leaves it out of the Shorts/long-form comparison.
            states = latest.get("live_state", pd.Series("none", index=latest.index))
            ended = latest[~states.isin(["upcoming", "live"])]
            shorts = ended[ended["is_short"]]["view_count"].mean()
            longs = ended[~ended["is_short"]]["view_count"].mean()
            descriptions = latest["description"] if "description" in latest else [""] * len(latest)
            langs = pd.Series(
                [language_of(a, b, t, d) for a, b, t, d in zip(
                    latest["default_audio_language"], latest["default_language"],
                    latest["title"], descriptions, strict=True)]
            ).dropna().value_counts()  # fmt: skip
            p = (langs / langs.sum()).to_numpy()
            row: dict[str, Any] = dict(
                category_key=game,
                total_videos_seen=len(latest),
                avg_views=latest["view_count"].mean(),
                total_views=int(latest["view_count"].sum()),
                avg_engagement=eng.mean(),
                hours_covered=len(h),
                best_hour_utc=int(hv.loc[hv["avg_views"].idxmax(), "hour_start"].hour),
                worst_hour_utc=int(hv.loc[hv["avg_views"].idxmin(), "hour_start"].hour),
                peak_views_hour_utc=int(hv.loc[hv["total_views"].idxmax(), "hour_start"].hour),
                shorts_performance_ratio=shorts / longs,
                dominant_language=sorted(langs[langs == langs.max()].index)[0],
                language_diversity_score=float(-(p * np.log(p)).sum() / np.log(len(p))),
                avg_viral_count=h["viral_count"].mean(),
                peak_viral_count=int(h["viral_count"].max()),
            )
            before = previous.get(game)
            for trend, column in (("views_trend", "avg_views"),
                                  ("engagement_trend", "avg_engagement"),
                                  ("viral_trend", "avg_viral_count")):  # fmt: skip
                row[trend] = (
                    (row[column] - before[column]) / before[column] * 100
                    if before and before[column]
                    else 0.0
                )
            previous[game] = row
            out.append(row)
    return out


def test_generated_days_equal_an_independent_pandas_computation(warehouse: PostgresWarehouse):
    videos, streams = generated_snapshots(hours=48, seed=11)
    insert_videos(warehouse, videos)
    insert_streams(warehouse, streams)
    rng = np.random.default_rng(5)
    viral_by_hour: dict[tuple[str, datetime], int] = {}
    for game in GAMES:
        for hour in range(48):
            # An analysis at :59 of each hour is the one valid for that hour.
            at = DAY + timedelta(hours=hour, minutes=59)
            viral_by_hour[(game, DAY + timedelta(hours=hour))] = count = int(rng.integers(0, 9))
            insert_analysis(warehouse, "viral", game, at, {"viral_video_count": count})
    _hours(warehouse, "2026-03-10-00:00", "2026-03-11-23:00")
    _run([daily_rollup], warehouse, "2026-03-10")
    _run([daily_rollup], warehouse, "2026-03-11")

    hourly = expected_hourly(videos, streams)
    # Hours with streams only have rows too; the generator gives every video hour streams
    # or not, so take the hours from the stored table and the viral counts from the seed.
    stored_hours = warehouse.fetch_frame(
        "SELECT category_key, hour_start, video_count FROM intel_hourly_metrics"
    )
    stored_hours["hour_start"] = pd.to_datetime(stored_hours["hour_start"], utc=True)
    hourly = stored_hours.merge(hourly, on=["category_key", "hour_start", "video_count"],
                                how="left")  # fmt: skip
    hourly["viral_count"] = [
        viral_by_hour[(g, h.to_pydatetime())]
        for g, h in zip(hourly["category_key"], hourly["hour_start"], strict=True)
    ]
    expected = expected_daily(videos, hourly)
    actual = _daily(warehouse)

    assert len(actual) == len(expected) == 6
    for got, want in zip(actual, expected, strict=True):
        for column, value in want.items():
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-9), (got["date"], column)
            else:
                assert got[column] == value, (got["date"], column)


def test_duration_performance_is_format_analysis_of_the_day(warehouse: PostgresWarehouse):
    # Six 1-3 minute videos averaging 150 views and one 8-15 minute video with 900 views:
    # game average (6 * 150 + 900) / 7 = 257.14; indexes 150/257.14 = 0.5833 and 3.5.
    rows = [
        _video(f"a{i}", D1 + timedelta(hours=1), 100 + 20 * i, 10, duration_seconds=90)
        for i in range(6)
    ] + [_video("b", D1 + timedelta(hours=2), 900, 90, duration_seconds=600)]
    insert_videos(warehouse, rows)
    _run([duration_performance], warehouse, "2026-03-04")
    _run([duration_performance], warehouse, "2026-03-04")

    stored = warehouse.fetch_dicts(
        "SELECT bucket_label, video_count, avg_views, total_views, performance_index "
        "FROM intel_duration_performance WHERE date = '2026-03-04' ORDER BY bucket_min_seconds"
    )
    assert stored == [
        {"bucket_label": "1_3m", "video_count": 6, "avg_views": 150.0, "total_views": 900,
         "performance_index": pytest.approx(150 / (1800 / 7))},
        {"bucket_label": "8_15m", "video_count": 1, "avg_views": 900.0, "total_views": 900,
         "performance_index": pytest.approx(900 / (1800 / 7))},
    ]  # fmt: skip
