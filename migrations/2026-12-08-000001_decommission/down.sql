ALTER TABLE taxis DROP COLUMN decommissioned_ms;
ALTER TABLE devices DROP COLUMN decommissioned_ms;
ALTER TABLE clients DROP COLUMN decommissioned_ms;
