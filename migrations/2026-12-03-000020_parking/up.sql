-- Parking control: the areas guidance cameras watch (site > zone > area). Counts are live
-- state and are not stored (like heartbeats); the areas are configuration and are.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see README.md).

CREATE TABLE parking_areas (
    id TEXT PRIMARY KEY NOT NULL,
    site TEXT NOT NULL,
    zone TEXT NOT NULL,
    -- Bays in the area as configured: what counts as unknown while its camera is down.
    total INTEGER NOT NULL,
    -- The guidance camera (a registered device) that reports the area.
    camera_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX parking_areas_site ON parking_areas (site, zone);
