"""Discovery of new uploads through the uploads playlists of the channels games already track.

Charts bring only what is popular and `search.list` has a bucket of 100 units a day, so a
game's tracked videos would dwindle as they age out of `tracked_days`. Creators who made a
game's videos tend to make more, and reading a channel's uploads playlist costs 1 unit of the
default bucket for its newest 50 videos. Once per collection window, the first collection:

1. takes the channels behind every game's latest snapshot, weighted by how many (game, video)
   pairs they account for (`followed_channels`);
2. picks the `playlists` channels most worth a look: weight x hours since their last look,
   so productive channels are read often and the rest in turn (`choose_channels`);
3. reads one page of each uploads playlist (`UU` + the channel id after `UC`, or the playlist
   the channel's cached record names) and keeps the uploads published since that channel's last
   look and within `tracked_days`, skipping videos a game already tracks;
4. fetches their details once (the shared details cache) and matches each video to games by
   the catalog rules; the matches are kept per game in Redis for `tracked_days`, so a game
   collected later than this window still finds them.

A game's collection then offers its discovered videos to its video budget like any tracked
video; their statistics are refreshed through `videos.batchGetStats` unless this window already
has them.

Redis keys (with a TTL; built in `intel_assets.resources.redis_keys`):
- `uploads_sweep_key(window)`: the sweep of a window (its counts), made once per window.
- `UPLOADS_LOOKED_KEY`: channel id to the epoch second its playlist was last read.
- `discovered_key(game)`: video id to the video's record, for videos matched to the game.
"""

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import redis

from intel_assets.catalog import Catalog
from intel_assets.defs.collection.state import (
    CollectionWindow,
    RecordCache,
    cached_or_fetched,
    shared_value,
)
from intel_assets.resources.errors import RequestRejectedError
from intel_assets.resources.redis_keys import (
    CHANNEL_CACHE_TTL_SECONDS,
    UPLOADS_LOOKED_KEY,
    channel_prefix,
    discovered_key,
    uploads_sweep_key,
)
from intel_assets.resources.warehouse import PostgresWarehouse
from intel_assets.resources.youtube import YouTubeClient
from intel_assets.resources.youtube_models import Channel, Video, VideoStats


@dataclass(frozen=True)
class SweepCounts:
    """What one window's sweep did.

    Attributes:
        playlists: Uploads playlists read (1 default unit each).
        unreadable: Playlists the API did not find (deleted channels), skipped.
        recent: Uploads on the pages published since the channel's last look.
        details_paid: Of those, videos whose details were paid for (videos.list, 50 a unit).
        matched: (game, video) pairs the catalog tied them to.
    """

    playlists: int = 0
    unreadable: int = 0
    recent: int = 0
    details_paid: int = 0
    matched: int = 0


def uploads_playlist_id(channel_id: str, channel: Channel | None = None) -> str:
    """A channel's uploads playlist: what its record names, else `UU` + the id after `UC`."""
    if channel is not None and channel.uploads_playlist_id:
        return channel.uploads_playlist_id
    return "UU" + channel_id[2:] if channel_id.startswith("UC") else channel_id


def followed_channels(
    warehouse: PostgresWarehouse, since: datetime
) -> tuple[dict[str, int], set[str]]:
    """The channels behind every game's latest YouTube snapshot, and the videos in them.

    Only videos published since `since` count: older ones are no longer tracked.

    Returns:
        Channel id to the (game, video) pairs of the latest snapshots it uploaded, and the ids
        of every video in those snapshots (already tracked: nothing to discover).
    """
    rows = warehouse.fetch_dicts(
        b"SELECT v.channel_id, v.video_id FROM video_snapshots v "
        b"JOIN intel_collection_state s ON s.source = 'youtube' AND s.game_key = v.game_key "
        # The state's time is the snapshot's: the primary key finds the rows directly.
        b"AND s.last_collected_at = v.collected_at AND s.last_collection_id = v.collection_id "
        b"WHERE v.collected_at >= %s AND v.published_at >= %s",
        (since, since),
    )
    weights = Counter(str(row["channel_id"]) for row in rows)
    return dict(weights), {row["video_id"] for row in rows}


