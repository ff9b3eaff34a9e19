import json
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from intel_assets.analyzers.base import (
    AnalyzerInputs,
    feature_split,
    group_stats,
    json_safe,
    relative_performance,
)
from intel_assets_tests.analyzers.frames import GAME, HOUR, T0, inputs, stream, video


def test_as_of_is_the_newest_snapshot_of_any_source():
    given = inputs([video("a", collected_at=T0 - HOUR)], [stream("s", collected_at=T0)])
    assert given.as_of == T0


def test_data_age_is_the_age_of_the_stalest_needed_source():
    # YouTube collected at T0, Twitch two hours earlier.
    given = inputs([video("a", collected_at=T0)], [stream("s", collected_at=T0 - 2 * HOUR)])
    assert given.data_age_seconds(["videos"]) == 0.0
    assert given.data_age_seconds(["videos", "streams"]) == 7200.0
    # Channels have no rows, hence no age of their own.
    assert given.data_age_seconds(["videos", "channels"]) == 0.0


def test_inputs_without_rows_need_an_explicit_as_of():
    with pytest.raises(ValueError, match="as_of"):
        AnalyzerInputs.from_frames(GAME)
    assert AnalyzerInputs.from_frames(GAME, as_of=T0).videos.empty


def test_inputs_reject_missing_columns_other_games_and_future_rows():
    frame = inputs([video("a")]).videos
    with pytest.raises(ValueError, match="lacks columns: tags"):
        AnalyzerInputs.from_frames(GAME, videos=frame.drop(columns=["tags"]))
    with pytest.raises(ValueError, match="minecraft"):
        AnalyzerInputs.from_frames(GAME, videos=frame.assign(game_key="minecraft"))
    with pytest.raises(ValueError, match="newer than as_of"):
        AnalyzerInputs.from_frames(GAME, videos=frame, as_of=T0 - timedelta(seconds=1))


def test_json_safe_turns_nan_and_infinity_into_none_and_rounds_floats():
    data = {
        "nan": float("nan"),
        "inf": math.inf,
        "na": pd.NA,
        "np_int": np.int64(10**12),
        "np_float": np.float64(2 / 3),
        "negative_zero": -0.0,
        "flag": np.bool_(True),
        "when": T0,
        "nested": [(1, 0.123456789)],
    }
    safe = json_safe(data)
    assert safe == {
        "nan": None,
        "inf": None,
        "na": None,
        "np_int": 1_000_000_000_000,
        "np_float": 0.6667,
        "negative_zero": 0.0,
        "flag": True,
        "when": "2026-03-02T12:00:00+00:00",
        "nested": [[1, 0.1235]],
    }
    json.dumps(safe, allow_nan=False)


def test_relative_performance_compares_each_video_with_its_own_format():
    views = pd.Series([100.0, 300.0, 10_000.0, 30_000.0, np.nan])
    is_short = pd.Series([False, False, True, True, False])
    # long-form mean (100+300)/2 = 200; Shorts mean (10000+30000)/2 = 20000
    assert relative_performance(views, is_short).tolist()[:4] == [0.5, 1.5, 0.5, 1.5]
    assert np.isnan(relative_performance(views, is_short).iloc[4])
    # Against the mean of all: (100+300+10000+30000)/4 = 10100
    assert relative_performance(views).iloc[3] == pytest.approx(30_000 / 10_100)


def test_group_stats_and_feature_split_leave_unknowns_out():
    views = pd.Series([100.0, 300.0, np.nan, 200.0])
    performance = views / 200.0
    has = pd.Series([True, False, True, None], dtype=object)
    split = feature_split(views, performance, has)
    # with: videos 0 and 2, only 0 has views -> avg 100, index 0.5
    assert split.with_feature.video_count == 2
    assert split.with_feature.avg_views == 100.0
    assert split.with_feature.performance_index == 0.5
    # without: video 1 -> 300, index 1.5; video 3 unknown; lift 0.5/1.5
    assert split.without_feature.total_views == 300
    assert split.unknown_count == 1
    assert split.lift == pytest.approx(1 / 3)
    empty = group_stats(views, performance, pd.Series([False] * 4))
    assert (empty.video_count, empty.avg_views, empty.performance_index) == (0, None, None)
