//! Status pages: pages, components (and groups), their status history, incidents with their
//! updates, scheduled maintenances, subscribers, and the state and results of health checks.
//!
//! Due rows: `status_incidents.next_transition_at` (a maintenance moving by itself) and
//! `health_check_state.next_run_at` (a check's next run). A claim moves the due time a lease
//! ahead in one statement, so two processes never take the same row and a process that dies
//! leaves a row that falls due again.
//!
//! The SQL is written once in `status_backend!`, compiled per backend like `backend!` in
//! `sql.rs`. Rules (impact, transitions, thresholds) are decided by the caller; this module
//! stores what it is told, in one transaction per change.

use crate::query_sql::Dialect;
use crate::{Db, Result, Store, StoreError};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub id: String,
    pub name: String,
    pub host: Option<String>,
    /// JSON: `{title, logo_url, colors{accent, background, text}}`.
    pub branding: String,
    pub managed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page declared in the config file, with its groups and components.
#[derive(Debug, Clone)]
pub struct PageDecl {
    pub id: String,
    pub name: String,
    pub host: Option<String>,
    pub branding: String,
    /// `(name, description)`.
    pub groups: Vec<(String, String)>,
    pub components: Vec<ComponentDecl>,
}

#[derive(Debug, Clone)]
pub struct ComponentDecl {
    pub name: String,
    pub description: String,
    pub group: Option<String>,
    pub only_show_if_degraded: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusComponent {
    pub id: String,
    pub page_id: String,
    pub is_group: bool,
    pub group_id: Option<String>,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub status: String,
    pub showcase: bool,
    pub only_show_if_degraded: bool,
    pub managed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A component's fields for create (all used) and update (`None` keeps the stored value).
#[derive(Debug, Clone, Default)]
pub struct ComponentFields {
    pub name: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` takes the component out of its group.
    pub group_id: Option<Option<String>>,
    pub status: Option<String>,
    pub showcase: Option<bool>,
    pub only_show_if_degraded: Option<bool>,
    pub position: Option<i64>,
    /// For groups: the member components (replaces the membership).
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentUpdate {
    pub id: String,
    pub incident_id: String,
    pub status: String,
    pub body: String,
    /// `[{code, name, old_status, new_status}]`
    pub affected_components: serde_json::Value,
    pub deliver_notifications: bool,
    pub display_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusIncident {
    pub id: String,
    pub page_id: String,
    pub name: String,
    pub status: String,
    pub impact: String,
    pub impact_override: Option<String>,
    pub scheduled_for: Option<i64>,
    pub scheduled_until: Option<i64>,
    pub auto_in_progress: bool,
    pub auto_completed: bool,
    pub auto_maintenance_state: bool,
    pub auto_operational_state: bool,
    pub next_transition_at: Option<i64>,
    pub postmortem_body: Option<String>,
    pub postmortem_updated_at: Option<i64>,
    pub postmortem_published_at: Option<i64>,
    pub metadata: serde_json::Value,
    pub health_check: Option<String>,
    pub monitoring_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The affected components, by id.
    pub component_ids: Vec<String>,
    /// Newest first, as Statuspage lists them.
    pub updates: Vec<IncidentUpdate>,
}

impl StatusIncident {
    pub fn is_maintenance(&self) -> bool {
        self.scheduled_for.is_some()
    }
}

/// A create (every `None` is a default) or a change (every `None` keeps the stored value) of
/// an incident. A change of status, body or component statuses adds an incident update.
#[derive(Debug, Clone, Default)]
pub struct IncidentWrite {
    pub name: Option<String>,
    pub status: Option<String>,
    pub impact: Option<String>,
    pub impact_override: Option<Option<String>>,
    pub body: Option<String>,
    /// New statuses for components; they join the affected set.
    pub component_statuses: Vec<(String, String)>,
    /// Replaces the affected set (before `component_statuses` are added).
    pub component_ids: Option<Vec<String>>,
    pub scheduled_for: Option<i64>,
    pub scheduled_until: Option<i64>,
    pub auto_in_progress: Option<bool>,
    pub auto_completed: Option<bool>,
    pub auto_maintenance_state: Option<bool>,
    pub auto_operational_state: Option<bool>,
    pub next_transition_at: Option<Option<i64>>,
    pub postmortem_body: Option<String>,
    pub postmortem_published: Option<bool>,
    pub metadata: Option<serde_json::Value>,
    pub health_check: Option<String>,
    pub deliver_notifications: Option<bool>,
    pub display_at: Option<i64>,
    /// Start time on create (Statuspage's backfill / `created_at`); default now.
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSubscriber {
    pub id: String,
    pub page_id: String,
    pub mode: String,
    pub email: Option<String>,
    pub endpoint: Option<String>,
    pub confirm_token: String,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
    pub created_at: i64,
}

/// One new incident update as committed, for telling a page's subscribers about it.
pub struct IncidentNotice<'a> {
    pub page: &'a StatusPage,
    /// The incident after the write, its updates newest first.
    pub incident: &'a StatusIncident,
    pub components: &'a [StatusComponent],
    /// The update that was just added.
    pub update: &'a IncidentUpdate,
    /// Whether the write created the incident.
    pub created: bool,
    /// Confirmed, subscribed subscribers of the page.
    pub subscribers: &'a [StatusSubscriber],
    pub now: i64,
}

/// Renders the outbox deliveries for one incident update.
pub type RenderDeliveries = dyn Fn(&IncidentNotice<'_>) -> Vec<crate::NewDelivery> + Send + Sync;

/// Turns incident updates into outbox deliveries for subscribers. The store calls `render`
/// inside the transaction that adds the update (so the update and its deliveries commit
/// together, or neither does) and `enqueued` after that transaction committed new ones.
pub struct StatusNotifier {
    pub render: Box<RenderDeliveries>,
    pub enqueued: Box<dyn Fn() + Send + Sync>,
}

/// A health check's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheckState {
    pub name: String,
    pub next_run_at: Option<i64>,
    pub down: bool,
    pub failures: i64,
    pub successes: i64,
    pub incident_id: Option<String>,
    pub last_run_at: Option<i64>,
    pub last_ok: Option<bool>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckResult {
    pub at: i64,
    pub ok: bool,
    pub latency_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid(what()),
        _ => StoreError::Db(e),
    }
}

const PAGE_SELECT: &str =
    "SELECT id, name, host, branding, managed, created_at, updated_at FROM status_pages";
type PageRow = (String, String, Option<String>, String, bool, i64, i64);
fn page_from_row(r: PageRow) -> StatusPage {
    StatusPage {
        id: r.0,
        name: r.1,
        host: r.2,
        branding: r.3,
        managed: r.4,
        created_at: r.5,
        updated_at: r.6,
    }
}

const COMPONENT_SELECT: &str = "SELECT id, page_id, is_group, group_id, name, description, \
    position, status, showcase, only_show_if_degraded, managed, created_at, updated_at \
    FROM status_components";
type ComponentRow = (
    String,
    String,
    bool,
    Option<String>,
    String,
    String,
    i64,
    String,
    bool,
    bool,
    bool,
    i64,
    i64,
);
fn component_from_row(r: ComponentRow) -> StatusComponent {
    StatusComponent {
        id: r.0,
        page_id: r.1,
        is_group: r.2,
        group_id: r.3,
        name: r.4,
        description: r.5,
        position: r.6,
        status: r.7,
        showcase: r.8,
        only_show_if_degraded: r.9,
        managed: r.10,
        created_at: r.11,
        updated_at: r.12,
    }
}

const INCIDENT_SELECT: &str = "SELECT id, page_id, name, status, impact, impact_override, \
    scheduled_for, scheduled_until, auto_in_progress, auto_completed, auto_maintenance_state, \
    auto_operational_state, next_transition_at, postmortem_body, postmortem_updated_at, \
    postmortem_published_at, metadata, health_check, monitoring_at, resolved_at, created_at, \
    updated_at FROM status_incidents";

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: String,
    page_id: String,
    name: String,
    status: String,
    impact: String,
    impact_override: Option<String>,
    scheduled_for: Option<i64>,
    scheduled_until: Option<i64>,
    auto_in_progress: bool,
    auto_completed: bool,
    auto_maintenance_state: bool,
    auto_operational_state: bool,
    next_transition_at: Option<i64>,
    postmortem_body: Option<String>,
    postmortem_updated_at: Option<i64>,
    postmortem_published_at: Option<i64>,
    metadata: String,
    health_check: Option<String>,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

fn incident_from_row(r: IncidentRow) -> Result<StatusIncident> {
    Ok(StatusIncident {
        metadata: serde_json::from_str(&r.metadata).map_err(|e| corrupt("incident metadata", e))?,
        id: r.id,
        page_id: r.page_id,
        name: r.name,
        status: r.status,
        impact: r.impact,
        impact_override: r.impact_override,
        scheduled_for: r.scheduled_for,
        scheduled_until: r.scheduled_until,
        auto_in_progress: r.auto_in_progress,
        auto_completed: r.auto_completed,
        auto_maintenance_state: r.auto_maintenance_state,
        auto_operational_state: r.auto_operational_state,
        next_transition_at: r.next_transition_at,
        postmortem_body: r.postmortem_body,
        postmortem_updated_at: r.postmortem_updated_at,
        postmortem_published_at: r.postmortem_published_at,
        health_check: r.health_check,
        monitoring_at: r.monitoring_at,
        resolved_at: r.resolved_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
        component_ids: vec![],
        updates: vec![],
    })
}

type UpdateRow = (String, String, String, String, String, bool, i64, i64, i64);
fn update_from_row(r: UpdateRow) -> Result<IncidentUpdate> {
    Ok(IncidentUpdate {
        id: r.0,
        incident_id: r.1,
        status: r.2,
        body: r.3,
        affected_components: serde_json::from_str(&r.4)
            .map_err(|e| corrupt("incident update components", e))?,
        deliver_notifications: r.5,
        display_at: r.6,
        created_at: r.7,
        updated_at: r.8,
    })
}

const SUBSCRIBER_SELECT: &str = "SELECT id, page_id, mode, email, endpoint, confirm_token, \
    confirmed_at, unsubscribed_at, created_at FROM status_subscribers";
type SubscriberRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);
fn subscriber_from_row(r: SubscriberRow) -> StatusSubscriber {
    StatusSubscriber {
        id: r.0,
        page_id: r.1,
        mode: r.2,
        email: r.3,
        endpoint: r.4,
        confirm_token: r.5,
        confirmed_at: r.6,
        unsubscribed_at: r.7,
        created_at: r.8,
    }
}

/// Which incidents a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentFilter {
    /// Everything, newest first (at most `limit`).
    All,
    /// Incidents (not maintenances) that are not resolved.
    Unresolved,
    /// Maintenances not completed.
    OpenMaintenance,
    /// Incidents and maintenances created since the instant.
    Since(i64),
}

macro_rules! status_backend {
    ($modname:ident, $db:ty, $dialect:expr) => {
        mod $modname {
            use super::*;

            type DB = $db;
            type Pool = sqlx::Pool<DB>;
            type Tx = sqlx::Transaction<'static, DB>;
            const DIALECT: Dialect = $dialect;

            async fn begin_write(pool: &Pool) -> Result<Tx> {
                Ok(match DIALECT {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                })
            }

            fn for_update() -> &'static str {
                match DIALECT { Dialect::Postgres => " FOR UPDATE", Dialect::Sqlite => "" }
            }

            // ---- pages and components ---------------------------------------------------

            pub async fn apply_pages(pool: &Pool, pages: &[PageDecl], now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                for p in pages {
                    sqlx::query("INSERT INTO status_pages (id, name, host, branding, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, $5, $5) \
                                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, host = excluded.host, branding = excluded.branding, managed = TRUE, updated_at = excluded.updated_at")
                        .bind(&p.id).bind(&p.name).bind(&p.host).bind(&p.branding).bind(now)
                        .execute(&mut *tx).await
                        .map_err(|e| unique(e, || format!("status page {:?}: host {:?} is used by another page", p.id, p.host)))?;
                    let mut group_ids = std::collections::HashMap::new();
                    for (pos, (name, description)) in p.groups.iter().enumerate() {
                        let id = upsert_component(&mut tx, &p.id, true, None, name, description, pos as i64, false, now).await?;
                        group_ids.insert(name.to_lowercase(), id);
                    }
                    for (pos, c) in p.components.iter().enumerate() {
                        let group = c.group.as_ref().and_then(|g| group_ids.get(&g.to_lowercase()).cloned());
                        upsert_component(&mut tx, &p.id, false, group, &c.name, &c.description, pos as i64, c.only_show_if_degraded, now).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            #[allow(clippy::too_many_arguments)]
            async fn upsert_component(tx: &mut Tx, page: &str, is_group: bool, group: Option<String>, name: &str, description: &str, position: i64, only_if_degraded: bool, now: i64) -> Result<String> {
                let found: Option<(String,)> = sqlx::query_as("SELECT id FROM status_components WHERE page_id = $1 AND is_group = $2 AND lower(name) = lower($3)")
                    .bind(page).bind(is_group).bind(name).fetch_optional(&mut **tx).await?;
                match found {
                    Some((id,)) => {
                        sqlx::query("UPDATE status_components SET name = $2, description = $3, group_id = $4, position = $5, only_show_if_degraded = $6, managed = TRUE, updated_at = $7 WHERE id = $1")
                            .bind(&id).bind(name).bind(description).bind(&group).bind(position).bind(only_if_degraded).bind(now)
                            .execute(&mut **tx).await?;
                        Ok(id)
                    }
                    None => {
                        let id = new_id();
                        sqlx::query("INSERT INTO status_components (id, page_id, is_group, group_id, name, description, position, only_show_if_degraded, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $9)")
                            .bind(&id).bind(page).bind(is_group).bind(&group).bind(name).bind(description).bind(position).bind(only_if_degraded).bind(now)
                            .execute(&mut **tx).await?;
                        if !is_group {
                            history(tx, &id, now, "operational").await?;
                        }
                        Ok(id)
                    }
                }
            }

            async fn history(tx: &mut Tx, component: &str, at: i64, status: &str) -> Result<()> {
                sqlx::query("INSERT INTO status_component_history (id, component_id, at, status) VALUES ($1, $2, $3, $4)")
                    .bind(new_id()).bind(component).bind(at).bind(status)
                    .execute(&mut **tx).await?;
                Ok(())
            }

            pub async fn pages(pool: &Pool) -> Result<Vec<StatusPage>> {
                let sql = format!("{PAGE_SELECT} ORDER BY id");
                let rows: Vec<PageRow> = sqlx::query_as(&sql).fetch_all(pool).await?;
                Ok(rows.into_iter().map(page_from_row).collect())
            }

            pub async fn page(pool: &Pool, id: &str) -> Result<Option<StatusPage>> {
                let sql = format!("{PAGE_SELECT} WHERE id = $1");
                let row: Option<PageRow> = sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
                Ok(row.map(page_from_row))
            }

            pub async fn page_by_host(pool: &Pool, host: &str) -> Result<Option<StatusPage>> {
                let sql = format!("{PAGE_SELECT} WHERE lower(host) = lower($1)");
                let row: Option<PageRow> = sqlx::query_as(&sql).bind(host).fetch_optional(pool).await?;
                Ok(row.map(page_from_row))
            }

            pub async fn update_page(pool: &Pool, id: &str, name: Option<&str>, branding: Option<&str>, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE status_pages SET name = COALESCE($2, name), branding = COALESCE($3, branding), updated_at = $4 WHERE id = $1")
                    .bind(id).bind(name).bind(branding).bind(now).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn components(pool: &Pool, page: &str) -> Result<Vec<StatusComponent>> {
                let sql = format!("{COMPONENT_SELECT} WHERE page_id = $1 ORDER BY is_group DESC, position, created_at, id");
                let rows: Vec<ComponentRow> = sqlx::query_as(&sql).bind(page).fetch_all(pool).await?;
                Ok(rows.into_iter().map(component_from_row).collect())
            }

            async fn component_tx(tx: &mut Tx, page: &str, id: &str) -> Result<Option<StatusComponent>> {
                let sql = format!("{COMPONENT_SELECT} WHERE page_id = $1 AND id = $2{}", for_update());
                let row: Option<ComponentRow> = sqlx::query_as(&sql).bind(page).bind(id).fetch_optional(&mut **tx).await?;
                Ok(row.map(component_from_row))
            }

            async fn check_group(tx: &mut Tx, page: &str, group: &Option<String>) -> Result<()> {
                if let Some(g) = group {
                    let found: Option<(String,)> = sqlx::query_as("SELECT id FROM status_components WHERE page_id = $1 AND id = $2 AND is_group")
                        .bind(page).bind(g).fetch_optional(&mut **tx).await?;
                    if found.is_none() {
                        return Err(StoreError::Invalid(format!("group_id {g:?} is not a component group of this page")));
                    }
                }
                Ok(())
            }

            async fn set_members(tx: &mut Tx, page: &str, group: &str, members: &[String], now: i64) -> Result<()> {
                for m in members {
                    match component_tx(tx, page, m).await? {
                        Some(c) if !c.is_group => {}
                        _ => return Err(StoreError::Invalid(format!("component {m:?} is not a component of this page"))),
                    }
                }
                sqlx::query("UPDATE status_components SET group_id = NULL, updated_at = $3 WHERE page_id = $1 AND group_id = $2")
                    .bind(page).bind(group).bind(now).execute(&mut **tx).await?;
                for m in members {
                    sqlx::query("UPDATE status_components SET group_id = $2, updated_at = $3 WHERE id = $1")
                        .bind(m).bind(group).bind(now).execute(&mut **tx).await?;
                }
                Ok(())
            }

            pub async fn create_component(pool: &Pool, page: &str, is_group: bool, f: &ComponentFields, now: i64) -> Result<StatusComponent> {
                let mut tx = begin_write(pool).await?;
                let group = f.group_id.clone().flatten();
                check_group(&mut tx, page, &group).await?;
                let position = match f.position {
                    Some(p) => p,
                    None => {
                        let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(position) FROM status_components WHERE page_id = $1 AND is_group = $2")
                            .bind(page).bind(is_group).fetch_one(&mut *tx).await?;
                        max.map_or(0, |m| m + 1)
                    }
                };
                let id = new_id();
                let name = f.name.clone().unwrap_or_default();
                let status = f.status.clone().unwrap_or_else(|| "operational".into());
                sqlx::query("INSERT INTO status_components (id, page_id, is_group, group_id, name, description, position, status, showcase, only_show_if_degraded, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, FALSE, $11, $11)")
                    .bind(&id).bind(page).bind(is_group).bind(&group).bind(&name)
                    .bind(f.description.clone().unwrap_or_default()).bind(position).bind(&status)
                    .bind(f.showcase.unwrap_or(true)).bind(f.only_show_if_degraded.unwrap_or(false)).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| unique(e, || format!("a {} named {name:?} already exists on this page", if is_group { "component group" } else { "component" })))?;
                if is_group {
                    if let Some(m) = &f.members {
                        set_members(&mut tx, page, &id, m, now).await?;
                    }
                } else {
                    history(&mut tx, &id, now, &status).await?;
                }
                let c = component_tx(&mut tx, page, &id).await?.ok_or_else(|| corrupt("component", "vanished"))?;
                tx.commit().await?;
                Ok(c)
            }

            pub async fn update_component(pool: &Pool, page: &str, id: &str, is_group: bool, f: &ComponentFields, now: i64) -> Result<Option<StatusComponent>> {
                let mut tx = begin_write(pool).await?;
                let Some(cur) = component_tx(&mut tx, page, id).await? else { return Ok(None) };
                if cur.is_group != is_group {
                    return Ok(None);
                }
                let group = match &f.group_id { Some(g) => g.clone(), None => cur.group_id.clone() };
                check_group(&mut tx, page, &group).await?;
                let name = f.name.clone().unwrap_or(cur.name.clone());
                let status = f.status.clone().unwrap_or(cur.status.clone());
                sqlx::query("UPDATE status_components SET name = $2, description = $3, group_id = $4, status = $5, showcase = $6, only_show_if_degraded = $7, position = $8, updated_at = $9 WHERE id = $1")
                    .bind(id).bind(&name).bind(f.description.clone().unwrap_or(cur.description.clone()))
                    .bind(&group).bind(&status).bind(f.showcase.unwrap_or(cur.showcase))
                    .bind(f.only_show_if_degraded.unwrap_or(cur.only_show_if_degraded))
                    .bind(f.position.unwrap_or(cur.position)).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| unique(e, || format!("a component named {name:?} already exists on this page")))?;
                if !is_group && status != cur.status {
                    history(&mut tx, id, now, &status).await?;
                }
                if is_group {
                    if let Some(m) = &f.members {
                        set_members(&mut tx, page, id, m, now).await?;
                    }
                }
                let c = component_tx(&mut tx, page, id).await?;
                tx.commit().await?;
                Ok(c)
            }

            pub async fn delete_component(pool: &Pool, page: &str, id: &str, is_group: bool) -> Result<bool> {
                let done = sqlx::query("DELETE FROM status_components WHERE page_id = $1 AND id = $2 AND is_group = $3")
                    .bind(page).bind(id).bind(is_group).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn history_since(pool: &Pool, page: &str, since: i64) -> Result<Vec<(String, i64, String)>> {
                // The last change before `since` sets the status at the window's start.
                let rows: Vec<(String, i64, String)> = sqlx::query_as(
                    "SELECT h.component_id, h.at, h.status FROM status_component_history h JOIN status_components c ON c.id = h.component_id \
                     WHERE c.page_id = $1 AND (h.at >= $2 OR h.id = (SELECT h2.id FROM status_component_history h2 WHERE h2.component_id = h.component_id AND h2.at < $2 ORDER BY h2.at DESC, h2.id DESC LIMIT 1)) \
                     ORDER BY h.component_id, h.at, h.id")
                    .bind(page).bind(since).fetch_all(pool).await?;
                Ok(rows)
            }

            pub async fn record_history(pool: &Pool, component: &str, at: i64, status: &str) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                history(&mut tx, component, at, status).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn import_history(pool: &Pool, rows: &[(String, i64, String)]) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                for chunk in rows.chunks(500) {
                    let mut sql = String::from("INSERT INTO status_component_history (id, component_id, at, status) VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 { sql.push(','); }
                        sql.push_str(&format!("(${}, ${}, ${}, ${})", i * 4 + 1, i * 4 + 2, i * 4 + 3, i * 4 + 4));
                    }
                    let mut q = sqlx::query(&sql);
                    for (c, at, st) in chunk {
                        q = q.bind(new_id()).bind(c).bind(*at).bind(st);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub async fn import_results(pool: &Pool, name: &str, rows: &[HealthCheckResult]) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                for chunk in rows.chunks(500) {
                    let mut sql = String::from("INSERT INTO health_check_results (check_name, at, ok, latency_ms, status_code, error) VALUES ");
                    for i in 0..chunk.len() {
                        if i > 0 { sql.push(','); }
                        let b = i * 6;
                        sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
                    }
                    let mut q = sqlx::query(&sql);
                    for r in chunk {
                        q = q.bind(name).bind(r.at).bind(r.ok).bind(r.latency_ms).bind(r.status_code).bind(&r.error);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            // ---- incidents --------------------------------------------------------------

            async fn load_incidents(pool: &Pool, rows: Vec<IncidentRow>) -> Result<Vec<StatusIncident>> {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut i = incident_from_row(r)?;
                    let comps: Vec<(String,)> = sqlx::query_as("SELECT ic.component_id FROM status_incident_components ic JOIN status_components c ON c.id = ic.component_id WHERE ic.incident_id = $1 ORDER BY c.position, c.name")
                        .bind(&i.id).fetch_all(pool).await?;
                    i.component_ids = comps.into_iter().map(|c| c.0).collect();
                    let ups: Vec<UpdateRow> = sqlx::query_as("SELECT id, incident_id, status, body, affected_components, deliver_notifications, display_at, created_at, updated_at FROM status_incident_updates WHERE incident_id = $1 ORDER BY created_at DESC, id DESC")
                        .bind(&i.id).fetch_all(pool).await?;
                    i.updates = ups.into_iter().map(update_from_row).collect::<Result<_>>()?;
                    out.push(i);
                }
                Ok(out)
            }

            pub async fn incidents(pool: &Pool, page: &str, filter: IncidentFilter, limit: i64) -> Result<Vec<StatusIncident>> {
                let (cond, since) = match filter {
                    IncidentFilter::All => ("", 0),
                    IncidentFilter::Unresolved => (" AND scheduled_for IS NULL AND status NOT IN ('resolved', 'postmortem', 'completed')", 0),
                    IncidentFilter::OpenMaintenance => (" AND scheduled_for IS NOT NULL AND status NOT IN ('resolved', 'postmortem', 'completed')", 0),
                    IncidentFilter::Since(t) => (" AND created_at >= $3", t),
                };
                let sql = format!("{INCIDENT_SELECT} WHERE page_id = $1{cond} ORDER BY COALESCE(scheduled_for, created_at) DESC, id DESC LIMIT $2");
                let mut q = sqlx::query_as::<_, IncidentRow>(&sql).bind(page).bind(limit);
                if matches!(filter, IncidentFilter::Since(_)) {
                    q = q.bind(since);
                }
                let rows = q.fetch_all(pool).await?;
                load_incidents(pool, rows).await
            }

            pub async fn incident(pool: &Pool, page: &str, id: &str) -> Result<Option<StatusIncident>> {
                let sql = format!("{INCIDENT_SELECT} WHERE page_id = $1 AND id = $2");
                let rows: Vec<IncidentRow> = sqlx::query_as(&sql).bind(page).bind(id).fetch_all(pool).await?;
                Ok(load_incidents(pool, rows).await?.into_iter().next())
            }

            /// Applies component statuses and returns the affected-components record.
            async fn apply_component_statuses(tx: &mut Tx, page: &str, incident: &str, w: &IncidentWrite, now: i64) -> Result<serde_json::Value> {
                if let Some(ids) = &w.component_ids {
                    for c in ids {
                        if component_tx(tx, page, c).await?.filter(|c| !c.is_group).is_none() {
                            return Err(StoreError::Invalid(format!("component {c:?} is not a component of this page")));
                        }
                    }
                    sqlx::query("DELETE FROM status_incident_components WHERE incident_id = $1").bind(incident).execute(&mut **tx).await?;
                    for c in ids {
                        sqlx::query("INSERT INTO status_incident_components (incident_id, component_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                            .bind(incident).bind(c).execute(&mut **tx).await?;
                    }
                }
                let mut affected = Vec::new();
                for (c, status) in &w.component_statuses {
                    let Some(cur) = component_tx(tx, page, c).await?.filter(|c| !c.is_group) else {
                        return Err(StoreError::Invalid(format!("component {c:?} is not a component of this page")));
                    };
                    sqlx::query("INSERT INTO status_incident_components (incident_id, component_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(incident).bind(c).execute(&mut **tx).await?;
                    if &cur.status != status {
                        sqlx::query("UPDATE status_components SET status = $2, updated_at = $3 WHERE id = $1")
                            .bind(c).bind(status).bind(now).execute(&mut **tx).await?;
                        history(tx, c, now, status).await?;
                    }
                    affected.push(json!({"code": c, "name": cur.name, "old_status": cur.status, "new_status": status}));
                }
                Ok(serde_json::Value::Array(affected))
            }

            async fn add_update(tx: &mut Tx, incident: &str, status: &str, body: &str, affected: &serde_json::Value, w: &IncidentWrite, now: i64) -> Result<String> {
                let id = new_id();
                sqlx::query("INSERT INTO status_incident_updates (id, incident_id, status, body, affected_components, deliver_notifications, display_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)")
                    .bind(&id).bind(incident).bind(status).bind(body).bind(affected.to_string())
                    .bind(w.deliver_notifications.unwrap_or(true)).bind(w.display_at.unwrap_or(now)).bind(now)
                    .execute(&mut **tx).await?;
                Ok(id)
            }

            /// Enqueues the deliveries that tell the page's subscribers about a new update,
            /// inside the transaction that added it. Returns how many were new.
            async fn notify_subscribers(tx: &mut Tx, page: &str, incident: &str, update: &str, created: bool, n: Option<&StatusNotifier>, now: i64) -> Result<u64> {
                let Some(n) = n else { return Ok(0) };
                let sql = format!("{SUBSCRIBER_SELECT} WHERE page_id = $1 AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL ORDER BY created_at, id");
                let subs: Vec<SubscriberRow> = sqlx::query_as(&sql).bind(page).fetch_all(&mut **tx).await?;
                if subs.is_empty() {
                    return Ok(0);
                }
                let subscribers: Vec<StatusSubscriber> = subs.into_iter().map(subscriber_from_row).collect();
                let sql = format!("{PAGE_SELECT} WHERE id = $1");
                let Some(p) = sqlx::query_as::<_, PageRow>(&sql).bind(page).fetch_optional(&mut **tx).await? else { return Ok(0) };
                let p = page_from_row(p);
                let sql = format!("{COMPONENT_SELECT} WHERE page_id = $1 ORDER BY is_group DESC, position, created_at, id");
                let rows: Vec<ComponentRow> = sqlx::query_as(&sql).bind(page).fetch_all(&mut **tx).await?;
                let components: Vec<StatusComponent> = rows.into_iter().map(component_from_row).collect();
                let sql = format!("{INCIDENT_SELECT} WHERE page_id = $1 AND id = $2");
                let Some(row) = sqlx::query_as::<_, IncidentRow>(&sql).bind(page).bind(incident).fetch_optional(&mut **tx).await? else { return Ok(0) };
                let mut i = incident_from_row(row)?;
                let comps: Vec<(String,)> = sqlx::query_as("SELECT ic.component_id FROM status_incident_components ic JOIN status_components c ON c.id = ic.component_id WHERE ic.incident_id = $1 ORDER BY c.position, c.name")
                    .bind(incident).fetch_all(&mut **tx).await?;
                i.component_ids = comps.into_iter().map(|c| c.0).collect();
                let ups: Vec<UpdateRow> = sqlx::query_as("SELECT id, incident_id, status, body, affected_components, deliver_notifications, display_at, created_at, updated_at FROM status_incident_updates WHERE incident_id = $1 ORDER BY created_at DESC, id DESC")
                    .bind(incident).fetch_all(&mut **tx).await?;
                i.updates = ups.into_iter().map(update_from_row).collect::<Result<_>>()?;
                let Some(u) = i.updates.iter().find(|u| u.id == update) else { return Ok(0) };
                let ds = (n.render)(&IncidentNotice { page: &p, incident: &i, components: &components, update: u, created, subscribers: &subscribers, now });
                crate::engine::$modname::insert_deliveries(tx, &ds, now).await
            }

            pub async fn create_incident(pool: &Pool, page: &str, w: &IncidentWrite, now: i64, n: Option<&StatusNotifier>) -> Result<(String, u64)> {
                let mut tx = begin_write(pool).await?;
                let id = new_id();
                let status = w.status.clone().unwrap_or_else(|| if w.scheduled_for.is_some() { "scheduled".into() } else { "investigating".into() });
                let created = w.created_at.unwrap_or(now);
                let closed = matches!(status.as_str(), "resolved" | "postmortem" | "completed");
                sqlx::query("INSERT INTO status_incidents (id, page_id, name, status, impact, impact_override, scheduled_for, scheduled_until, auto_in_progress, auto_completed, auto_maintenance_state, auto_operational_state, next_transition_at, postmortem_body, postmortem_updated_at, metadata, health_check, monitoring_at, resolved_at, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)")
                    .bind(&id).bind(page).bind(w.name.clone().unwrap_or_default()).bind(&status)
                    .bind(w.impact.clone().unwrap_or_else(|| "none".into())).bind(w.impact_override.clone().flatten())
                    .bind(w.scheduled_for).bind(w.scheduled_until)
                    .bind(w.auto_in_progress.unwrap_or(false)).bind(w.auto_completed.unwrap_or(false))
                    .bind(w.auto_maintenance_state.unwrap_or(false)).bind(w.auto_operational_state.unwrap_or(false))
                    .bind(w.next_transition_at.flatten())
                    .bind(&w.postmortem_body).bind(w.postmortem_body.as_ref().map(|_| now))
                    .bind(w.metadata.clone().unwrap_or(json!({})).to_string()).bind(&w.health_check)
                    .bind((status == "monitoring").then_some(now)).bind(closed.then_some(now))
                    .bind(created).bind(now)
                    .execute(&mut *tx).await?;
                let affected = apply_component_statuses(&mut tx, page, &id, w, now).await?;
                let update = add_update(&mut tx, &id, &status, w.body.as_deref().unwrap_or(""), &affected, w, now).await?;
                let enqueued = if w.deliver_notifications.unwrap_or(true) {
                    notify_subscribers(&mut tx, page, &id, &update, true, n, now).await?
                } else {
                    0
                };
                tx.commit().await?;
                Ok((id, enqueued))
            }

            /// `None` when there is no such incident.
            pub async fn update_incident(pool: &Pool, page: &str, id: &str, w: &IncidentWrite, now: i64, n: Option<&StatusNotifier>) -> Result<Option<u64>> {
                let mut tx = begin_write(pool).await?;
                let sql = format!("{INCIDENT_SELECT} WHERE page_id = $1 AND id = $2{}", for_update());
                let Some(cur) = sqlx::query_as::<_, IncidentRow>(&sql).bind(page).bind(id).fetch_optional(&mut *tx).await? else { return Ok(None) };
                let status = w.status.clone().unwrap_or(cur.status.clone());
                let status_changed = status != cur.status;
                let closed = matches!(status.as_str(), "resolved" | "postmortem" | "completed");
                let monitoring_at = if status_changed && status == "monitoring" { Some(now) } else { cur.monitoring_at };
                let resolved_at = if closed { cur.resolved_at.or(Some(now)) } else { None };
                let (pm_body, pm_at) = match &w.postmortem_body {
                    Some(b) => (Some(b.clone()), Some(now)),
                    None => (cur.postmortem_body.clone(), cur.postmortem_updated_at),
                };
                let pm_published = match w.postmortem_published {
                    Some(true) => cur.postmortem_published_at.or(Some(now)),
                    Some(false) => None,
                    None => cur.postmortem_published_at,
                };
                let metadata = match &w.metadata { Some(m) => m.to_string(), None => cur.metadata.clone() };
                sqlx::query("UPDATE status_incidents SET name = $3, status = $4, impact = $5, impact_override = $6, scheduled_for = $7, scheduled_until = $8, auto_in_progress = $9, auto_completed = $10, auto_maintenance_state = $11, auto_operational_state = $12, next_transition_at = $13, postmortem_body = $14, postmortem_updated_at = $15, postmortem_published_at = $16, metadata = $17, monitoring_at = $18, resolved_at = $19, updated_at = $20 WHERE page_id = $1 AND id = $2")
                    .bind(page).bind(id)
                    .bind(w.name.clone().unwrap_or(cur.name.clone())).bind(&status)
                    .bind(w.impact.clone().unwrap_or(cur.impact.clone()))
                    .bind(match &w.impact_override { Some(o) => o.clone(), None => cur.impact_override.clone() })
                    .bind(w.scheduled_for.or(cur.scheduled_for)).bind(w.scheduled_until.or(cur.scheduled_until))
                    .bind(w.auto_in_progress.unwrap_or(cur.auto_in_progress)).bind(w.auto_completed.unwrap_or(cur.auto_completed))
                    .bind(w.auto_maintenance_state.unwrap_or(cur.auto_maintenance_state)).bind(w.auto_operational_state.unwrap_or(cur.auto_operational_state))
                    .bind(match w.next_transition_at { Some(n) => n, None => cur.next_transition_at })
                    .bind(pm_body).bind(pm_at).bind(pm_published).bind(metadata)
                    .bind(monitoring_at).bind(resolved_at).bind(now)
                    .execute(&mut *tx).await?;
                let affected = apply_component_statuses(&mut tx, page, id, w, now).await?;
                let components_changed = affected.as_array().is_some_and(|a| !a.is_empty());
                let mut enqueued = 0;
                if status_changed || w.body.is_some() || components_changed {
                    let update = add_update(&mut tx, id, &status, w.body.as_deref().unwrap_or(""), &affected, w, now).await?;
                    if w.deliver_notifications.unwrap_or(true) {
                        enqueued = notify_subscribers(&mut tx, page, id, &update, false, n, now).await?;
                    }
                }
                tx.commit().await?;
                Ok(Some(enqueued))
            }

            #[allow(clippy::too_many_arguments)]
            pub async fn edit_update(pool: &Pool, page: &str, incident: &str, update: &str, body: Option<&str>, display_at: Option<i64>, deliver: Option<bool>, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE status_incident_updates SET body = COALESCE($4, body), display_at = COALESCE($5, display_at), deliver_notifications = COALESCE($6, deliver_notifications), updated_at = $7 \
                                        WHERE id = $3 AND incident_id = $2 AND incident_id IN (SELECT id FROM status_incidents WHERE page_id = $1)")
                    .bind(page).bind(incident).bind(update).bind(body).bind(display_at).bind(deliver).bind(now)
                    .execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn delete_incident(pool: &Pool, page: &str, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM status_incidents WHERE page_id = $1 AND id = $2")
                    .bind(page).bind(id).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn next_transition(pool: &Pool) -> Result<Option<i64>> {
                let (t,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_transition_at) FROM status_incidents WHERE next_transition_at IS NOT NULL")
                    .fetch_one(pool).await?;
                Ok(t)
            }

            /// Leases due maintenances: `(page, id)` of each, its due time moved to `lease_until`.
            pub async fn claim_transitions(pool: &Pool, now: i64, lease_until: i64, limit: i64) -> Result<Vec<(String, String)>> {
                let skip = match DIALECT { Dialect::Postgres => " FOR UPDATE SKIP LOCKED", Dialect::Sqlite => "" };
                let sql = format!(
                    "UPDATE status_incidents SET next_transition_at = $2 \
                     WHERE next_transition_at IS NOT NULL AND next_transition_at <= $1 AND id IN \
                     (SELECT id FROM status_incidents WHERE next_transition_at IS NOT NULL AND next_transition_at <= $1 ORDER BY next_transition_at LIMIT $3{skip}) \
                     RETURNING page_id, id");
                let mut tx = begin_write(pool).await?;
                let rows: Vec<(String, String)> = sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows)
            }

            // ---- subscribers -------------------------------------------------------------

            #[allow(clippy::too_many_arguments)]
            pub async fn create_subscriber(pool: &Pool, page: &str, mode: &str, email: Option<&str>, endpoint: Option<&str>, token: &str, confirmed: bool, now: i64) -> Result<StatusSubscriber> {
                let id = new_id();
                sqlx::query("INSERT INTO status_subscribers (id, page_id, mode, email, endpoint, confirm_token, confirmed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&id).bind(page).bind(mode).bind(email).bind(endpoint).bind(token).bind(confirmed.then_some(now)).bind(now)
                    .execute(pool).await?;
                let sql = format!("{SUBSCRIBER_SELECT} WHERE id = $1");
                let row: SubscriberRow = sqlx::query_as(&sql).bind(&id).fetch_one(pool).await?;
                Ok(subscriber_from_row(row))
            }

            pub async fn subscribers(pool: &Pool, page: &str) -> Result<Vec<StatusSubscriber>> {
                let sql = format!("{SUBSCRIBER_SELECT} WHERE page_id = $1 AND unsubscribed_at IS NULL ORDER BY created_at, id");
                let rows: Vec<SubscriberRow> = sqlx::query_as(&sql).bind(page).fetch_all(pool).await?;
                Ok(rows.into_iter().map(subscriber_from_row).collect())
            }

            pub async fn subscriber(pool: &Pool, page: &str, id: &str) -> Result<Option<StatusSubscriber>> {
                let sql = format!("{SUBSCRIBER_SELECT} WHERE page_id = $1 AND id = $2");
                let row: Option<SubscriberRow> = sqlx::query_as(&sql).bind(page).bind(id).fetch_optional(pool).await?;
                Ok(row.map(subscriber_from_row))
            }

            pub async fn unsubscribe(pool: &Pool, page: &str, id: &str, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE status_subscribers SET unsubscribed_at = $3 WHERE page_id = $1 AND id = $2 AND unsubscribed_at IS NULL")
                    .bind(page).bind(id).bind(now).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn unsubscribe_token(pool: &Pool, page: &str, token: &str, now: i64) -> Result<Option<StatusSubscriber>> {
                sqlx::query("UPDATE status_subscribers SET unsubscribed_at = COALESCE(unsubscribed_at, $3) WHERE page_id = $1 AND confirm_token = $2")
                    .bind(page).bind(token).bind(now).execute(pool).await?;
                let sql = format!("{SUBSCRIBER_SELECT} WHERE page_id = $1 AND confirm_token = $2");
                let row: Option<SubscriberRow> = sqlx::query_as(&sql).bind(page).bind(token).fetch_optional(pool).await?;
                Ok(row.map(subscriber_from_row))
            }

            pub async fn confirm_subscriber(pool: &Pool, page: &str, token: &str, now: i64) -> Result<Option<StatusSubscriber>> {
                sqlx::query("UPDATE status_subscribers SET confirmed_at = COALESCE(confirmed_at, $3) WHERE page_id = $1 AND confirm_token = $2 AND unsubscribed_at IS NULL")
                    .bind(page).bind(token).bind(now).execute(pool).await?;
                let sql = format!("{SUBSCRIBER_SELECT} WHERE page_id = $1 AND confirm_token = $2 AND unsubscribed_at IS NULL");
                let row: Option<SubscriberRow> = sqlx::query_as(&sql).bind(page).bind(token).fetch_optional(pool).await?;
                Ok(row.map(subscriber_from_row))
            }

            // ---- health checks -------------------------------------------------------------

            pub async fn sync_checks(pool: &Pool, names: &[String], now: i64) -> Result<Vec<HealthCheckState>> {
                let mut tx = begin_write(pool).await?;
                let have: Vec<(String, Option<i64>, bool, i64, i64, Option<String>, Option<i64>, Option<bool>, Option<String>)> = sqlx::query_as(
                    "SELECT name, next_run_at, down, failures, successes, incident_id, last_run_at, last_ok, last_error FROM health_check_state")
                    .fetch_all(&mut *tx).await?;
                let mut removed = Vec::new();
                for r in have {
                    if !names.contains(&r.0) {
                        sqlx::query("DELETE FROM health_check_state WHERE name = $1").bind(&r.0).execute(&mut *tx).await?;
                        removed.push(HealthCheckState { name: r.0, next_run_at: r.1, down: r.2, failures: r.3, successes: r.4, incident_id: r.5, last_run_at: r.6, last_ok: r.7, last_error: r.8 });
                    }
                }
                for n in names {
                    sqlx::query("INSERT INTO health_check_state (name, next_run_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO UPDATE SET next_run_at = COALESCE(health_check_state.next_run_at, excluded.next_run_at)")
                        .bind(n).bind(now).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            pub async fn next_check(pool: &Pool) -> Result<Option<i64>> {
                let (t,): (Option<i64>,) = sqlx::query_as("SELECT MIN(next_run_at) FROM health_check_state WHERE next_run_at IS NOT NULL")
                    .fetch_one(pool).await?;
                Ok(t)
            }

            pub async fn claim_checks(pool: &Pool, now: i64, lease_until: i64, limit: i64) -> Result<Vec<String>> {
                let skip = match DIALECT { Dialect::Postgres => " FOR UPDATE SKIP LOCKED", Dialect::Sqlite => "" };
                let sql = format!(
                    "UPDATE health_check_state SET next_run_at = $2 \
                     WHERE next_run_at IS NOT NULL AND next_run_at <= $1 AND name IN \
                     (SELECT name FROM health_check_state WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $3{skip}) \
                     RETURNING name");
                let mut tx = begin_write(pool).await?;
                let rows: Vec<(String,)> = sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows.into_iter().map(|r| r.0).collect())
            }

            pub async fn check_state(pool: &Pool, name: &str) -> Result<Option<HealthCheckState>> {
                let row: Option<(String, Option<i64>, bool, i64, i64, Option<String>, Option<i64>, Option<bool>, Option<String>)> = sqlx::query_as(
                    "SELECT name, next_run_at, down, failures, successes, incident_id, last_run_at, last_ok, last_error FROM health_check_state WHERE name = $1")
                    .bind(name).fetch_optional(pool).await?;
                Ok(row.map(|r| HealthCheckState { name: r.0, next_run_at: r.1, down: r.2, failures: r.3, successes: r.4, incident_id: r.5, last_run_at: r.6, last_ok: r.7, last_error: r.8 }))
            }

            pub async fn record_check(pool: &Pool, s: &HealthCheckState, r: &HealthCheckResult, keep_since: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                sqlx::query("INSERT INTO health_check_results (check_name, at, ok, latency_ms, status_code, error) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&s.name).bind(r.at).bind(r.ok).bind(r.latency_ms).bind(r.status_code).bind(&r.error)
                    .execute(&mut *tx).await?;
                sqlx::query("UPDATE health_check_state SET next_run_at = $2, down = $3, failures = $4, successes = $5, incident_id = $6, last_run_at = $7, last_ok = $8, last_error = $9, updated_at = $7 WHERE name = $1")
                    .bind(&s.name).bind(s.next_run_at).bind(s.down).bind(s.failures).bind(s.successes).bind(&s.incident_id)
                    .bind(r.at).bind(r.ok).bind(&r.error)
                    .execute(&mut *tx).await?;
                sqlx::query("DELETE FROM health_check_results WHERE check_name = $1 AND at < $2")
                    .bind(&s.name).bind(keep_since).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn check_results(pool: &Pool, name: &str, since: i64) -> Result<Vec<HealthCheckResult>> {
                let rows: Vec<(i64, bool, i64, Option<i64>, Option<String>)> = sqlx::query_as(
                    "SELECT at, ok, latency_ms, status_code, error FROM health_check_results WHERE check_name = $1 AND at >= $2 ORDER BY at")
                    .bind(name).bind(since).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|r| HealthCheckResult { at: r.0, ok: r.1, latency_ms: r.2, status_code: r.3, error: r.4 }).collect())
            }
        }
    };
}

status_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
status_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

impl Store {
    /// Counts status-page writes made through this store (pages, components, history,
    /// incidents): a cache of what a page shows is current while this has not moved.
    pub fn status_generation(&self) -> u64 {
        self.status_gen.load(std::sync::atomic::Ordering::Acquire)
    }

    fn status_changed(&self) {
        self.status_gen
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Installs what turns incident updates into subscriber deliveries (once per store; later
    /// calls are ignored). Without it, incident updates notify nobody.
    pub fn set_status_notifier(&self, n: StatusNotifier) {
        let _ = self.status_notifier.set(n);
    }

    /// Creates or updates the pages, groups and components declared in the config (by id and
    /// by name); objects created through the API are left alone.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply_status_pages(&self, pages: &[PageDecl], now: i64) -> Result<()> {
        let r = on_backend!(self, m, pool => m::apply_pages(pool, pages, now).await);
        self.status_changed();
        r
    }

    pub async fn status_pages(&self) -> Result<Vec<StatusPage>> {
        on_backend!(self, m, pool => m::pages(pool).await)
    }

    pub async fn status_page(&self, id: &str) -> Result<Option<StatusPage>> {
        on_backend!(self, m, pool => m::page(pool, id).await)
    }

    pub async fn status_page_by_host(&self, host: &str) -> Result<Option<StatusPage>> {
        on_backend!(self, m, pool => m::page_by_host(pool, host).await)
    }

    pub async fn update_status_page(
        &self,
        id: &str,
        name: Option<&str>,
        branding: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let r = on_backend!(self, m, pool => m::update_page(pool, id, name, branding, now).await);
        self.status_changed();
        r
    }

    /// Groups first, then components, each by position.
    pub async fn status_components(&self, page: &str) -> Result<Vec<StatusComponent>> {
        on_backend!(self, m, pool => m::components(pool, page).await)
    }

    /// A taken name or an unknown group is [`StoreError::Invalid`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_status_component(
        &self,
        page: &str,
        is_group: bool,
        f: &ComponentFields,
        now: i64,
    ) -> Result<StatusComponent> {
        let r =
            on_backend!(self, m, pool => m::create_component(pool, page, is_group, f, now).await);
        self.status_changed();
        r
    }

    /// `None` when the page has no such component (or group, per `is_group`). A status change
    /// is recorded in the history.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_status_component(
        &self,
        page: &str,
        id: &str,
        is_group: bool,
        f: &ComponentFields,
        now: i64,
    ) -> Result<Option<StatusComponent>> {
        let r = on_backend!(self, m, pool => m::update_component(pool, page, id, is_group, f, now).await);
        self.status_changed();
        r
    }

    pub async fn delete_status_component(
        &self,
        page: &str,
        id: &str,
        is_group: bool,
    ) -> Result<bool> {
        let r = on_backend!(self, m, pool => m::delete_component(pool, page, id, is_group).await);
        self.status_changed();
        r
    }

    /// `(component, at, status)` for the page's components from `since` on, each component's
    /// list starting with the status it had at `since`; sorted by component, then time.
    pub async fn status_history_since(
        &self,
        page: &str,
        since: i64,
    ) -> Result<Vec<(String, i64, String)>> {
        on_backend!(self, m, pool => m::history_since(pool, page, since).await)
    }

    /// Adds a history entry without changing the component (imports and tests of the uptime
    /// maths with known histories).
    pub async fn record_status_history(
        &self,
        component: &str,
        at: i64,
        status: &str,
    ) -> Result<()> {
        let r = on_backend!(self, m, pool => m::record_history(pool, component, at, status).await);
        self.status_changed();
        r
    }

    /// Bulk-inserts status history `(component, at, status)` in one transaction (imports and
    /// benchmarks).
    pub async fn import_status_history(&self, rows: &[(String, i64, String)]) -> Result<()> {
        let r = on_backend!(self, m, pool => m::import_history(pool, rows).await);
        self.status_changed();
        r
    }

    /// Bulk-inserts stored results of a health check in one transaction (imports, benchmarks).
    pub async fn import_health_check_results(
        &self,
        name: &str,
        rows: &[HealthCheckResult],
    ) -> Result<()> {
        on_backend!(self, m, pool => m::import_results(pool, name, rows).await)
    }

    pub async fn status_incidents(
        &self,
        page: &str,
        filter: IncidentFilter,
        limit: i64,
    ) -> Result<Vec<StatusIncident>> {
        on_backend!(self, m, pool => m::incidents(pool, page, filter, limit).await)
    }

    pub async fn status_incident(&self, page: &str, id: &str) -> Result<Option<StatusIncident>> {
        on_backend!(self, m, pool => m::incident(pool, page, id).await)
    }

    /// Creates an incident, its first update, and applies its component statuses, in one
    /// transaction. An unknown component is [`StoreError::Invalid`] and writes nothing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_status_incident(
        &self,
        page: &str,
        w: &IncidentWrite,
        now: i64,
    ) -> Result<String> {
        let n = self.status_notifier.get();
        let r = on_backend!(self, m, pool => m::create_incident(pool, page, w, now, n).await);
        self.status_changed();
        let (id, enqueued) = r?;
        if let (Some(n), true) = (n, enqueued > 0) {
            (n.enqueued)();
        }
        Ok(id)
    }

    /// Changes an incident (adding an update when its status, body or components change), in
    /// one transaction; `None` when there is no such incident.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_status_incident(
        &self,
        page: &str,
        id: &str,
        w: &IncidentWrite,
        now: i64,
    ) -> Result<Option<()>> {
        let n = self.status_notifier.get();
        let r = on_backend!(self, m, pool => m::update_incident(pool, page, id, w, now, n).await);
        self.status_changed();
        let done = r?;
        if let (Some(n), Some(1..)) = (n, done) {
            (n.enqueued)();
        }
        Ok(done.map(|_| ()))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn edit_status_incident_update(
        &self,
        page: &str,
        incident: &str,
        update: &str,
        body: Option<&str>,
        display_at: Option<i64>,
        deliver: Option<bool>,
        now: i64,
    ) -> Result<bool> {
        let r = on_backend!(self, m, pool => m::edit_update(pool, page, incident, update, body, display_at, deliver, now).await);
        self.status_changed();
        r
    }

    pub async fn delete_status_incident(&self, page: &str, id: &str) -> Result<bool> {
        let r = on_backend!(self, m, pool => m::delete_incident(pool, page, id).await);
        self.status_changed();
        r
    }

    /// The earliest maintenance transition due, if any.
    pub async fn next_maintenance_transition(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_transition(pool).await)
    }

    /// Leases due maintenance transitions until `lease_until`; `(page, incident)` each.
    pub async fn claim_maintenance_transitions(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>> {
        on_backend!(self, m, pool => m::claim_transitions(pool, now, lease_until, limit).await)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_status_subscriber(
        &self,
        page: &str,
        mode: &str,
        email: Option<&str>,
        endpoint: Option<&str>,
        token: &str,
        confirmed: bool,
        now: i64,
    ) -> Result<StatusSubscriber> {
        on_backend!(self, m, pool => m::create_subscriber(pool, page, mode, email, endpoint, token, confirmed, now).await)
    }

    /// Subscribers that have not unsubscribed, oldest first.
    pub async fn status_subscribers(&self, page: &str) -> Result<Vec<StatusSubscriber>> {
        on_backend!(self, m, pool => m::subscribers(pool, page).await)
    }

    pub async fn status_subscriber(
        &self,
        page: &str,
        id: &str,
    ) -> Result<Option<StatusSubscriber>> {
        on_backend!(self, m, pool => m::subscriber(pool, page, id).await)
    }

    pub async fn unsubscribe_status_subscriber(
        &self,
        page: &str,
        id: &str,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::unsubscribe(pool, page, id, now).await)
    }

    /// Cancels the subscription whose secret token this is (the link in every message);
    /// `None` when the token is unknown.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn unsubscribe_status_subscriber_by_token(
        &self,
        page: &str,
        token: &str,
        now: i64,
    ) -> Result<Option<StatusSubscriber>> {
        on_backend!(self, m, pool => m::unsubscribe_token(pool, page, token, now).await)
    }

    /// Confirms the subscriber holding `token` (idempotent); `None` for an unknown token.
    pub async fn confirm_status_subscriber(
        &self,
        page: &str,
        token: &str,
        now: i64,
    ) -> Result<Option<StatusSubscriber>> {
        on_backend!(self, m, pool => m::confirm_subscriber(pool, page, token, now).await)
    }

    /// Makes the stored check states match the declared checks: new ones are due at `now`,
    /// removed ones are dropped.
    /// Makes the stored check states those of `names`: adds the new ones (due at once) and
    /// drops the others, returning what they were (a removed check may have been down).
    pub async fn sync_health_checks(
        &self,
        names: &[String],
        now: i64,
    ) -> Result<Vec<HealthCheckState>> {
        on_backend!(self, m, pool => m::sync_checks(pool, names, now).await)
    }

    pub async fn next_health_check_due(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_check(pool).await)
    }

    /// Leases due checks until `lease_until` and returns their names.
    pub async fn claim_due_health_checks(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        on_backend!(self, m, pool => m::claim_checks(pool, now, lease_until, limit).await)
    }

    pub async fn health_check_state(&self, name: &str) -> Result<Option<HealthCheckState>> {
        on_backend!(self, m, pool => m::check_state(pool, name).await)
    }

    /// Stores a result and the state it led to, and drops results older than `keep_since`.
    pub async fn record_health_check(
        &self,
        state: &HealthCheckState,
        result: &HealthCheckResult,
        keep_since: i64,
    ) -> Result<()> {
        on_backend!(self, m, pool => m::record_check(pool, state, result, keep_since).await)
    }

    pub async fn health_check_results(
        &self,
        name: &str,
        since: i64,
    ) -> Result<Vec<HealthCheckResult>> {
        on_backend!(self, m, pool => m::check_results(pool, name, since).await)
    }
}
