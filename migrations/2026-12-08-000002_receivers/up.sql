-- Alert receivers (issue #16): webhooks told of every alert change they are routed, from the
-- database, at least once and in order per alert, across a receiver outage and a restart.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see migrations/README.md).

-- A webhook: where it is, what it is sent (alerts at least as severe as `min_severity`, and
-- only of `kinds`, comma-separated, when set), and how its deliveries went.
CREATE TABLE alert_receivers (
    id BIGINT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    min_severity TEXT,
    kinds TEXT,
    created_ms BIGINT NOT NULL,
    last_success_ms BIGINT,
    last_error TEXT,
    last_error_ms BIGINT,
    failures INTEGER NOT NULL
);
CREATE UNIQUE INDEX alert_receivers_name ON alert_receivers (name);

-- One alert change for one receiver, written in the transaction of the change (as its outbox
-- row is), delivered in id order per receiver, retried with backoff until it is accepted.
-- `part` is the partition of the change (NULL for node-wide alerts): its owner delivers it.
CREATE TABLE alert_deliveries (
    id BIGINT PRIMARY KEY NOT NULL,
    receiver_id BIGINT NOT NULL,
    alert_id BIGINT NOT NULL,
    version INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    part INTEGER,
    payload TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    delivered_ms BIGINT
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (receiver_id, id) WHERE delivered_ms IS NULL;
