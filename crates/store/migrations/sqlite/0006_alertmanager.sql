-- Alertmanager API v2 (issue 5): the Prometheus alerts Klaxon received, their aggregation
-- groups and silences. A group's `flush_at` is its due time (group_wait, then every
-- group_interval): the flush worker claims groups whose time has passed, so a restart loses
-- nothing. Instants are unix milliseconds; JSON is text.

CREATE TABLE am_alerts (
    fingerprint TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL DEFAULT '{}',
    starts_at INTEGER NOT NULL,
    -- Resolved from this instant on (given by the client, or now + resolve_timeout).
    ends_at INTEGER NOT NULL,
    generator_url TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);
CREATE INDEX am_alerts_ends_at ON am_alerts (ends_at);

CREATE TABLE am_groups (
    group_key TEXT PRIMARY KEY,
    -- The route's id in the tree (Route::id) and its receiver: a Klaxon team or escalation.
    route_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    group_labels TEXT NOT NULL DEFAULT '{}',
    -- The alias of the Klaxon alert the group forms.
    alias TEXT NOT NULL,
    flush_at INTEGER NOT NULL,
    -- Fingerprints of the members the Klaxon alert was last told about (JSON list).
    notified TEXT NOT NULL DEFAULT '[]',
    -- What held the group back at its last flush (silences, inhibitions), as said on the timeline.
    suppressed TEXT NOT NULL DEFAULT '',
    last_notified_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX am_groups_flush_at ON am_groups (flush_at);

CREATE TABLE am_group_alerts (
    group_key TEXT NOT NULL REFERENCES am_groups (group_key) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (group_key, fingerprint)
);
CREATE INDEX am_group_alerts_fingerprint ON am_group_alerts (fingerprint);

CREATE TABLE am_silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);
CREATE INDEX am_silences_ends_at ON am_silences (ends_at);
