import json
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from intel_assets.analyzers.regional import detect_language
from intel_assets.contracts.tables import HOURLY_COLUMNS
from intel_assets.defs.aggregation.hourly import hourly_metrics, month_chunks
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets_tests.defs.snapshot_rows import insert_analysis, insert_streams, insert_videos

H5 = datetime(2026, 3, 4, 5, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return H5 + timedelta(minutes=minutes)


def _materialize(
    warehouse: PostgresWarehouse, partition_key: str, **tags: str
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [hourly_metrics],
        partition_key=partition_key or None,
        resources={"warehouse": warehouse},
        tags=tags or None,
    )
    assert result.success
    return result


def _read_hourly(warehouse: PostgresWarehouse) -> pd.DataFrame:
    frame = warehouse.fetch_frame(
        "SELECT * FROM intel_hourly_metrics ORDER BY hour_start, category_key"
    )
    return frame[list(HOURLY_COLUMNS)]


def _seed_hand_worked_hour(warehouse: PostgresWarehouse) -> None:
    insert_videos(
        warehouse,
        [
            # v1, a Short seen twice in the hour: its 05:50 snapshot counts.
            dict(video_id="v1", game_key="fortnite", collected_at=_at(10), view_count=100,
                 like_count=10, comment_count=0, duration_seconds=30, is_short=True,
                 default_audio_language="en-US"),
            dict(video_id="v1", game_key="fortnite", collected_at=_at(50), view_count=200,
                 like_count=20, comment_count=10, duration_seconds=30, is_short=True,
                 default_audio_language="en-US"),
            # v2 hides its likes: its views count, its engagement is undefined.
            dict(video_id="v2", game_key="fortnite", collected_at=_at(20), view_count=1000,
                 like_count=None, comment_count=5, duration_seconds=600,
                 default_audio_language=None, default_language="es"),
            dict(video_id="v3", game_key="fortnite", collected_at=_at(30), view_count=300,
                 like_count=30, comment_count=0, duration_seconds=1200,
                 default_audio_language="en"),
            # Outside the hour on both sides.
            dict(video_id="v1", game_key="fortnite", collected_at=_at(-1), view_count=90,
                 like_count=9, duration_seconds=30, is_short=True),
            dict(video_id="v1", game_key="fortnite", collected_at=_at(65), view_count=500,
                 like_count=50, comment_count=0, duration_seconds=30, is_short=True,
                 default_audio_language="en"),
        ],
    )  # fmt: skip
    insert_streams(
        warehouse,
        [
            dict(stream_id="s1", game_key="fortnite", collected_at=_at(15), viewer_count=100),
            dict(stream_id="s1", game_key="fortnite", collected_at=_at(45), viewer_count=300),
            dict(stream_id="s2", game_key="fortnite", collected_at=_at(45), viewer_count=50),
            dict(stream_id="s9", game_key="minecraft", collected_at=_at(5), viewer_count=40),
        ],
    )
    viral_0540 = {"viral_video_count": 2, "rising_video_count": 3, "avg_velocity": 12.5,
                  "max_velocity": 40.0}  # fmt: skip
    insert_analysis(warehouse, "viral", "fortnite", _at(-60), {"viral_video_count": 1})
    insert_analysis(warehouse, "viral", "fortnite", _at(40), viral_0540)
    # As of 06:00 it saw a snapshot of the next hour: valid for 06:00, not for 05:00.
    insert_analysis(warehouse, "viral", "fortnite", _at(60), {"viral_video_count": 7})
    insert_analysis(warehouse, "format", "fortnite", _at(55), {"optimal_duration_range": "8_15m"})
    # Seven hours old at 06:00, beyond the six-hour window: minecraft's viral figures are 0.
    insert_analysis(warehouse, "viral", "minecraft", _at(-360), {"viral_video_count": 5})


def test_an_hour_matches_the_values_worked_out_by_hand(warehouse: PostgresWarehouse):
    _seed_hand_worked_hour(warehouse)

    result = _materialize(warehouse, "2026-03-04-05:00")

    rows = _read_hourly(warehouse).to_dict("records")
    assert [r["category_key"] for r in rows] == ["fortnite", "minecraft"]
    fortnite, minecraft = rows
    expected_fortnite: dict[str, Any] = {
        "hour_start": H5,
        "video_count": 3,  # v1, v2, v3
        "avg_views": 500.0,  # (200 + 1000 + 300) / 3, v1 at its 05:50 snapshot
        "total_views": 1500,
        "avg_engagement": pytest.approx(0.125),  # v1 (20+10)/200 = .15, v3 30/300 = .1; v2 hidden
        "viral_count": 2,  # the 05:40 analysis, not the 06:00 one
        "rising_count": 3,
        "avg_velocity": 12.5,
        "max_velocity": 40.0,
        "shorts_count": 1,
        "shorts_avg_views": 200.0,
        "longform_count": 2,
        "longform_avg_views": 650.0,  # (1000 + 300) / 2
        "avg_duration_seconds": 610.0,  # (30 + 600 + 1200) / 3
        "optimal_duration_bucket": "8_15m",
        "language_distribution": {"en": 2, "es": 1},  # en-US -> en; v2 falls back to es
        "dominant_language": "en",
        "snapshot_count": 4,  # two of v1, one each of v2 and v3, inside the hour
        "last_collected_at": _at(50),
        "twitch_stream_count": 2,
        "twitch_total_viewers": 350,  # s1 at its 05:45 snapshot (300) + s2 (50)
        "twitch_avg_viewers": 175.0,
    }
    assert {k: fortnite[k] for k in expected_fortnite} == expected_fortnite
    assert minecraft["video_count"] == 0
    assert minecraft["viral_count"] == 0
    assert minecraft["language_distribution"] == {}
    assert pd.isna(minecraft["dominant_language"])
    assert pd.isna(minecraft["optimal_duration_bucket"])
    assert (minecraft["twitch_stream_count"], minecraft["twitch_total_viewers"]) == (1, 40)
    assert minecraft["last_collected_at"] == _at(5)
    metadata = result.asset_materializations_for_node("hourly_metrics")[0].metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["game_hours_without_viral_analysis"].value == 1


def test_rerunning_an_hour_gives_identical_rows_and_drops_rows_without_data(
    warehouse: PostgresWarehouse,
):
    _seed_hand_worked_hour(warehouse)
    _materialize(warehouse, "2026-03-04-05:00")
    first = _read_hourly(warehouse)
    with warehouse.connection() as conn:
        # A stale row of a game that has no snapshots in the hour, and a damaged value.
        conn.execute(
            "INSERT INTO intel_hourly_metrics (category_key, hour_start, video_count) "
            "VALUES ('valorant', %s, 9)",
            (H5,),
        )
        conn.execute("UPDATE intel_hourly_metrics SET avg_views = -1, dominant_language = 'xx'")

    _materialize(warehouse, "2026-03-04-05:00")

    pd.testing.assert_frame_equal(_read_hourly(warehouse), first)


def test_languages_not_declared_are_detected_in_the_stored_description(
    warehouse: PostgresWarehouse,
):
    spanish = "Hoy jugamos la nueva temporada con amigos y probamos todas las armas nuevas"
    english = "Today we play the new season with friends and try every new weapon in ranked"
    insert_videos(
        warehouse,
        [
            dict(video_id="a", game_key="gta", collected_at=_at(1), title="GTA",
                 description=spanish),
            # "zxx" is YouTube's "no linguistic content": the text decides.
            dict(video_id="b", game_key="gta", collected_at=_at(2), title="GTA",
                 default_audio_language="zxx", description=english),
            dict(video_id="c", game_key="gta", collected_at=_at(3), title="GTA",
                 default_audio_language="de", description=english),
            dict(video_id="d", game_key="gta", collected_at=_at(4), title="GTA"),
        ],
    )  # fmt: skip

    _materialize(warehouse, "2026-03-04-05:00")

    (row,) = _read_hourly(warehouse).to_dict("records")
    assert row["video_count"] == 4
    # d has no declared language and too little text to tell: it is in no language's count.
    assert row["language_distribution"] == {"es": 1, "en": 1, "de": 1}
    assert row["dominant_language"] == "de"  # a three-way tie goes to the first by name


def test_languages_resolved_at_collection_are_read_as_stored(warehouse: PostgresWarehouse):
    spanish = "Hoy jugamos la nueva temporada con amigos y probamos todas las armas nuevas"
    english = "Today we play the new season with friends and try every new weapon in ranked"
    insert_videos(
        warehouse,
        [
            # a: an unresolved (older) row, then its latest row resolved as "fr": fr counts, not
            # the es its text would give.
            dict(video_id="a", game_key="gta", collected_at=_at(1), description=spanish),
            dict(video_id="a", game_key="gta", collected_at=_at(30), description=spanish,
                 language="fr", language_source="detected"),
            # b: resolved first, but its latest row is unresolved: the rollup detects en.
            dict(video_id="b", game_key="gta", collected_at=_at(5), description=english,
                 language="de", language_source="audio"),
            dict(video_id="b", game_key="gta", collected_at=_at(40), description=english),
            # c: its collection could not tell the language: unknown stays unknown.
            dict(video_id="c", game_key="gta", collected_at=_at(10), description=spanish,
                 language=None, language_source="unknown"),
        ],
    )  # fmt: skip

    result = _materialize(warehouse, "2026-03-04-05:00")

    (row,) = _read_hourly(warehouse).to_dict("records")
    assert row["video_count"] == 3
    assert row["language_distribution"] == {"fr": 1, "en": 1}
    # Resolved in the rollup: the latest unresolved row of a (05:01, es; unused) and of b.
    (materialization,) = result.asset_materializations_for_node("hourly_metrics")
    assert materialization.metadata["languages_resolved_in_rollup"].value == 2


def test_a_window_is_cut_at_utc_month_starts_only():
    def at(month: int, day: int, hour: int, year: int = 2026) -> datetime:
        return datetime(year, month, day, hour, tzinfo=UTC)

    assert month_chunks(at(4, 6, 0), at(4, 13, 0)) == [(at(4, 6, 0), at(4, 13, 0))]
    assert month_chunks(at(3, 31, 22), at(4, 1, 2)) == [
        (at(3, 31, 22), at(4, 1, 0)),
        (at(4, 1, 0), at(4, 1, 2)),
    ]
    assert month_chunks(at(12, 31, 23, 2026), at(2, 1, 0, 2027)) == [
        (at(12, 31, 23, 2026), at(1, 1, 0, 2027)),
        (at(1, 1, 0, 2027), at(2, 1, 0, 2027)),
    ]


def test_a_range_across_a_month_end_equals_its_hour_runs(warehouse: PostgresWarehouse):
    last_hour = datetime(2026, 3, 31, 23, tzinfo=UTC)
    insert_videos(
        warehouse,
        [
            # v1 twice in March's last hour (the 23:50 row counts), then in April's first hour.
            dict(video_id="v1", game_key="gta", collected_at=last_hour + timedelta(minutes=10),
                 view_count=100, default_audio_language="en"),
            dict(video_id="v1", game_key="gta", collected_at=last_hour + timedelta(minutes=50),
                 view_count=150, default_audio_language="en"),
            dict(video_id="v1", game_key="gta", collected_at=last_hour + timedelta(minutes=70),
                 view_count=400, default_audio_language="en"),
            dict(video_id="v2", game_key="gta", collected_at=last_hour + timedelta(minutes=80),
                 view_count=600, default_audio_language="es"),
        ],
    )  # fmt: skip

    _materialize(
        warehouse,
        "",
        **{
            "dagster/asset_partition_range_start": "2026-03-31-23:00",
            "dagster/asset_partition_range_end": "2026-04-01-00:00",
        },
    )
    in_one_run = _read_hourly(warehouse)
    _materialize(warehouse, "2026-03-31-23:00")
    _materialize(warehouse, "2026-04-01-00:00")

    pd.testing.assert_frame_equal(in_one_run, _read_hourly(warehouse))
    march, april = in_one_run.to_dict("records")
    assert (march["video_count"], march["snapshot_count"], march["total_views"]) == (1, 2, 150)
    assert march["last_collected_at"] == last_hour + timedelta(minutes=50)
    assert (april["video_count"], april["snapshot_count"], april["total_views"]) == (2, 2, 1000)
    assert april["language_distribution"] == {"en": 1, "es": 1}


GAMES = ("fortnite", "minecraft", "valorant")
TITLES = (
    "Ranked highlights from the weekend tournament",
    "Las mejores jugadas de la semana en el torneo",
    "Les meilleurs moments du tournoi de ce week-end",
)
DAY = datetime(2026, 3, 10, tzinfo=UTC)


def generated_snapshots(hours: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """Deterministic video and stream snapshots over `hours` hours from `DAY` for three games."""
    rng = np.random.default_rng(seed)
    videos: list[dict[str, Any]] = []
    streams: list[dict[str, Any]] = []
    languages = ["en", "en-GB", "es", "pt-BR", None]
    for game in GAMES:
        for hour in range(hours):
            # Some hours have no YouTube collection for a game; each collection sees a sample.
            if rng.random() < 0.15:
                continue
            for minute in sorted(rng.choice(60, size=int(rng.integers(1, 4)), replace=False)):
                at = DAY + timedelta(hours=hour, minutes=int(minute))
                for n in rng.choice(12, size=int(rng.integers(3, 9)), replace=False):
                    views = int(rng.integers(0, 50_000))
                    hidden = rng.random() < 0.1
                    videos.append(
                        dict(
                            video_id=f"{game}-{n}",
                            game_key=game,
                            collected_at=at,
                            view_count=views,
                            like_count=None if hidden else int(rng.integers(0, views // 10 + 1)),
                            comment_count=int(rng.integers(0, 100)),
                            duration_seconds=int(n) * 150 + 20,
                            is_short=bool(n % 3 == 0),
                            default_audio_language=languages[int(n) % len(languages)],
                            default_language="fr" if n == 4 else None,
                            # Video 9 declares no language: it is detected in its title.
                            title=TITLES[(int(n) + 1) % len(TITLES)],
                        )
                    )
                for s in rng.choice(5, size=int(rng.integers(0, 4)), replace=False):
                    streams.append(
                        dict(
                            stream_id=f"{game}-s{s}",
                            game_key=game,
                            collected_at=at + timedelta(seconds=30),
                            viewer_count=int(rng.integers(0, 5000)),
                        )
                    )
    return videos, streams


def language_of(
    audio: object, metadata: object, title: str, description: object = ""
) -> str | None:
    """The declared language's base code, else what regional analysis detects in the text."""
    declared = audio if isinstance(audio, str) else metadata if isinstance(metadata, str) else None
    if declared:
        return declared.split("-")[0].lower()
    return detect_language(f"{title}\n{description if isinstance(description, str) else ''}")


def expected_hourly(video_rows: list[dict], stream_rows: list[dict]) -> pd.DataFrame:
    """The hourly metrics by a plain pandas route, independent of the asset's code."""
    videos = pd.DataFrame(video_rows)
    streams = pd.DataFrame(stream_rows)
    v = videos.assign(hour=videos["collected_at"].dt.floor("h"))
    snapshot_count = v.groupby(["game_key", "hour"]).size().to_dict()
    latest = v.loc[v.groupby(["game_key", "hour", "video_id"])["collected_at"].idxmax()].copy()
    descriptions = latest["description"] if "description" in latest else [""] * len(latest)
    latest["lang"] = [
        language_of(a, b, t, d)
        for a, b, t, d in zip(
            latest["default_audio_language"],
            latest["default_language"],
            latest["title"],
            descriptions,
            strict=True,
        )
    ]
    likes = latest["like_count"].astype("float64")
    # Hidden or disabled comments count as none (hidden likes leave engagement undefined).
    comments = latest["comment_count"].astype("float64").fillna(0.0)
    latest["eng"] = ((likes + comments) / latest["view_count"].where(
        latest["view_count"] > 0)).clip(upper=1.0)  # fmt: skip
    out = []
    for (game, hour), g in latest.groupby(["game_key", "hour"]):
        shorts = g[g["is_short"]]
        longs = g[~g["is_short"]]
        counts = g["lang"].dropna().value_counts()
        top = counts.max()
        s = streams[(streams["game_key"] == game) & (streams["collected_at"].dt.floor("h") == hour)]
        s_latest = s.sort_values("collected_at").drop_duplicates("stream_id", keep="last")
        out.append(
            dict(
                category_key=game,
                hour_start=hour,
                video_count=len(g),
                avg_views=g["view_count"].mean(),
                total_views=int(g["view_count"].sum()),
                avg_engagement=g["eng"].mean() if g["eng"].notna().any() else 0.0,
                shorts_count=len(shorts),
                shorts_avg_views=shorts["view_count"].mean() if len(shorts) else 0.0,
                longform_count=len(longs),
                longform_avg_views=longs["view_count"].mean() if len(longs) else 0.0,
                avg_duration_seconds=g["duration_seconds"].mean(),
                language_distribution=dict(counts.astype(int)),
                dominant_language=sorted(counts[counts == top].index)[0] if len(counts) else None,
                snapshot_count=int(snapshot_count[(game, hour)]),
                twitch_stream_count=len(s_latest),
                twitch_total_viewers=int(s_latest["viewer_count"].sum()),
            )
        )
    return pd.DataFrame(out).sort_values(["hour_start", "category_key"]).reset_index(drop=True)


def test_generated_hours_equal_independent_pandas_and_one_range_run_equals_hour_runs(
    warehouse: PostgresWarehouse,
):
    videos, streams = generated_snapshots(hours=6)
    insert_videos(warehouse, videos)
    insert_streams(warehouse, streams)

    _materialize(
        warehouse,
        "",
        **{
            "dagster/asset_partition_range_start": "2026-03-10-00:00",
            "dagster/asset_partition_range_end": "2026-03-10-05:00",
        },
    )
    in_one_run = _read_hourly(warehouse)
    for hour in range(6):
        _materialize(warehouse, f"2026-03-10-{hour:02d}:00")
    hour_by_hour = _read_hourly(warehouse)

    pd.testing.assert_frame_equal(in_one_run, hour_by_hour)
    expected = expected_hourly(videos, streams)
    # Games with streams but no videos in an hour get a row too; compare the video hours.
    actual = in_one_run[in_one_run["video_count"] > 0].reset_index(drop=True)
    assert len(actual) == len(expected) > 12
    for column in expected.columns:
        if actual[column].dtype.kind == "f":
            np.testing.assert_allclose(actual[column], expected[column], rtol=1e-12, err_msg=column)
        else:
            assert actual[column].tolist() == expected[column].tolist(), column
    assert json.dumps(actual["language_distribution"].iloc[0])  # stored as JSON objects
