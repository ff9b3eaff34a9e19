-- Issue 20: the only reader that finds snapshot rows by video is a collection's look-up of the
-- videos its game saw before (`video_id = ANY(...)` with the game), an equality on the video
-- id. A hash index answers it as the btree by (video_id, collected_at) did, and costs each
-- snapshot row less to maintain: its entry is a 4-byte hash, not the id and a time.
DROP INDEX IF EXISTS video_snapshots_video_time;
CREATE INDEX video_snapshots_video ON video_snapshots USING hash (video_id);
