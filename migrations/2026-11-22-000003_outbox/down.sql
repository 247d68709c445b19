DROP TABLE outbox;
ALTER TABLE alerts DROP COLUMN notified_ms;
