from intel_assets_tests.simulator.conftest import KEY, NOW, helix_headers


def test_chart_pages_to_its_end_and_batch_stats_answer_for_its_videos(sim, http):
    ids: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"part": "snippet", "chart": "mostPopular", "regionCode": "US", "maxResults": 50}
        params |= {"key": KEY, "videoCategoryId": "20"}
        if token:
            params["pageToken"] = token
        body = http.get(f"{sim.youtube_url}/videos", params=params).json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        token = body.get("nextPageToken")
        if token is None:
            break
    # 200 chart entries at 50 a page: 4 pages, the last without nextPageToken.
    assert pages == 4 and len(ids) == 200 and len(set(ids)) == 200
    assert ids == sim.world.chart_ids("US", NOW)

    answer = http.get(
        f"{sim.youtube_url}/videos:batchGetStats",
        params={"part": "snippet,statistics,contentDetails", "id": ",".join(ids[:50]), "key": KEY},
    )
    assert answer.status_code == 200
    assert [item["id"] for item in answer.json()["items"]] == ids[:50]
    # 4 chart pages from `default`, 1 stats call from `batch_stats`.
    assert sim.units_by_bucket() == {"default": 4, "search": 0, "batch_stats": 1}


def test_streams_need_a_token_and_report_the_bucket(sim, http):
    refused = http.get(f"{sim.twitch_url}/streams")
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "Unauthorized",
        "status": 401,
        "message": "OAuth token is missing",
    }

    answer = http.get(f"{sim.twitch_url}/streams", headers=helix_headers(http, sim))
    assert answer.status_code == 200
    assert answer.headers["Ratelimit-Limit"] == "800"
    # The clock is frozen, so the bucket does not refill: 800 - 1 point.
    assert answer.headers["Ratelimit-Remaining"] == "799"
