-- Twitch channel details and past broadcasts of each game's top broadcasters (issue 19), from
-- the asset twitch_channels[game]: GET /channels gives a broadcaster's language and tags,
-- GET /videos?user_id= their latest videos with views and length. One row per game, collection
-- and broadcaster (or video); a collection replaces its own rows.

CREATE TABLE twitch_channel_snapshots (
    game_key TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    collection_id TEXT NOT NULL,
    broadcaster_id TEXT NOT NULL,
    broadcaster_login TEXT,
    broadcaster_name TEXT,
    broadcaster_language TEXT,                  -- null when the channel sets none
    twitch_game_id TEXT,                        -- the category the channel is set to now
    twitch_game_name TEXT,
    title TEXT NOT NULL DEFAULT '',
    tags TEXT[] NOT NULL DEFAULT '{}',
    content_classification_labels TEXT[] NOT NULL DEFAULT '{}',
    is_branded_content BOOLEAN,
    top_rank INTEGER NOT NULL CHECK (top_rank >= 1),  -- rank among the game's broadcasters
    PRIMARY KEY (game_key, collected_at, broadcaster_id)
);

CREATE INDEX twitch_channel_snapshots_collection
    ON twitch_channel_snapshots (game_key, collection_id);
CREATE INDEX twitch_channel_snapshots_time ON twitch_channel_snapshots (collected_at);

CREATE TABLE twitch_video_snapshots (
    game_key TEXT NOT NULL,
    collected_at TIMESTAMPTZ NOT NULL,
    collection_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    stream_id TEXT,                             -- the broadcast an archive was recorded from
    user_id TEXT NOT NULL,
    user_login TEXT,
    user_name TEXT,
    title TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    view_count BIGINT CHECK (view_count >= 0),  -- null when Twitch sent none we could read
    language TEXT,
    video_type TEXT,                            -- archive, highlight or upload
    duration_seconds INTEGER NOT NULL CHECK (duration_seconds >= 0),
    PRIMARY KEY (game_key, collected_at, video_id)
);

CREATE INDEX twitch_video_snapshots_collection ON twitch_video_snapshots (game_key, collection_id);
CREATE INDEX twitch_video_snapshots_time ON twitch_video_snapshots (collected_at);
