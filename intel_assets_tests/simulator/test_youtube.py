"""YouTube methods of the simulator over HTTP: paging, ids, parts, counts, search, channels."""

from datetime import UTC, datetime, timedelta

import isodate

from intel_assets.catalog import load_catalog
from intel_assets_tests.simulator.conftest import NOW, truth, youtube


def _chart_pages(http, sim, region: str, size: int) -> list[dict]:
    pages, token = [], None
    while True:
        params = {"part": "id", "chart": "mostPopular", "regionCode": region, "maxResults": size}
        if token:
            params["pageToken"] = token
        answer = youtube(http, sim, "videos", videoCategoryId="20", **params)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            return pages


def test_chart_paging_reaches_the_end_and_the_last_page_has_no_next_token(sim, http):
    pages = _chart_pages(http, sim, "US", 50)

    # 200 entries at 50 a page: 4 pages; every page but the last points at the next.
    assert len(pages) == 4
    assert ["nextPageToken" in p for p in pages] == [True, True, True, False]
    assert ["prevPageToken" in p for p in pages] == [False, True, True, True]
    ids = [item["id"] for page in pages for item in page["items"]]
    assert ids == sim.world.chart_ids("US", NOW) and len(set(ids)) == 200
    assert {p["pageInfo"]["totalResults"] for p in pages} == {200}


def test_chart_pages_of_another_size_and_the_previous_page(sim, http):
    pages = _chart_pages(http, sim, "DE", 30)
    # ceil(200 / 30) = 7 pages, the last holding 200 - 6 * 30 = 20.
    assert [len(p["items"]) for p in pages] == [30] * 6 + [20]

    back = youtube(
        http, sim, "videos", part="id", chart="mostPopular", regionCode="DE", maxResults=30,
        pageToken=pages[2]["prevPageToken"],
    ).json()  # fmt: skip
    assert back["items"] == pages[1]["items"]


def test_each_region_charts_its_own_language_far_more_than_the_us_does(sim, http):
    world = sim.world

    def count(region: str, language: str) -> int:
        return sum(truth(sim, i).language == language for i in world.chart_ids(region, NOW))

    for region, language in (("JP", "ja"), ("BR", "pt"), ("DE", "de")):
        # Global hits from other languages still chart everywhere, as they do on YouTube.
        assert count(region, language) >= 20, region
        assert count(region, language) >= 5 * max(1, count("US", language)), region


def test_default_page_is_five_and_page_size_is_bounded(sim, http):
    default = youtube(http, sim, "videos", part="id", chart="mostPopular").json()
    too_big = youtube(http, sim, "videos", part="id", chart="mostPopular", maxResults=51)
    zero = youtube(http, sim, "videos", part="id", chart="mostPopular", maxResults=0)

    assert len(default["items"]) == 5 and default["pageInfo"]["resultsPerPage"] == 5
    assert too_big.status_code == 400 and zero.status_code == 400
    assert too_big.json()["error"]["errors"][0]["location"] == "maxResults"


def test_more_than_50_ids_or_max_results_with_ids_are_refused_and_charged(sim, http):
    ids = [v.video_id for v in sim.world.videos_at(NOW, timedelta(hours=12))][:51]
    assert len(ids) == 51

    fifty_one = youtube(http, sim, "videos", part="id", id=",".join(ids))
    with_max = youtube(http, sim, "videos", part="id", id=ids[0], maxResults=5)
    fifty = youtube(http, sim, "videos", part="id", id=",".join(ids[:50]))

    assert fifty_one.status_code == 400 and with_max.status_code == 400
    assert fifty.status_code == 200 and len(fifty.json()["items"]) == 50
    # Invalid requests cost quota too: 3 calls, 3 units from `default`.
    assert sim.counts()["youtube"]["videos.list"] == {"calls": 3, "units": 3}
    assert sim.units_by_bucket()["default"] == 3


