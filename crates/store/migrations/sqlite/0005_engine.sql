-- The escalation and notification engine (issue 4). Every wait is a row with a due time
-- (DESIGN §4): escalations per alert, pages (a user paged by an escalation step, running their
-- notification rules), and the outbox of deliveries. Workers claim due rows with a short lease;
-- unique keys make every step, page and delivery happen once.

-- What happened to an alert that matters to escalation: ack, unack, snooze (until_at), close.
CREATE TABLE alert_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    until_at INTEGER
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);

-- One escalation of an alert. origin 'route' is the row a new alert gets: the engine routes it
-- (responders, team routing rules) and replaces it by one row per policy. policy is a JSON
-- snapshot of the EscalationPolicy; started_at is run 0's start; planned_to is the end of the
-- window already planned; due_at NULL means finished.
CREATE TABLE alert_escalations (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    policy_id TEXT NOT NULL DEFAULT '',
    policy_name TEXT NOT NULL DEFAULT '',
    policy TEXT,
    started_at INTEGER NOT NULL,
    planned_to INTEGER,
    due_at INTEGER,
    lease_until INTEGER,
    lease_owner TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX alert_escalations_origin ON alert_escalations (alert_id, origin);
CREATE INDEX alert_escalations_due ON alert_escalations (due_at) WHERE due_at IS NOT NULL;

-- A user paged by an escalation step: their notification rules run from paged_at.
CREATE TABLE alert_pages (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    escalation_id TEXT NOT NULL,
    step_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    paged_at INTEGER NOT NULL,
    planned_to INTEGER,
    due_at INTEGER,
    lease_until INTEGER,
    lease_owner TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX alert_pages_step_user ON alert_pages (escalation_id, step_key, user_id);
CREATE INDEX alert_pages_due ON alert_pages (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX alert_pages_alert ON alert_pages (alert_id);

-- The outbox. key is the idempotency key; payload is the rendered message (JSON).
-- state: pending -> sending (deadline) -> sent | failed. next_attempt_at NULL when final.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    alert_id TEXT,
    user_id TEXT,
    username TEXT NOT NULL DEFAULT '',
    contact TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    deadline INTEGER,
    lease_owner TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE UNIQUE INDEX deliveries_key ON deliveries (key);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX deliveries_target ON deliveries (channel, target, sent_at);
CREATE INDEX deliveries_alert ON deliveries (alert_id);

-- Secrets every process sharing the database must agree on (signed links).
CREATE TABLE engine_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- OpsGenie maintenance windows (/v1/maintenance): rules is JSON
-- [{"state": "disabled"|"enabled", "entity": {"id": ..., "type": "integration"|"policy"}}].
CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    time_type TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER,
    rules TEXT NOT NULL DEFAULT '[]',
    cancelled_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX maintenance_windows_end ON maintenance_windows (end_at);
