-- Parking sessions from the lane cameras, the payments the kiosks took for them, and the
-- tariff of each zone that has its own (the rest use the built-in default).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see README.md).

CREATE TABLE parking_sessions (
    id BIGINT PRIMARY KEY NOT NULL,
    site TEXT NOT NULL,
    zone TEXT NOT NULL,
    entry_lane TEXT NOT NULL,
    -- The plate read at entry; NULL in ticket mode.
    plate TEXT,
    -- The printed ticket number in ticket mode.
    ticket TEXT,
    -- A plate read below the confidence threshold at entry.
    guess TEXT,
    entered_ms BIGINT NOT NULL,
    -- open | held | exited | lost
    state TEXT NOT NULL,
    paid BIGINT NOT NULL,
    paid_at_ms BIGINT,
    exit_lane TEXT,
    closed_ms BIGINT,
    fee BIGINT,
    last_at_ms BIGINT NOT NULL
);
CREATE INDEX parking_sessions_plate ON parking_sessions (plate);
CREATE INDEX parking_sessions_ticket ON parking_sessions (ticket);
CREATE INDEX parking_sessions_state ON parking_sessions (state);

CREATE TABLE parking_payments (
    id BIGINT PRIMARY KEY NOT NULL,
    session_id BIGINT NOT NULL REFERENCES parking_sessions (id),
    amount BIGINT NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    -- The request's Idempotency-Key: one payment per key, ever.
    idempotency_key TEXT NOT NULL UNIQUE,
    principal TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX parking_payments_session ON parking_payments (session_id);

CREATE TABLE parking_tariffs (
    zone TEXT PRIMARY KEY NOT NULL,
    free_minutes INTEGER NOT NULL,
    period_minutes INTEGER NOT NULL,
    rate_per_period BIGINT NOT NULL,
    -- NULL: no daily cap.
    daily_cap BIGINT,
    utc_offset_minutes INTEGER NOT NULL,
    updated_ms BIGINT NOT NULL
);
