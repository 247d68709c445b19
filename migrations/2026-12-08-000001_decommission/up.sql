-- Day-two edits (issue #16): clients, devices and taxis can be decommissioned. The row stays,
-- so its history (transitions, alerts, commands, dispatch records) keeps what it refers to;
-- a decommissioned row is no longer loaded, listed or supervised. Registering the same id or
-- plate again brings it back as new.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see migrations/README.md).

ALTER TABLE clients ADD COLUMN decommissioned_ms BIGINT;
ALTER TABLE devices ADD COLUMN decommissioned_ms BIGINT;
ALTER TABLE taxis ADD COLUMN decommissioned_ms BIGINT;
