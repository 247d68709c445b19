-- Taxi auto-dispatch: registered taxis, per-terminal dispatch settings and state, and the
-- dispatch records. Portable SQL: runs unchanged on SQLite and PostgreSQL (see README.md).

CREATE TABLE taxis (
    plate TEXT PRIMARY KEY NOT NULL,
    license_region TEXT NOT NULL,
    class TEXT NOT NULL,
    -- The region the driver chose for the shift; NULL until chosen (the licence region serves).
    service_region TEXT,
    blacklisted BOOLEAN NOT NULL,
    reason TEXT,
    -- The terminal whose lot last read the plate: where the driver app's pings go.
    terminal TEXT,
    restarts INTEGER NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- One row per terminal: its mode and the dispatcher's whole state as the core serialises it,
-- rewritten after each batch of changes so that a restarted actor resumes with places intact.
CREATE TABLE dispatch_terminals (
    terminal TEXT PRIMARY KEY NOT NULL,
    mode TEXT NOT NULL,
    snapshot TEXT,
    restarts INTEGER NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- Curb bays an operator set: per (terminal, region) for regional mode, scope 'all' for integrated.
CREATE TABLE dispatch_curb_slots (
    terminal TEXT NOT NULL,
    scope TEXT NOT NULL,
    slots INTEGER NOT NULL,
    PRIMARY KEY (terminal, scope)
);

-- Every dispatch event: arrivals, holds, calls, assignments (with their justification in
-- `detail`), pickups, no-shows, trips. `kind` is the event's message type (`dispatch.assigned`).
CREATE TABLE dispatch_records (
    id BIGINT PRIMARY KEY NOT NULL,
    terminal TEXT NOT NULL,
    kind TEXT NOT NULL,
    plate TEXT,
    request_id BIGINT,
    -- Requests and completed trips: the distance in metres.
    distance_m BIGINT,
    detail TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX dispatch_records_terminal ON dispatch_records (terminal, id);
CREATE INDEX dispatch_records_request ON dispatch_records (request_id);
CREATE INDEX dispatch_records_plate ON dispatch_records (plate, id);