def choose_channels(
    weights: Mapping[str, int],
    looked: Mapping[str, float],
    now: float,
    count: int,
    horizon_hours: float,
) -> list[str]:
    """The `count` channels most worth reading now.

    A channel's score is its weight times the hours since its playlist was last read, capped at
    `horizon_hours` (a channel never read counts the whole horizon): a channel behind many
    tracked videos is read often, the others in turn as their wait grows.

    Args:
        weights: Channel id to its (game, video) pairs in the latest snapshots.
        looked: Channel id to the epoch second it was last read.
        now: Epoch seconds now.
        count: How many to choose.
        horizon_hours: The longest wait that counts (the tracked period).

    Returns:
        Channel ids, best first (ties by id, so the choice is deterministic).
    """

    def score(channel: str) -> float:
        last = looked.get(channel)
        waited = horizon_hours if last is None else min((now - last) / 3600, horizon_hours)
        return weights[channel] * waited

    ranked = sorted((c for c in weights if score(c) > 0), key=lambda c: (-score(c), c))
    return ranked[: max(count, 0)]


def _stats_of(video: Video) -> VideoStats:
    """The counters a videos.list answer carried, as batchGetStats would give them."""
    return VideoStats(
        video_id=video.video_id,
        published_at=video.published_at,
        duration_seconds=video.duration_seconds,
        view_count=video.view_count,
        like_count=video.like_count,
        comment_count=video.comment_count,
    )


def _recent_uploads(
    client: YouTubeClient,
    redis_client: redis.Redis,
    chosen: Sequence[str],
    looked: Mapping[str, float],
    since: datetime,
    tracked_ids: Collection[str],
    log: Any,
) -> tuple[list[str], int, int]:
    """Ids of the chosen channels' uploads since each was last looked at, not yet tracked.

    Returns:
        The new uploads' ids (newest first per channel, each once), the playlists read and
        the playlists that were not found (skipped with a warning).
    """
    known_channels = RecordCache(
        redis_client, channel_prefix(), CHANNEL_CACHE_TTL_SECONDS
    ).get_many(list(chosen), Channel)
    recent: list[str] = []
    read, unreadable = 0, 0
    for channel_id in chosen:
        last = looked.get(channel_id)
        cutoff = since if last is None else max(since, datetime.fromtimestamp(last, since.tzinfo))
        playlist = uploads_playlist_id(channel_id, known_channels.get(channel_id))
        try:
            page = client.playlist_items(playlist)
        except RequestRejectedError as error:
            if error.status != 404:
                raise
            unreadable += 1
            log.warning(f"uploads playlist {playlist} of channel {channel_id} not found; skipped")
            continue
        read += 1
        # Newest first: one page holds the last 50 uploads, more than a channel makes between
        # two looks.
        recent.extend(
            item.video_id
            for item in page.items
            if item.video_published_at is not None
            and item.video_published_at > cutoff
            and item.video_id not in tracked_ids
        )
    return list(dict.fromkeys(recent)), read, unreadable


