-- Day-two accounts (issue #16): users can be disabled, and tokens can be revoked.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (see migrations/README.md).

-- A disabled user cannot log in, and every token it holds is refused (HTTP and STOMP alike).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- Every token of `subject` (`user:{username}`, `client:{id}`, `taxi:{plate}`) issued before
-- `before_ms` is refused, and a refused caller is told `reason`. Only moves forward. Each node
-- reads this table to refuse on its own.
CREATE TABLE token_revocations (
    subject TEXT PRIMARY KEY NOT NULL,
    before_ms BIGINT NOT NULL,
    reason TEXT NOT NULL
);