def test_ids_answer_only_published_videos_in_the_order_asked(sim, http):
    day = sim.world.videos_published(NOW - timedelta(hours=6), NOW + timedelta(hours=6))
    published = [v.video_id for v in day if v.published_at <= NOW.timestamp()][:3]
    future = next(v.video_id for v in day if v.published_at > NOW.timestamp())
    asked = [published[2], future, "xxxxxxxxxxx", published[0], published[2]]

    answer = youtube(http, sim, "videos", part="id", id=",".join(asked)).json()

    # Unknown, future and repeated ids are left out; the rest keep the asked order.
    assert [item["id"] for item in answer["items"]] == [published[2], published[0]]
    assert answer["pageInfo"] == {"totalResults": 2, "resultsPerPage": 2}


def test_statistics_are_strings_and_hidden_counts_are_absent(sim, http):
    videos = sim.world.videos_at(NOW, timedelta(days=2))
    hidden_likes = next(v for v in videos if v.likes_hidden)
    no_comments = next(v for v in videos if v.comments_disabled)
    visible = next(v for v in videos if not v.likes_hidden and not v.comments_disabled)
    ids = [hidden_likes.video_id, no_comments.video_id, visible.video_id]

    items = {
        i["id"]: i["statistics"]
        for i in youtube(http, sim, "videos", part="statistics", id=",".join(ids)).json()["items"]
    }

    assert "likeCount" not in items[hidden_likes.video_id]
    assert "commentCount" not in items[no_comments.video_id]
    assert items[visible.video_id] == {
        "viewCount": str(visible.views_at(NOW.timestamp())),
        "likeCount": str(visible.likes_at(NOW.timestamp())),
        "favoriteCount": "0",
        "commentCount": str(visible.comments_at(NOW.timestamp())),
    }


def test_durations_and_broadcast_states(sim, http):
    world = sim.world
    at = NOW.timestamp()
    videos = world.videos_at(NOW, timedelta(days=3))
    upload = next(v for v in videos if v.live_kind == "none" and v.duration_seconds > 3600)
    upcoming = next(v for v in videos if v.live_kind == "live" and v.state_at(at) == "upcoming")
    ended = next(v for v in videos if v.live_kind == "live" and v.state_at(at) == "none")
    premiere = next(v for v in videos if v.live_kind == "premiere" and v.state_at(at) == "none")
    ids = ",".join(v.video_id for v in (upload, upcoming, ended, premiere))

    items = {
        i["id"]: i
        for i in youtube(
            http, sim, "videos", part="snippet,contentDetails,liveStreamingDetails", id=ids
        ).json()["items"]
    }

    long_form = items[upload.video_id]
    seconds = isodate.parse_duration(long_form["contentDetails"]["duration"]).total_seconds()
    assert seconds == upload.duration_seconds
    assert long_form["contentDetails"]["duration"].startswith("PT1H")  # over an hour
    assert "liveStreamingDetails" not in long_form
    waiting = items[upcoming.video_id]
    assert waiting["snippet"]["liveBroadcastContent"] == "upcoming"
    assert waiting["contentDetails"]["duration"] == "P0D"
    assert set(waiting["liveStreamingDetails"]) == {"scheduledStartTime"}
    done = items[ended.video_id]
    assert done["snippet"]["liveBroadcastContent"] == "none"
    assert set(done["liveStreamingDetails"]) == {
        "actualStartTime",
        "actualEndTime",
        "scheduledStartTime",
    }
    assert items[premiere.video_id]["contentDetails"]["duration"] != "P0D"


def test_a_live_stream_while_live_has_viewers_and_no_duration(sim, http):
    videos = sim.world.videos_at(NOW, timedelta(days=2))
    stream = next(v for v in videos if v.live_kind == "live" and v.actual_start)
    assert stream.actual_start is not None and stream.scheduled_start is not None
    sim.set_clock(NOW.fromtimestamp(stream.actual_start + 1800, NOW.tzinfo))

    item = youtube(
        http, sim, "videos", part="snippet,contentDetails,liveStreamingDetails",
        id=stream.video_id,
    ).json()["items"][0]  # fmt: skip

    assert item["snippet"]["liveBroadcastContent"] == "live"
    assert item["contentDetails"]["duration"] == "P0D"
    details = item["liveStreamingDetails"]
    assert int(details["concurrentViewers"]) > 0
    assert "actualEndTime" not in details
    assert details["actualStartTime"] >= details["scheduledStartTime"]  # on time or late


