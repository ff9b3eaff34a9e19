"""`youtube_videos[game]`: one snapshot of one game's YouTube videos, now.

A collection spends as little quota as it can:
1. The gaming chart of each configured region is fetched at most once per collection window and
   shared by every game through Redis; its videos come with details and statistics.
2. Chart videos are tied to games by the catalog's match rules.
3. The game's tracked videos (seen in its snapshots of the last days) are refreshed 50 at a time
   through `videos.batchGetStats` (its own bucket); a tracked broadcast that is upcoming or live
   is re-read with `videos.list` instead, since only that shows its live state change.
4. When the sensor grants it search calls, `search.list` discovers the game's newest uploads; their
   details come from `videos.list`.
5. Once per window, the uploads playlists of channels the games already track are read and their
   new uploads matched to games (`uploads.py`); the game's matches join its tracked videos.
Details and statistics fetched once are cached for the window, so no video is paid for twice.
Each step is a function of its own: `shared_chart_videos` (1-2), `game_candidates` (3-4),
`run_uploads_sweep` (5), `refreshed_rows` (the kept videos' newest counts), `collect_youtube` (all).
The rows go to `video_snapshots` together with the game's collection state in one transaction;
the latest snapshot also goes to the hot tier (`redis_keys.snapshot_key`, 5 h TTL).
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from intel_assets.analyzers.regional import resolve_languages
from intel_assets.catalog import GAMING_CATEGORY, Catalog, GameConfig
from intel_assets.contracts.tables import CHANNEL_COLUMNS, VIDEO_COLUMNS
from intel_assets.defs.collection.state import (
    CollectionState,
    CollectionWindow,
    RecordCache,
    cached_or_fetched,
    content_hash,
    shared_value,
    state_write,
)
from intel_assets.defs.collection.uploads import discovered_videos, window_sweep
from intel_assets.resources.hot_tier import RedisHotTier
from intel_assets.resources.redis_keys import (
    CHANNEL_CACHE_TTL_SECONDS,
    SNAPSHOT_TTL_SECONDS,
    channel_prefix,
    chart_key,
    snapshot_key,
)
from intel_assets.resources.warehouse import (
    PostgresWarehouse,
    RowScope,
    TableWrite,
    frame_rows,
)
from intel_assets.resources.youtube import YouTubeClient
from intel_assets.resources.youtube_models import Channel, Video, VideoStats

DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "IN", "BR", "MX", "DE", "FR", "JP", "KR", "ES")


@dataclass(frozen=True)
class YouTubeCollectionSettings:
    """How one YouTube collection runs (the asset's run config carries these).

    Attributes:
        regions: Chart regions, fetched once per window for every game.
        window_minutes: Length of a collection window: charts and details are shared within it.
        tracked_days: Videos published within this many days stay tracked.
        search_calls: search.list calls this collection may spend (the sensor grants them).
        uploads_playlists: Uploads playlists the window's first collection reads (0: none).
    """

    regions: tuple[str, ...] = DEFAULT_REGIONS
    window_minutes: int = 60
    tracked_days: float = 3.0
    search_calls: int = 0
    uploads_playlists: int = 0


@dataclass
class CollectionOutcome:
    """What one collection did.

    Attributes:
        rows: The snapshot, one row per video (VIDEO_COLUMNS).
        collected_at: When the snapshot was taken.
        sources: Videos per source (chart, tracked, search).
        new_videos: Videos not in the game's previous snapshots.
        chart_videos_seen: Distinct chart videos looked at.
        chart_videos_matched: How many of them the catalog ties to the game.
        fetched: Records paid for per kind (chart pages, details, stats, channels).
        content_hash: Hash over (video id, view count) of the snapshot.
        changed: Whether the hash differs from the previous snapshot's.
        channels: Channel rows written.
        skipped: Records the API answered that could not be read.
        cached_keys: Redis keys of the shared caches this snapshot was built from (charts,
            details, statistics), forgotten when the snapshot cannot be stored.
    """

    rows: pd.DataFrame
    collected_at: datetime
    sources: dict[str, int]
    new_videos: int
    chart_videos_seen: int
    chart_videos_matched: int
    fetched: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""
    changed: bool = True
    channels: int = 0
    skipped: int = 0
    cached_keys: list[str] = field(default_factory=list)


def _chart(
    client: YouTubeClient, hot_client: Any, region: str, window: datetime, ttl: int
) -> tuple[list[Video], bool]:
    key = chart_key(region, window)
    value, fetched = shared_value(
        hot_client,
        key,
        ttl,
        lambda: [
            v.model_dump(mode="json")
            for v in client.chart(region_code=region, video_category_id=GAMING_CATEGORY)
        ],
    )
    return [Video.model_validate(item) for item in value], fetched


def _tracked(
    warehouse: PostgresWarehouse, game_key: str, since: datetime, published_after: datetime
) -> pd.DataFrame:
    """The latest stored row of each video the game tracks: seen since `since`, still recent."""
    frame = warehouse.fetch_frame(
        b"SELECT DISTINCT ON (video_id) * FROM video_snapshots "
        b"WHERE game_key = %s AND collected_at >= %s AND published_at >= %s "
        b"ORDER BY video_id, collected_at DESC",
        (game_key, since, published_after),
    )
    return frame


def _row_from_video(video: Video) -> dict[str, Any]:
    return video.model_dump()


def _row_from_stats(previous: pd.Series, stats: VideoStats) -> dict[str, Any]:
    """A tracked video's new row: its stored details with fresh statistics."""
    row = {column: previous[column] for column in VIDEO_COLUMNS if column in previous.index}
    row.update(
        view_count=stats.view_count,
        like_count=stats.like_count,
        comment_count=stats.comment_count,
    )
    if stats.duration_seconds is not None:
        row["duration_seconds"] = stats.duration_seconds
    return row


def _new_fetch_counts() -> dict[str, int]:
    return {
        "chart_regions": 0, "details": 0, "stats": 0, "channels": 0, "search_results": 0,
        "playlists": 0, "playlist_uploads": 0,
    }  # fmt: skip


def shared_chart_videos(
    client: YouTubeClient,
    window: CollectionWindow,
    regions: Sequence[str],
    game: GameConfig,
    fetched: dict[str, int],
) -> tuple[dict[str, Video], int]:
    """Step 1-2: the game's videos among the window's gaming charts, and chart videos seen.

    Writes Redis: each region's chart once per window (shared by every game) and, when this
    collection paid for a chart, its videos' details in the window's details cache.
    """
    matched: dict[str, Video] = {}
    seen: set[str] = set()
    for region in regions:
        videos, paid = _chart(client, window.redis_client, region, window.start, window.ttl)
        fetched["chart_regions"] += int(paid)
        if paid:
            window.details.put_many({v.video_id: v for v in videos})
        for video in videos:
            seen.add(video.video_id)
            if video.video_id not in matched and game.matches(
                video.title, video.tags, video.description
            ):
                matched[video.video_id] = video
    return matched, len(seen)


def run_uploads_sweep(
    client: YouTubeClient,
    warehouse: PostgresWarehouse,
    catalog: Catalog,
    window: CollectionWindow,
    settings: YouTubeCollectionSettings,
    fetched: dict[str, int],
    log: Any,
) -> None:
    """Step 5: the window's uploads-playlist sweep, if no collection of the window did it.

    Writes Redis only (`uploads.py`): the sweep's mark, the channels looked at and each game's
    discovered uploads, which the per-game refresh then reads.
    """
    sweep, swept = window_sweep(
        client,
        warehouse,
        catalog,
        window,
        playlists=settings.uploads_playlists,
        tracked_days=settings.tracked_days,
        log=log,
    )
    if swept:
        fetched["playlists"] += sweep.playlists
        fetched["playlist_uploads"] += sweep.recent
        fetched["details"] += sweep.details_paid


@dataclass
class GameCandidates:
    """The videos one collection may keep for a game, by where they were found.

    Attributes:
        chart: Chart videos the catalog ties to the game.
        search: Searched videos that match the game.
        uploads: Uploads the sweep discovered for the game.
        tracked: The latest stored row of each video the game already tracks.
        known_ids: Ids of the tracked videos (before the budget).
    """

    chart: dict[str, Video]
    search: dict[str, Video]
    uploads: dict[str, Video]
    tracked: pd.DataFrame
    known_ids: set[str]

    def keep_fastest(self, now: datetime, budget: int) -> None:
        """Keep the budget: the game's videos growing fastest (views per hour since publishing).

        Whether they came free with a chart, were searched, found in uploads playlists (counts
        as of their discovery), or are tracked from earlier snapshots.
        """
        kept = _keep_fastest(
            now,
            budget,
            [(v.video_id, v.view_count, v.published_at) for v in self.chart.values()]
            + [(v.video_id, v.view_count, v.published_at) for v in self.search.values()]
            + [(v.video_id, v.view_count, v.published_at) for v in self.uploads.values()]
            + [
                (str(r.video_id), _count(r.view_count), r.published_at)
                for r in self.tracked.itertuples(index=False)
            ],
        )
        self.chart = {vid: v for vid, v in self.chart.items() if vid in kept}
        self.search = {vid: v for vid, v in self.search.items() if vid in kept}
        self.uploads = {vid: v for vid, v in self.uploads.items() if vid in kept}
        if not self.tracked.empty:
            self.tracked = self.tracked[self.tracked["video_id"].isin(list(kept))]


def game_candidates(
    client: YouTubeClient,
    warehouse: PostgresWarehouse,
    window: CollectionWindow,
    game: GameConfig,
    chart: dict[str, Video],
    settings: YouTubeCollectionSettings,
    fetched: dict[str, int],
) -> GameCandidates:
    """Steps 3-4: the game's tracked videos, its discovered uploads and its searched videos.

    Writes Redis only: details of searched videos in the window's details cache.
    """
    since = window.started - timedelta(days=settings.tracked_days)
    tracked = _tracked(warehouse, game.key, since, since)
    tracked = tracked[~tracked["video_id"].isin(list(chart))] if not tracked.empty else tracked
    known_ids = set(tracked["video_id"]) if not tracked.empty else set()
    uploads = {
        v.video_id: v
        for v in discovered_videos(window.redis_client, game.key, since)
        if v.video_id not in chart and v.video_id not in known_ids
    }
    search: dict[str, Video] = {}
    if settings.search_calls > 0:
        # One page per granted call; the next call would page further back in time.
        page = client.search(q=game.search_query, order="date", published_after=since)
        fetched["search_results"] += len(page.items)
        ids = [
            r.video_id
            for r in page.items
            if r.video_id not in chart and r.video_id not in known_ids
        ]
        search = _matching_details(client, window, game, ids, fetched)
    return GameCandidates(chart, search, uploads, tracked, known_ids)


def _matching_details(
    client: YouTubeClient,
    window: CollectionWindow,
    game: GameConfig,
    ids: list[str],
    fetched: dict[str, int],
) -> dict[str, Video]:
    """The searched videos whose details match the game (details cached for the window)."""
    if not ids:
        return {}
    details, paid = cached_or_fetched(
        window.details, ids, Video, client.videos_many, lambda v: v.video_id
    )
    fetched["details"] += paid
    return {vid: v for vid, v in details.items() if game.matches(v.title, v.tags, v.description)}


def refreshed_rows(
    client: YouTubeClient,
    window: CollectionWindow,
    candidates: GameCandidates,
    fetched: dict[str, int],
    log: Any,
) -> list[dict[str, Any]]:
    """The snapshot's rows, each kept video with its newest counts, by source.

    Chart and searched videos come with fresh details; tracked and discovered videos get fresh
    statistics through `batchGetStats`, except broadcasts that are upcoming or live, which are
    re-read with `videos.list` to see their live state change. Writes Redis only: the details
    and statistics it pays for, in the window's caches.
    """
    rows: list[dict[str, Any]] = [
        dict(_row_from_video(v), source="chart") for v in candidates.chart.values()
    ]
    # Discovered uploads are refreshed like tracked videos: their details are as of discovery.
    uploads = pd.DataFrame([_row_from_video(v) for v in candidates.uploads.values()])
    refreshed = [(candidates.tracked, "tracked"), (uploads, "uploads")]
    refreshed = [(frame, source) for frame, source in refreshed if not frame.empty]
    broadcasting = {
        source: frame["live_state"].isin(["upcoming", "live"]) for frame, source in refreshed
    }
    live_source = {
        vid: source
        for frame, source in refreshed
        for vid in frame.loc[broadcasting[source], "video_id"]
    }
    if live_source:
        fresh, paid = cached_or_fetched(
            window.details, list(live_source), Video, client.videos_many, lambda v: v.video_id
        )
        fetched["details"] += paid
        rows.extend(
            dict(_row_from_video(v), source=live_source[v.video_id]) for v in fresh.values()
        )
    quiet = [(frame[~broadcasting[source]], source) for frame, source in refreshed]
    rows.extend(_rows_with_fresh_stats(client, window, quiet, fetched, log))
    rows.extend(dict(_row_from_video(v), source="search") for v in candidates.search.values())
    return rows


def _rows_with_fresh_stats(
    client: YouTubeClient,
    window: CollectionWindow,
    stored: list[tuple[pd.DataFrame, str]],
    fetched: dict[str, int],
    log: Any,
) -> list[dict[str, Any]]:
    """Stored rows with this window's statistics (videos gone from the API are left out)."""
    stats, paid = cached_or_fetched(
        window.stats,
        [vid for frame, _ in stored for vid in frame["video_id"]],
        VideoStats,
        client.batch_stats_many,
        lambda s: s.video_id,
    )
    fetched["stats"] += paid
    rows: list[dict[str, Any]] = []
    for frame, source in stored:
        for _, previous in frame.iterrows():
            fresh_stats = stats.get(previous["video_id"])
            if fresh_stats is None:
                log.warning(
                    f"{source} video {previous['video_id']} is gone from the API; not in snapshot"
                )
                continue
            rows.append(dict(_row_from_stats(previous, fresh_stats), source=source))
    return rows


def snapshot_frame(
    rows: list[dict[str, Any]], game_key: str, collected_at: datetime, collection_id: str
) -> pd.DataFrame:
    """The rows as a `video_snapshots` frame: one row per video, languages resolved."""
    frame = pd.DataFrame(rows, columns=[c for c in VIDEO_COLUMNS if c not in _ADDED] + ["source"])
    frame = frame.drop_duplicates("video_id", keep="first")
    frame["game_key"] = game_key
    frame["collected_at"] = collected_at
    frame["collection_id"] = collection_id
    # Resolved once here (tracked rows keep what their first snapshot resolved), so the hourly
    # rollup and the analyzers never detect the same text again.
    resolved = resolve_languages(frame)
    frame["language"] = resolved["language"]
    frame["language_source"] = resolved["language_source"]
    return frame[list(VIDEO_COLUMNS)]


def collect_youtube(
    game: GameConfig,
    catalog: Catalog,
    client: YouTubeClient,
    warehouse: PostgresWarehouse,
    hot_tier: RedisHotTier,
    settings: YouTubeCollectionSettings,
    collection_id: str,
    log: Any,
) -> CollectionOutcome:
    """Take one snapshot of `game` (steps in the module docstring).

    Writes only the caches every collection shares in Redis (the window's charts, details and
    statistics, the uploads sweep and what it discovered); the snapshot itself is stored by the
    caller (`snapshot_writes` to Postgres, then `hot_tier_write`).
    """
    window = CollectionWindow.now(hot_tier, settings.window_minutes)
    fetched = _new_fetch_counts()
    chart, chart_seen = shared_chart_videos(client, window, settings.regions, game, fetched)
    run_uploads_sweep(client, warehouse, catalog, window, settings, fetched, log)
    candidates = game_candidates(client, warehouse, window, game, chart, settings, fetched)
    chart_matched = len(candidates.chart)
    candidates.keep_fastest(window.started, game.video_budget)
    rows = refreshed_rows(client, window, candidates, fetched, log)
    collected_at = datetime.now(UTC)
    frame = snapshot_frame(rows, game.key, collected_at, collection_id)
    ids = list(frame["video_id"])
    previous_ids = candidates.known_ids | _previously_seen(warehouse, game.key, ids)
    return CollectionOutcome(
        rows=frame,
        collected_at=collected_at,
        sources={str(k): int(v) for k, v in frame["source"].value_counts().items()},
        new_videos=int((~frame["video_id"].isin(list(previous_ids))).sum()),
        chart_videos_seen=chart_seen,
        chart_videos_matched=chart_matched,
        fetched=fetched,
        content_hash=content_hash(zip(frame["video_id"], frame["view_count"], strict=True)),
        skipped=sum(client.skipped.values()),
        cached_keys=[chart_key(region, window.start) for region in settings.regions]
        + [f"{window.details.prefix}{vid}" for vid in ids]
        + [f"{window.stats.prefix}{vid}" for vid in ids],
    )


_ADDED = ("game_key", "collected_at", "collection_id", "source")


def _count(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _keep_fastest(
    now: datetime, budget: int, candidates: Sequence[tuple[str, int | None, Any]]
) -> set[str]:
    """Ids of the `budget` candidates with the most views per hour since publishing.

    Args:
        now: The collection time.
        budget: How many to keep.
        candidates: (video id, view count or None, published_at); the first of a repeated id
            counts.
    """
    rates: dict[str, float] = {}
    for video_id, views, published in candidates:
        if video_id in rates:
            continue
        hours = max((now - pd.Timestamp(published).to_pydatetime()).total_seconds() / 3600, 1.0)
        rates[video_id] = (views or 0) / hours
    ranked = sorted(rates, key=lambda vid: (-rates[vid], vid))
    return set(ranked[:budget])


def _previously_seen(warehouse: PostgresWarehouse, game_key: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = warehouse.fetch_dicts(
        b"SELECT DISTINCT video_id FROM video_snapshots WHERE game_key = %s AND video_id = ANY(%s)",
        (game_key, list(ids)),
    )
    return {r["video_id"] for r in rows}


def collect_channels(
    client: YouTubeClient,
    hot_tier: RedisHotTier,
    channel_ids: Sequence[str],
) -> tuple[list[Channel], int]:
    """The channels behind a snapshot's videos, each paid for at most once a day."""
    cache = RecordCache(hot_tier.client(), channel_prefix(), CHANNEL_CACHE_TTL_SECONDS)
    found, paid = cached_or_fetched(
        cache, channel_ids, Channel, lambda ids: _channels_many(client, ids), lambda c: c.channel_id
    )
    return list(found.values()), paid


def _channels_many(client: YouTubeClient, ids: list[str]) -> list[Channel]:
    channels: list[Channel] = []
    for start in range(0, len(ids), 50):
        # Stamped as they arrive: the cache hands these counts to collections for a day, and
        # channel growth is measured between the times YouTube counted, not collection times.
        fetched_at = datetime.now(UTC)
        channels.extend(
            c.model_copy(update={"fetched_at": fetched_at})
            for c in client.channels(ids[start : start + 50])
        )
    return channels


def collection_scope(
    game_key: str, collection_id: str, collected_at: datetime, previous: CollectionState | None
) -> RowScope:
    """The rows a collection's write replaces: its own, found through the primary key.

    A collection's rows share one `collected_at`. A re-execution of the collection (same id, a
    later time) replaces the rows of the earlier attempt, whose time the game's state records
    when it was the game's latest collection; the range from there to now holds only this
    game's latest collections, so the delete reads a few rows of the primary key instead of
    needing an index by collection.
    """
    since = collected_at
    if previous is not None and previous.last_collection_id == collection_id:
        since = min(since, previous.last_collected_at or since)
    return RowScope(
        equals={"game_key": game_key, "collection_id": collection_id},
        time_column="collected_at",
        start=since,
        end=collected_at + timedelta(microseconds=1),
    )


def snapshot_writes(
    outcome: CollectionOutcome,
    channels: Sequence[Channel],
    game_key: str,
    collection_id: str,
    previous: CollectionState | None,
) -> list[TableWrite]:
    """The snapshot, its channels and the game's new state, as one atomic write."""
    month = date(outcome.collected_at.year, outcome.collected_at.month, 1)
    outcome.changed = previous is None or previous.last_content_hash != outcome.content_hash
    scope = collection_scope(game_key, collection_id, outcome.collected_at, previous)
    channel_rows = [
        (
            c.channel_id,
            game_key,
            outcome.collected_at,
            collection_id,
            c.title,
            c.published_at,
            c.country,
            c.subscriber_count,
            c.video_count,
            c.view_count,
            c.fetched_at,
        )
        for c in channels
    ]
    return [
        TableWrite(
            "video_snapshots",
            VIDEO_COLUMNS,
            frame_rows(outcome.rows, VIDEO_COLUMNS),
            scope,
            (month,),
        ),
        TableWrite("channel_snapshots", CHANNEL_COLUMNS, channel_rows, scope, (month,)),
        state_write(
            game_key,
            "youtube",
            outcome.collected_at,
            collection_id,
            outcome.content_hash,
            len(outcome.rows),
            previous,
        ),
    ]


def hot_tier_snapshot(outcome: CollectionOutcome, game_key: str) -> dict[str, Any]:
    """The hot tier's value for the game: its latest snapshot as JSON."""
    videos = outcome.rows.astype(object).where(outcome.rows.notna(), None).to_dict("records")
    return {
        "game_key": game_key,
        "collected_at": outcome.collected_at,
        "video_count": len(videos),
        "content_hash": outcome.content_hash,
        "videos": videos,
    }


def elapsed_since(start: float) -> float:
    """Seconds since a `time.perf_counter()` reading, rounded for metadata."""
    return round(time.perf_counter() - start, 3)


def hot_tier_write(hot_tier: RedisHotTier, game_key: str, outcome: CollectionOutcome) -> None:
    """Put the game's latest snapshot in the hot tier."""
    hot_tier.put_json(
        {snapshot_key("youtube", game_key): hot_tier_snapshot(outcome, game_key)},
        SNAPSHOT_TTL_SECONDS,
    )


def asset_metadata(
    outcome: CollectionOutcome, units: dict[str, int], seconds: float
) -> dict[str, Any]:
    """What the UI plots for a collection."""
    preview = outcome.rows.sort_values("view_count", ascending=False, na_position="last").head(10)
    table = preview[["video_id", "title", "view_count", "source", "is_short"]].to_markdown(
        index=False
    )
    matched_share = (
        outcome.chart_videos_matched / outcome.chart_videos_seen
        if outcome.chart_videos_seen
        else 0.0
    )
    return {
        # Rows this snapshot wrote to video_snapshots, where the UI looks for a row count.
        "dagster/row_count": len(outcome.rows),
        "videos": len(outcome.rows),
        "new_videos": outcome.new_videos,
        "chart_videos_seen": outcome.chart_videos_seen,
        "chart_share_matched": round(matched_share, 4),
        "units_default": units.get("default", 0),
        "units_search": units.get("search", 0),
        "units_batch_stats": units.get("batch_stats", 0),
        "content_hash": outcome.content_hash,
        "changed": outcome.changed,
        "channels": outcome.channels,
        "duration_seconds": seconds,
        "collected_at": outcome.collected_at.isoformat(),
        **{f"source_{k}": v for k, v in outcome.sources.items()},
        "preview": dg.MetadataValue.md(table or "(no videos)"),
    }
