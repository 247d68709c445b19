-- The supervision core: users, settings, clients, devices, transitions, alerts, commands, audit.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see migrations/README.md).

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE users (
    username TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    site TEXT,
    created_ms BIGINT NOT NULL
);

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    site TEXT,
    zone TEXT,
    lane TEXT,
    standby_id TEXT,
    heartbeat_interval_ms BIGINT NOT NULL,
    miss_tolerance INTEGER NOT NULL,
    auto_failover BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    state_since_ms BIGINT NOT NULL,
    last_seen_ms BIGINT,
    restarts INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX devices_client_id ON devices (client_id);

CREATE TABLE device_transitions (
    id BIGINT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX device_transitions_device ON device_transitions (device_id, at_ms);

CREATE TABLE alerts (
    id BIGINT PRIMARY KEY NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    count INTEGER NOT NULL,
    detail TEXT,
    opened_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    acked_by TEXT,
    acked_ms BIGINT,
    ack_note TEXT,
    resolved_by TEXT,
    resolved_ms BIGINT,
    suppressed_by BIGINT,
    version INTEGER NOT NULL
);
-- At most one open (not resolved) alert per subject and kind.
CREATE UNIQUE INDEX alerts_one_open ON alerts (subject_type, subject_id, kind) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts (state, id);

CREATE TABLE commands (
    id BIGINT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices (id),
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    issued_by TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX commands_device ON commands (device_id, id);

CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY NOT NULL,
    at_ms BIGINT NOT NULL,
    principal TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT
);
