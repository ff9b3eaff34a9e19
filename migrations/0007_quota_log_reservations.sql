-- Every spend row of intel_quota_log names the reservation it logs, once. The quota ledger in
-- Redis is the record of every spend: each reservation (and each refund) is appended to a Redis
-- stream in the same Lua script that counts it, and the stream is drained into this table.
-- A drain that is repeated (its process died after the COPY, before it trimmed the stream)
-- inserts nothing twice, so the table and the Redis counters always agree.
ALTER TABLE intel_quota_log ADD COLUMN reservation_id TEXT;

UPDATE intel_quota_log SET reservation_id = metadata ->> 'reservation'
WHERE metadata ? 'reservation';

CREATE UNIQUE INDEX intel_quota_log_reservation ON intel_quota_log (reservation_id);