def test_batch_get_stats_reports_protobuf_durations_and_publish_times(sim, http):
    videos = sim.world.videos_at(NOW, timedelta(days=1))[:50]

    items = youtube(
        http, sim, "videos:batchGetStats", part="snippet,statistics,contentDetails",
        id=",".join(v.video_id for v in videos),
    ).json()["items"]  # fmt: skip

    assert [i["id"] for i in items] == [v.video_id for v in videos]
    first, truth = items[0], videos[0]
    assert first["contentDetails"]["duration"] == f"{truth.duration_seconds}s"
    assert first["snippet"]["publishTime"] == truth.published().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["statistics"]["viewCount"] == str(truth.views_at(NOW.timestamp()))
    assert "favoriteCount" not in first["statistics"]
    assert sim.counts()["youtube"]["videos.batchGetStats"] == {"calls": 1, "units": 1}
    assert sim.units_by_bucket() == {"default": 0, "search": 0, "batch_stats": 1}


def test_search_finds_the_games_videos_within_the_filters(sim, http):
    catalog = load_catalog()
    answer = youtube(
        http, sim, "search", part="snippet", q="minecraft", type="video", order="date",
        publishedAfter="2026-11-19T18:00:00Z", videoDuration="short", maxResults=50,
    ).json()  # fmt: skip

    items = answer["items"]
    assert items and answer["kind"] == "youtube#searchListResponse"
    times = [i["snippet"]["publishedAt"] for i in items]
    assert times == sorted(times, reverse=True)
    for item in items:
        video = sim.world.video(item["id"]["videoId"])
        assert video is not None and "minecraft" in video.mentioned_games
        assert video.duration_seconds < 240  # `short` is under four minutes
        assert "2026-11-19T18:00:00Z" <= item["snippet"]["publishedAt"] <= "2026-11-20T18:00:00Z"
        words = sim.world.text(video.video_id)
        assert "minecraft" in catalog.games_of(words.title, words.tags, words.description)
    assert sim.units_by_bucket()["search"] == 1


def test_search_escapes_titles_like_youtube(sim, http):
    answer = youtube(
        http, sim, "search", part="snippet", q="guide", type="video", maxResults=50
    ).json()

    titles = [i["snippet"]["title"] for i in answer["items"]]
    # "Beginner's Guide to ..." comes back as "Beginner&#39;s Guide to ...".
    assert any("&#39;" in t for t in titles) and not any("'" in t for t in titles)


def test_channels_round_subscribers_and_hide_hidden_ones(sim, http):
    channels = sim.world.youtube.channels
    hidden = next(c for c in channels if c.hidden_subscribers)
    shown = next(c for c in channels if not c.hidden_subscribers and c.subscribers >= 12_345)

    answer = youtube(
        http, sim, "channels", part="snippet,contentDetails,statistics",
        id=f"{hidden.channel_id},{shown.channel_id}",
    ).json()  # fmt: skip

    by_id = {item["id"]: item for item in answer["items"]}
    assert "subscriberCount" not in by_id[hidden.channel_id]["statistics"]
    assert by_id[hidden.channel_id]["statistics"]["hiddenSubscriberCount"] is True
    count = int(by_id[shown.channel_id]["statistics"]["subscriberCount"])
    # Three significant figures of the count now, rounded down: 12,345 would show as 12,300.
    true = shown.subscribers_at(sim.now().timestamp())
    digits = len(str(true))
    assert count == true // 10 ** (digits - 3) * 10 ** (digits - 3)
    uploads = by_id[shown.channel_id]["contentDetails"]["relatedPlaylists"]["uploads"]
    assert uploads == "UU" + shown.channel_id[2:]


def test_unknown_channels_leave_items_out(sim, http):
    answer = youtube(http, sim, "channels", part="snippet", id="UCxxxxxxxxxxxxxxxxxxxxxx").json()

    assert "items" not in answer and answer["pageInfo"]["totalResults"] == 0


