-- On-call schedules (issue 3): schedules, rotations and their participants, overrides, time off,
-- and per-user calendar feed tokens. Instants are unix milliseconds; JSON is text.

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    mode TEXT NOT NULL DEFAULT 'cumulative',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    -- Declared in the config file: read-only through the API.
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX schedules_name ON schedules (lower(name));

-- Rotations in layer order (`ordinal`): the last one is the highest layer.
CREATE TABLE schedule_rotations (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    ordinal BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    length BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT,
    time_restriction TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX schedule_rotations_name ON schedule_rotations (schedule_id, lower(name));
CREATE INDEX schedule_rotations_schedule ON schedule_rotations (schedule_id, ordinal);

-- One row per slot in turn order. A NULL user is OpsGenie's `none` (a gap); a deleted user's
-- slots become gaps, so everyone else keeps their turns.
CREATE TABLE schedule_participants (
    rotation_id TEXT NOT NULL REFERENCES schedule_rotations (id) ON DELETE CASCADE,
    ordinal BIGINT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    PRIMARY KEY (rotation_id, ordinal)
);
CREATE INDEX schedule_participants_user ON schedule_participants (user_id);

-- `rotation_ids` is a JSON list; empty means the whole schedule. A NULL user means nobody.
CREATE TABLE schedule_overrides (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    rotation_ids TEXT NOT NULL DEFAULT '[]',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX schedule_overrides_alias ON schedule_overrides (schedule_id, alias);
CREATE INDEX schedule_overrides_end ON schedule_overrides (schedule_id, end_at);

-- A user away; applies to every schedule. A NULL replacement leaves their shifts uncovered.
CREATE TABLE time_off (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    replacement_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX time_off_end ON time_off (end_at);
CREATE INDEX time_off_user ON time_off (user_id, start_at);

-- The secret of a user's calendar feed URL, stored hashed like API keys.
CREATE TABLE calendar_tokens (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX calendar_tokens_hash ON calendar_tokens (token_hash);
