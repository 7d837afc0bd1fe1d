CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    full_name TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'user',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'user',
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    key_hash TEXT NOT NULL,
    default_priority TEXT,
    default_tags TEXT NOT NULL DEFAULT '[]',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX integrations_name ON integrations (lower(name));
CREATE UNIQUE INDEX integrations_key_hash ON integrations (key_hash);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('alert_tiny_id', 0);
CREATE SEQUENCE alert_tiny_id_seq;

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    tiny_id BIGINT NOT NULL,
    alias TEXT NOT NULL,
    message TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    acknowledged BOOLEAN NOT NULL DEFAULT FALSE,
    is_seen BOOLEAN NOT NULL DEFAULT FALSE,
    snoozed BOOLEAN NOT NULL DEFAULT FALSE,
    snoozed_until BIGINT,
    count BIGINT NOT NULL DEFAULT 1,
    priority TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    entity TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    details TEXT NOT NULL DEFAULT '{}',
    actions TEXT NOT NULL DEFAULT '[]',
    responders TEXT NOT NULL DEFAULT '[]',
    visible_to TEXT NOT NULL DEFAULT '[]',
    team_ids TEXT NOT NULL DEFAULT '[]',
    integration_id TEXT NOT NULL DEFAULT '',
    integration_name TEXT NOT NULL DEFAULT '',
    integration_type TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_occurred_at BIGINT NOT NULL,
    ack_time BIGINT,
    close_time BIGINT,
    acknowledged_by TEXT,
    closed_by TEXT
);
-- At most one open alert per alias: the de-duplication rule, enforced by the database.
CREATE UNIQUE INDEX alerts_open_alias ON alerts (alias) WHERE status = 'open';
CREATE INDEX alerts_alias ON alerts (alias, created_at);
CREATE UNIQUE INDEX alerts_tiny_id ON alerts (tiny_id);
CREATE INDEX alerts_created_at ON alerts (created_at);
CREATE INDEX alerts_status_created ON alerts (status, created_at);
CREATE INDEX alerts_snoozed_until ON alerts (snoozed_until) WHERE snoozed_until IS NOT NULL;

CREATE TABLE alert_logs (
    seq BIGSERIAL PRIMARY KEY,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    log TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_logs_alert ON alert_logs (alert_id, seq);

CREATE TABLE alert_notes (
    seq BIGSERIAL PRIMARY KEY,
    alert_id TEXT NOT NULL,
    note TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_notes_alert ON alert_notes (alert_id, seq);

CREATE TABLE alert_recipients (
    alert_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    state TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, user_id)
);

CREATE TABLE alert_requests (
    request_id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    alert_id TEXT NOT NULL DEFAULT '',
    alias TEXT NOT NULL DEFAULT '',
    integration_id TEXT NOT NULL DEFAULT '',
    processed_at BIGINT NOT NULL
);