def test_uploads_playlist_lists_the_channels_videos_newest_first(sim, http):
    video = sim.world.videos_at(NOW, timedelta(hours=12))[0]
    channel = sim.world.channel_of(video)

    answer = youtube(
        http, sim, "playlistItems", part="snippet,contentDetails",
        playlistId=channel.uploads_playlist_id, maxResults=50,
    ).json()  # fmt: skip

    ids = [item["contentDetails"]["videoId"] for item in answer["items"]]
    assert video.video_id in ids
    owners = {sim.world.channel_of(truth(sim, i)).channel_id for i in ids}
    assert owners == {channel.channel_id}
    times = [item["contentDetails"]["videoPublishedAt"] for item in answer["items"]]
    assert times == sorted(times, reverse=True)
    assert [item["snippet"]["position"] for item in answer["items"]] == list(range(len(ids)))


def test_uploads_playlist_pages_to_the_channels_last_two_weeks_one_unit_a_page(sim, http):
    # The busiest channel of the last two weeks (the playlist reaches back 14 days).
    recent = sim.world.videos_at(NOW, timedelta(days=14))
    by_channel: dict[int, list] = {}
    for video in recent:
        by_channel.setdefault(video.channel, []).append(video)
    uploads = max(by_channel.values(), key=lambda vs: (len(vs), vs[0].channel))
    channel = sim.world.channel_of(uploads[0])
    expected = [v.video_id for v in sorted(uploads, key=lambda v: (-v.published_at, v.video_id))]
    assert len(expected) > 7, "the channel fills more than one page of 7"

    ids: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"part": "contentDetails", "playlistId": channel.uploads_playlist_id}
        answer = youtube(
            http,
            sim,
            "playlistItems",
            maxResults=7,
            **params,
            **({"pageToken": token} if token else {}),
        ).json()
        pages += 1
        ids += [item["contentDetails"]["videoId"] for item in answer["items"]]
        token = answer.get("nextPageToken")
        if token is None:
            break

    # Every upload once, newest first, in ceil(n / 7) pages of 1 default unit each.
    assert ids == expected
    assert pages == -(-len(expected) // 7)
    assert sim.counts()["youtube"]["playlistItems.list"] == {"calls": pages, "units": pages}
    assert sim.units_by_bucket()["default"] == pages


def test_the_key_may_come_in_the_x_goog_api_key_header(sim, http):
    answer = http.get(
        f"{sim.youtube_url}/videoCategories",
        params={"part": "snippet", "regionCode": "US"},
        headers={"X-Goog-Api-Key": "simulator-key"},
    )
    wrong = http.get(
        f"{sim.youtube_url}/videoCategories",
        params={"part": "snippet", "regionCode": "US"},
        headers={"X-Goog-Api-Key": "other"},
    )

    assert (answer.status_code, wrong.status_code) == (200, 400)
    assert sim.counts()["youtube"]["videoCategories.list"] == {"calls": 2, "units": 1}


def test_missing_part_and_unknown_part_are_refused(sim, http):
    no_part = youtube(http, sim, "videos", chart="mostPopular")
    bad_part = youtube(http, sim, "videos", part="snippet,nonsense", chart="mostPopular")
    no_filter = youtube(http, sim, "videos", part="id")

    assert no_part.status_code == bad_part.status_code == no_filter.status_code == 400
    assert no_part.json()["error"]["errors"][0]["reason"] == "required"
    assert bad_part.json()["error"]["errors"][0]["reason"] == "unknownPart"
    assert no_filter.json()["error"]["errors"][0]["reason"] == "missingRequiredParameter"


def test_a_channel_gains_its_known_subscribers_each_utc_day(sim, http):
    channels = sim.world.youtube.channels
    # A small channel, so the API shows its count unrounded.
    small = next(c for c in channels if not c.hidden_subscribers and c.subscribers < 500)
    gain = small.subscriber_gain_per_day
    assert gain >= 1

    def shown_at(at: datetime) -> int:
        sim.set_clock(at)
        answer = youtube(http, sim, "channels", part="statistics", id=small.channel_id).json()
        return int(answer["items"][0]["statistics"]["subscriberCount"])

    # 2026-01-01 is where the count is `subscribers`; each UTC midnight adds the gain.
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    counts = [shown_at(start + timedelta(days=n)) for n in (0, 1, 7)]
    late_evening = shown_at(start + timedelta(hours=11, minutes=59))
    assert counts == [small.subscribers, small.subscribers + gain, small.subscribers + 7 * gain]
    assert late_evening == small.subscribers  # 23:59 is still the first day
