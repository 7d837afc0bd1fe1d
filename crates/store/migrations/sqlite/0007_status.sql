-- Status pages and health checks (issue 6). Instants are unix milliseconds; JSON is text.
-- Due rows: `status_incidents.next_transition_at` (scheduled maintenance moving by itself)
-- and `health_check_state.next_run_at` (the next run of a check).

CREATE TABLE status_pages (
    id TEXT PRIMARY KEY,              -- the slug used in URLs
    name TEXT NOT NULL,
    host TEXT,
    branding TEXT NOT NULL DEFAULT '{}',
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_pages_host ON status_pages (lower(host)) WHERE host IS NOT NULL;

-- Components and component groups (a group is a component with is_group, as in Statuspage's
-- component list).
CREATE TABLE status_components (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    is_group BOOLEAN NOT NULL DEFAULT FALSE,
    group_id TEXT REFERENCES status_components (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'operational',
    showcase BOOLEAN NOT NULL DEFAULT TRUE,
    only_show_if_degraded BOOLEAN NOT NULL DEFAULT FALSE,
    managed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_components_name ON status_components (page_id, is_group, lower(name));

-- Every status a component took, from its creation on: the source of the uptime figures.
CREATE TABLE status_component_history (
    id TEXT PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES status_components (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX status_component_history_at ON status_component_history (component_id, at);

-- Incidents and scheduled maintenances.
CREATE TABLE status_incidents (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL DEFAULT 'none',
    impact_override TEXT,
    scheduled_for INTEGER,
    scheduled_until INTEGER,
    auto_in_progress BOOLEAN NOT NULL DEFAULT FALSE,
    auto_completed BOOLEAN NOT NULL DEFAULT FALSE,
    auto_maintenance_state BOOLEAN NOT NULL DEFAULT FALSE,
    auto_operational_state BOOLEAN NOT NULL DEFAULT FALSE,
    next_transition_at INTEGER,
    postmortem_body TEXT,
    postmortem_updated_at INTEGER,
    postmortem_published_at INTEGER,
    metadata TEXT NOT NULL DEFAULT '{}',
    health_check TEXT,
    monitoring_at INTEGER,
    resolved_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX status_incidents_page ON status_incidents (page_id, created_at);
CREATE INDEX status_incidents_due ON status_incidents (next_transition_at) WHERE next_transition_at IS NOT NULL;

CREATE TABLE status_incident_components (
    incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES status_components (id) ON DELETE CASCADE,
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE status_incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    affected_components TEXT NOT NULL DEFAULT '[]',
    deliver_notifications BOOLEAN NOT NULL DEFAULT TRUE,
    display_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX status_incident_updates_incident ON status_incident_updates (incident_id, created_at);

CREATE TABLE status_subscribers (
    id TEXT PRIMARY KEY,
    page_id TEXT NOT NULL REFERENCES status_pages (id) ON DELETE CASCADE,
    mode TEXT NOT NULL,               -- email | webhook
    email TEXT,
    endpoint TEXT,
    confirm_token TEXT NOT NULL,
    confirmed_at INTEGER,
    unsubscribed_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX status_subscribers_token ON status_subscribers (confirm_token);
CREATE INDEX status_subscribers_page ON status_subscribers (page_id);

-- Health checks are declared in the config; their state lives here.
CREATE TABLE health_check_state (
    name TEXT PRIMARY KEY,
    next_run_at INTEGER,
    down BOOLEAN NOT NULL DEFAULT FALSE,
    failures INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    incident_id TEXT,
    last_run_at INTEGER,
    last_ok BOOLEAN,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX health_check_state_due ON health_check_state (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE health_check_results (
    check_name TEXT NOT NULL,
    at INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    latency_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT
);
CREATE INDEX health_check_results_at ON health_check_results (check_name, at);
