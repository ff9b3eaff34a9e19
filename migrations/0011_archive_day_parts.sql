-- Issue 20: the snapshot tables are archived as each UTC day closes, one Parquet part per table
-- and day, so the archive lags a day instead of a month. A row here means the part was written,
-- read back from the store and its row count and schema checked against Postgres; the monthly
-- archive compacts the month's current parts into the month file, and retention counts a day
-- as archived only through a row here whose object still has this row count.
CREATE TABLE intel_archive_parts (
    table_name TEXT NOT NULL,
    day DATE NOT NULL,
    object_url TEXT NOT NULL,
    row_count BIGINT NOT NULL CHECK (row_count >= 0),
    size_bytes BIGINT NOT NULL,
    schema_fingerprint TEXT NOT NULL,
    verified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, day)
);
