-- Transactional outbox: every alert change is written here in the same transaction as the
-- change, published after commit, and marked; at start, what a crash left unmarked is published
-- again (same alert id and version, so consumers drop duplicates).
CREATE TABLE outbox (
    id BIGINT PRIMARY KEY NOT NULL,
    topic TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    delivered_ms BIGINT
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_ms IS NULL;

-- When an unacknowledged critical alert was last notified, for re-notification.
ALTER TABLE alerts ADD COLUMN notified_ms BIGINT;
