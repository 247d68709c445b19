DROP TABLE token_revocations;
ALTER TABLE users DROP COLUMN disabled;
