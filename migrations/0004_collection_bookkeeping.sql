-- What the quota-aware sensor needs beyond the last success: how many collections of a game
-- failed in a row (it backs off), and the games discovered from Twitch's top games (they join
-- the catalog's games as partitions, with match rules derived from their Twitch name).

ALTER TABLE intel_collection_state
    ADD COLUMN failures_in_row INTEGER NOT NULL DEFAULT 0 CHECK (failures_in_row >= 0);

CREATE TABLE intel_discovered_games (
    game_key TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    twitch_game_id TEXT NOT NULL UNIQUE,
    twitch_rank INTEGER,                        -- rank in /games/top when it was discovered
    discovered_at TIMESTAMPTZ NOT NULL
);
