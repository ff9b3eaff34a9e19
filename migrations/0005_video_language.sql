-- A video's language, resolved once when a collection stores its snapshot (regional analysis'
-- rule: the audio language, else the metadata language, else detected from title and
-- description), so the hourly rollup and the analyzers read it instead of detecting text again
-- for every hour and every run. `language_source` says where it came from; NULL marks rows
-- written before this migration, which readers still resolve themselves.

ALTER TABLE video_snapshots
    ADD COLUMN language TEXT,                   -- ISO 639-1; null when it cannot be told
    ADD COLUMN language_source TEXT
        CHECK (language_source IN ('audio', 'default', 'detected', 'unknown'));

-- Finds the rows written before this migration in a time window without reading the window;
-- it stays empty for rows written since, so collections pay nothing to maintain it.
CREATE INDEX video_snapshots_language_unresolved ON video_snapshots (collected_at)
    WHERE language_source IS NULL;

-- Collection also finds videos through the uploads playlists of channels it tracks.
COMMENT ON COLUMN video_snapshots.source IS
    'How the video was found: chart, search, tracked (refreshed from an earlier snapshot) or '
    'uploads (the uploads playlist of a channel the games track)';
