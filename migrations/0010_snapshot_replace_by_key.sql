-- Issue 20: a YouTube collection writes every row with one collected_at, so its replace is
-- scoped by the primary key's leading (game_key, collected_at) and no longer needs an index by
-- collection. The collection's readers (the hot-tier rewrite, the latest-snapshot checks) also
-- name the collection's time, which the collection state records. Every index costs each
-- snapshot row an insert; this one cost about a fifth of a collection's write.
DROP INDEX IF EXISTS video_snapshots_collection;
