-- The directory the escalation engine reads (issue 4): users' contact methods and notification
-- rules, escalation policies, team routing rules. Contacts and rules of a config-managed user
-- follow the file (they are replaced on every start); JSON is text, instants unix milliseconds.

CREATE TABLE contact_methods (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Unique per user; OpsGenie clients use UUIDs, config files short names ("push").
    id TEXT NOT NULL,
    method TEXT NOT NULL,
    address TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    ordinal BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);

CREATE TABLE notification_rules (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The core NotificationRule (criteria, steps, loopAfter, enabled) as JSON.
    rule TEXT NOT NULL,
    ordinal BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX notification_rules_name ON notification_rules (user_id, lower(name));

CREATE TABLE escalations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
    -- The core EscalationPolicy (rules with recipients by id, repeat) as JSON.
    policy TEXT NOT NULL,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX escalations_name ON escalations (lower(name));

CREATE TABLE team_routing_rules (
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    ordinal BIGINT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    criteria TEXT NOT NULL,
    time_restriction TEXT,
    time_zone TEXT,
    -- escalation | schedule | none; target_id is the escalation's or schedule's id.
    target_type TEXT NOT NULL,
    target_id TEXT,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX team_routing_rules_team ON team_routing_rules (team_id, ordinal);
