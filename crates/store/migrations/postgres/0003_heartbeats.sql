-- OpsGenie heartbeats (issue 5). `expires_at` is the due time of the expiry (NULL while
-- disabled or after it fired); the worker claims rows whose `expires_at` has passed, so a
-- restart loses nothing. Instants are unix milliseconds; JSON is text.

CREATE TABLE heartbeats (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    interval_ms BIGINT NOT NULL,
    interval_unit TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    owner_team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    alert_message TEXT NOT NULL DEFAULT '',
    alert_tags TEXT NOT NULL DEFAULT '[]',
    alert_priority TEXT NOT NULL DEFAULT 'P3',
    last_ping_at BIGINT,
    expires_at BIGINT,
    expired BOOLEAN NOT NULL DEFAULT FALSE,
    -- Declared in the config file: read-only through the API.
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX heartbeats_name ON heartbeats (lower(name));
CREATE INDEX heartbeats_expires_at ON heartbeats (expires_at) WHERE expires_at IS NOT NULL;
