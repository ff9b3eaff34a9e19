"""The check of `twitch_channels`, read from the stored rows of each game's latest collection.

`twitch_channels_are_the_games_broadcasters` (blocking): every channel and video row of the
collection belongs to a broadcaster with a stream snapshot of the game in the 24 hours before
it (the broadcasters were ranked from them), and no two channels share a rank. In the
collection's own run it checks that game; run alone, every game's latest collection.
"""

from collections.abc import Iterator

import dagster as dg

from intel_assets.defs.check_helpers import check_result, run_partition_key
from intel_assets.defs.collection.twitch_channels import TOP_WINDOW, twitch_channels
from intel_assets.resources.warehouse import PostgresWarehouse

OF_THE_GAME = dg.AssetCheckSpec(
    "twitch_channels_are_the_games_broadcasters",
    asset=twitch_channels,
    blocking=True,
    description="Every channel and video of the latest collection is a broadcaster with "
    "stream snapshots of the game in the day before it, and ranks are distinct.",
)

# Rows of each game's latest collection whose broadcaster had no stream snapshot of the game in
# the window before it, and ranks held by more than one channel.
_PROBLEMS = """
WITH latest AS (
    SELECT DISTINCT ON (game_key) game_key, collection_id, collected_at
    FROM twitch_channel_snapshots WHERE %s::text IS NULL OR game_key = %s
    ORDER BY game_key, collected_at DESC
),
rows AS (
    SELECT l.game_key, l.collected_at, 'channel' AS kind, c.broadcaster_id AS user_id
    FROM latest AS l JOIN twitch_channel_snapshots AS c USING (game_key, collection_id)
    UNION ALL
    SELECT l.game_key, l.collected_at, 'video', v.user_id
    FROM latest AS l JOIN twitch_video_snapshots AS v USING (game_key, collection_id)
)
SELECT r.game_key, r.kind || ' of ' || r.user_id || ': no stream snapshot of the game before'
    AS problem
FROM rows AS r WHERE NOT EXISTS (
    SELECT 1 FROM stream_snapshots AS s WHERE s.game_key = r.game_key AND s.user_id = r.user_id
        AND s.collected_at >= r.collected_at - %s AND s.collected_at < r.collected_at)
UNION ALL
SELECT c.game_key, 'rank ' || c.top_rank || ' held by ' || count(*) || ' channels'
FROM latest AS l JOIN twitch_channel_snapshots AS c USING (game_key, collection_id)
GROUP BY c.game_key, c.top_rank HAVING count(*) > 1
ORDER BY 1, 2
"""


@dg.multi_asset_check(specs=[OF_THE_GAME], can_subset=True, name="twitch_channels_checks")
def twitch_channels_checks(
    context: dg.AssetCheckExecutionContext, warehouse: PostgresWarehouse
) -> Iterator[dg.AssetCheckResult]:
    """The latest collection of the run's game (every game's when run alone)."""
    game = run_partition_key(context)
    rows = warehouse.fetch_dicts(_PROBLEMS, (game, game, TOP_WINDOW))
    problems = [f"{r['game_key']}: {r['problem']}" for r in rows]
    yield check_result(OF_THE_GAME, problems, {"games": dg.MetadataValue.text(game or "all")})