def _file_discoveries(
    redis_client: redis.Redis,
    catalog: Catalog,
    videos: Sequence[Video],
    chosen: Sequence[str],
    looked: Mapping[str, float],
    now: datetime,
    since: datetime,
    tracked_days: float,
) -> int:
    """File each video under the games it matches and stamp the channels looked at; matches.

    Writes Redis in one pipeline: each game's discovered uploads (`discovered_key`) and when
    each chosen channel was looked at (`UPLOADS_LOOKED_KEY`, forgetting channels not looked at
    within the tracked days), both kept for the tracked days.
    """
    horizon = max(math.ceil(tracked_days * 86_400), 1)
    pipe = redis_client.pipeline(transaction=False)
    matched = 0
    for video in videos:
        for game_key in catalog.games_of(video.title, video.tags, video.description):
            key = discovered_key(game_key)
            pipe.hset(key, video.video_id, video.model_dump_json())
            pipe.expire(key, horizon)
            matched += 1
    pipe.hset(UPLOADS_LOOKED_KEY, mapping=dict.fromkeys(chosen, now.timestamp()))
    stale = [c for c, at in looked.items() if at < since.timestamp()]
    if stale:
        pipe.hdel(UPLOADS_LOOKED_KEY, *stale)
    pipe.expire(UPLOADS_LOOKED_KEY, horizon)
    pipe.execute()
    return matched


def sweep_uploads(
    client: YouTubeClient,
    warehouse: PostgresWarehouse,
    catalog: Catalog,
    window: CollectionWindow,
    *,
    playlists: int,
    tracked_days: float,
    log: Any,
) -> SweepCounts:
    """Read the chosen uploads playlists and file new uploads under their games (see module)."""
    now, redis_client = window.started, window.redis_client
    since = now - timedelta(days=tracked_days)
    weights, tracked_ids = followed_channels(warehouse, since)
    looked = {
        str(k): float(v)
        for k, v in redis_client.hgetall(UPLOADS_LOOKED_KEY).items()  # type: ignore[union-attr]
    }
    chosen = choose_channels(weights, looked, now.timestamp(), playlists, tracked_days * 24)
    if not chosen:
        return SweepCounts()
    recent, read, unreadable = _recent_uploads(
        client, redis_client, chosen, looked, since, tracked_ids, log
    )
    details, paid = cached_or_fetched(
        window.details, recent, Video, client.videos_many, lambda v: v.video_id
    )
    window.stats.put_many({vid: _stats_of(v) for vid, v in details.items()})
    matched = _file_discoveries(
        redis_client, catalog, list(details.values()), chosen, looked, now, since, tracked_days
    )
    return SweepCounts(
        playlists=read,
        unreadable=unreadable,
        recent=len(recent),
        details_paid=paid,
        matched=matched,
    )


def window_sweep(
    client: YouTubeClient,
    warehouse: PostgresWarehouse,
    catalog: Catalog,
    window: CollectionWindow,
    *,
    playlists: int,
    tracked_days: float,
    log: Any,
) -> tuple[SweepCounts, bool]:
    """The window's sweep: made by the first collection of the window, shared by the others.

    Writes Redis only: the sweep's counts under `uploads_sweep_key` for the window (so the
    window's later collections find it made), and what `sweep_uploads` writes.

    Returns:
        The sweep's counts and whether this call made (and paid for) it.
    """
    if playlists <= 0:
        return SweepCounts(), False
    value, made = shared_value(
        window.redis_client,
        uploads_sweep_key(window.start),
        window.ttl,
        lambda: asdict(
            sweep_uploads(
                client,
                warehouse,
                catalog,
                window,
                playlists=playlists,
                tracked_days=tracked_days,
                log=log,
            )
        ),
    )
    return SweepCounts(**value), made


def discovered_videos(redis_client: redis.Redis, game_key: str, since: datetime) -> list[Video]:
    """The uploads sweeps matched to the game that were published since `since`.

    Older ones are dropped from Redis on the way (they are no longer tracked).
    """
    key = discovered_key(game_key)
    raw: dict[Any, Any] = redis_client.hgetall(key)  # type: ignore[assignment]
    videos: list[Video] = []
    old: list[Any] = []
    for field, value in raw.items():
        video = Video.model_validate_json(value)
        if video.published_at >= since:
            videos.append(video)
        else:
            old.append(field)
    if old:
        redis_client.hdel(key, *old)
    return sorted(videos, key=lambda v: v.video_id)
