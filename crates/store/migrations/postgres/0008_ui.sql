-- Web UI: passwords, sessions and the sign-in failure counter.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- A signed-in browser. Only the SHA-256 of the cookie's token is stored, so a copy of the
-- database does not sign anyone in. `csrf_token` goes into every form the session is shown.
CREATE TABLE ui_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);

-- Failed sign-ins per (lower-cased) username, known or not; durable so a restart does not
-- reset a lockout.
CREATE TABLE ui_login_failures (
    username TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
