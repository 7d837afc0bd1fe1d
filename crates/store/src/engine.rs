//! The escalation and notification engine's rows (DESIGN §4, issue 4): escalations per alert,
//! pages (a user paged by an escalation step), the outbox of deliveries, alert events for the
//! planners, shared secrets and maintenance windows.
//!
//! Claiming: a worker claims due rows with a token; the claim moves the row's due time one
//! lease ahead, so a process that dies leaves the row due again after the lease, and the
//! earliest due time stays a plain `MIN(due_at)` over an index. A worker's results are written
//! only if the row is still claimed by its token ([`Store::finish_escalations`] and friends):
//! an alert change that wakes the row, or another process that reclaimed it after the lease,
//! makes the stale results vanish, and the row is planned again from what is committed.
//! Unique keys (`escalations (alert_id, origin)`, `pages (escalation_id, step_key, user_id)`,
//! `deliveries (key)`) make every step, page and delivery happen once.
//!
//! Writes go through the writer pool (on SQLite the one write connection, shared with the
//! alert group commit).

use crate::query_sql::Dialect;
use crate::{Db, Result, Store};
use klaxon_core::escalation::AlertEvent;
use klaxon_core::lifecycle::{Action, Alert};

/// An escalation row a worker claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEscalation {
    pub id: String,
    pub alert_id: String,
    /// `route` (route the alert's responders), `responder:<kind>:<id>:<n>` (route one
    /// responder), or the target a routed row stands for (`team:<id>`, `escalation:<id>`, …).
    pub origin: String,
    pub policy_id: String,
    pub policy_name: String,
    /// JSON of the EscalationPolicy; `None` for rows still to be routed.
    pub policy: Option<String>,
    pub started_at: i64,
    pub planned_to: Option<i64>,
    pub token: String,
}

/// A new escalation of an alert (a routed policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscalation {
    pub alert_id: String,
    pub origin: String,
    pub policy_id: String,
    pub policy_name: String,
    pub policy: String,
    pub started_at: i64,
    pub due_at: i64,
}

/// A user paged by an escalation step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPage {
    pub alert_id: String,
    pub escalation_id: String,
    pub step_key: String,
    pub user_id: String,
    pub username: String,
    pub paged_at: i64,
}

/// A line on the alert's timeline written by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineLog {
    pub alert_id: String,
    pub text: String,
}

/// A recipient's state on an alert (`GET /v2/alerts/{id}/recipients`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientState {
    pub alert_id: String,
    pub user_id: String,
    pub username: String,
    pub state: String,
    pub method: String,
}

/// What a worker made of one claimed escalation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationDone {
    pub id: String,
    pub token: String,
    pub planned_to: i64,
    /// `None`: finished.
    pub due_at: Option<i64>,
    pub new_escalations: Vec<NewEscalation>,
    pub pages: Vec<NewPage>,
    pub logs: Vec<EngineLog>,
    pub recipients: Vec<RecipientState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPage {
    pub id: String,
    pub alert_id: String,
    pub escalation_id: String,
    pub step_key: String,
    pub user_id: String,
    pub username: String,
    pub paged_at: i64,
    pub planned_to: Option<i64>,
    pub token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageDone {
    pub id: String,
    pub token: String,
    pub planned_to: i64,
    pub due_at: Option<i64>,
    pub deliveries: Vec<NewDelivery>,
    pub logs: Vec<EngineLog>,
    pub recipients: Vec<RecipientState>,
}

/// A message for the outbox, already rendered. `key` is its idempotency key: a second delivery
/// with the same key is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub key: String,
    pub alert_id: Option<String>,
    pub user_id: Option<String>,
    pub username: String,
    /// The contact method's id (or any label of the target for non-user deliveries).
    pub contact: String,
    /// `webhook`, `slack`, `teams`, `email`, `sms`, `voice`, `mobile`.
    pub channel: String,
    pub target: String,
    /// JSON; its shape depends on the channel.
    pub payload: String,
    pub due_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: String,
    pub key: String,
    pub alert_id: Option<String>,
    pub user_id: Option<String>,
    pub username: String,
    pub contact: String,
    pub channel: String,
    pub target: String,
    pub payload: String,
    /// Including this one.
    pub attempts: i64,
    /// An earlier attempt was cut off while sending (the process died): it may have arrived.
    pub interrupted: bool,
    pub created_at: i64,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    Retry { at: i64, error: String },
    Failed { error: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    pub id: String,
    pub token: String,
    pub outcome: DeliveryOutcome,
    pub log: Option<EngineLog>,
    pub recipient: Option<RecipientState>,
}

/// A delivery as stored, for the API and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub key: String,
    pub alert_id: Option<String>,
    pub username: String,
    pub channel: String,
    pub target: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// An OpsGenie maintenance window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub id: String,
    pub description: String,
    pub time_type: String,
    pub start_at: i64,
    pub end_at: Option<i64>,
    /// JSON list of `{state, entity: {id, type}}`.
    pub rules: String,
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An alert event as a row: kind and `until`.
pub(crate) fn event_row(action: &Action) -> Option<(&'static str, Option<i64>)> {
    match action {
        Action::Acknowledge => Some(("ack", None)),
        Action::Unacknowledge => Some(("unack", None)),
        Action::Snooze { end_time } => Some(("snooze", Some(*end_time))),
        Action::Close => Some(("close", None)),
        _ => None,
    }
}

fn event_from_row(kind: &str, at: i64, until: Option<i64>) -> Option<AlertEvent> {
    Some(match kind {
        "ack" => AlertEvent::Acknowledged { at },
        "unack" => AlertEvent::Unacknowledged { at },
        "snooze" => AlertEvent::Snoozed {
            at,
            until: until.unwrap_or(at),
        },
        "close" => AlertEvent::Closed { at },
        _ => return None,
    })
}

type EscalationRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);
type PageRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
);
type DeliveryRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
);

macro_rules! engine_backend {
    ($modname:ident, $db:ty, $dialect:expr) => {
        pub mod $modname {
            use super::*;

            type DB = $db;
            type Pool = sqlx::Pool<DB>;
            type Tx = sqlx::Transaction<'static, DB>;
            const DIALECT: Dialect = $dialect;

            async fn begin(pool: &Pool) -> Result<Tx> {
                Ok(match DIALECT {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                })
            }

            fn skip_locked() -> &'static str {
                match DIALECT {
                    Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
                    Dialect::Sqlite => "",
                }
            }

            /// Called by the alert write path, inside its transaction, after an action was
            /// applied: records the event the planners need and wakes the escalations that
            /// must act at once (an un-acknowledgement restarts them), or starts a new one
            /// (escalate, add responder / team).
            pub(crate) async fn on_action(tx: &mut Tx, alert: &Alert, action: &Action, now: i64) -> Result<()> {
                if let Some((kind, until)) = event_row(action) {
                    sqlx::query("INSERT INTO alert_events (alert_id, kind, at, until_at) VALUES ($1, $2, $3, $4)")
                        .bind(&alert.id).bind(kind).bind(now).bind(until)
                        .execute(&mut **tx).await?;
                }
                match action {
                    Action::Unacknowledge => {
                        sqlx::query("UPDATE alert_escalations SET due_at = $2, lease_owner = NULL WHERE alert_id = $1 AND policy IS NOT NULL")
                            .bind(&alert.id).bind(now).execute(&mut **tx).await?;
                    }
                    Action::Escalate { to } | Action::AddResponder { responder: to } | Action::AddTeam { team: to } => {
                        let origin = format!("responder:{}:{}:{}", to.kind.as_str(), to.id, new_id());
                        sqlx::query("INSERT INTO alert_escalations (id, alert_id, origin, started_at, due_at, created_at) VALUES ($1, $2, $3, $4, $4, $4)")
                            .bind(new_id()).bind(&alert.id).bind(origin).bind(now)
                            .execute(&mut **tx).await?;
                    }
                    _ => {}
                }
                Ok(())
            }

            // ---------------- escalations ----------------

            pub async fn renotify(pool: &Pool, alert_id: &str, now: i64) -> Result<()> {
                sqlx::query("INSERT INTO alert_escalations (id, alert_id, origin, started_at, due_at, created_at) VALUES ($1, $2, $3, $4, $4, $4)")
                    .bind(new_id()).bind(alert_id).bind(format!("renotify:{}", new_id())).bind(now)
                    .execute(pool).await?;
                Ok(())
            }

            /// Claims up to `limit` rows of `table` due at `now`: one statement moves their due
            /// time to `lease_until` and marks them with `token`, returning `cols`.
            async fn claim_rows<R>(pool: &Pool, table: &str, cols: &str, now: i64, lease_until: i64, token: &str, limit: i64) -> Result<Vec<R>>
            where
                R: for<'r> sqlx::FromRow<'r, <DB as sqlx::Database>::Row> + Send + Unpin,
            {
                let mut tx = begin(pool).await?;
                let ids: Vec<(String,)> = sqlx::query_as(&format!(
                    "SELECT id FROM {table} WHERE due_at <= $1 ORDER BY due_at LIMIT $2{}", skip_locked()))
                    .bind(now).bind(limit).fetch_all(&mut *tx).await?;
                if ids.is_empty() {
                    tx.commit().await?;
                    return Ok(vec![]);
                }
                let mut qb = sqlx::QueryBuilder::<DB>::new(format!("UPDATE {table} SET due_at = "));
                qb.push_bind(lease_until).push(", lease_until = ").push_bind(lease_until)
                    .push(", lease_owner = ").push_bind(token).push(" WHERE id IN (");
                let mut sep = qb.separated(", ");
                for (id,) in &ids {
                    sep.push_bind(id);
                }
                qb.push(format!(") RETURNING {cols}"));
                let rows: Vec<R> = qb.build_query_as().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows)
            }

            pub async fn claim_escalations(pool: &Pool, now: i64, lease_until: i64, token: &str, limit: i64) -> Result<Vec<ClaimedEscalation>> {
                let rows: Vec<EscalationRow> = claim_rows(pool, "alert_escalations",
                    "id, alert_id, origin, policy_id, policy_name, policy, started_at, planned_to", now, lease_until, token, limit).await?;
                Ok(rows.into_iter().map(|(id, alert_id, origin, policy_id, policy_name, policy, started_at, planned_to)| ClaimedEscalation {
                    id, alert_id, origin, policy_id, policy_name, policy, started_at, planned_to, token: token.to_string(),
                }).collect())
            }

            async fn write_logs(tx: &mut Tx, logs: &[EngineLog], now: i64) -> Result<()> {
                for l in logs {
                    sqlx::query("INSERT INTO alert_logs (alert_id, kind, log, owner, created_at) VALUES ($1, 'system', $2, 'System', $3)")
                        .bind(&l.alert_id).bind(&l.text).bind(now).execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn write_recipients(tx: &mut Tx, rs: &[RecipientState], now: i64) -> Result<()> {
                for r in rs {
                    sqlx::query("INSERT INTO alert_recipients (alert_id, user_id, username, state, method, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
                                 ON CONFLICT (alert_id, user_id) DO UPDATE SET state = excluded.state, method = excluded.method, updated_at = excluded.updated_at")
                        .bind(&r.alert_id).bind(&r.user_id).bind(&r.username).bind(&r.state).bind(&r.method).bind(now)
                        .execute(&mut **tx).await?;
                }
                Ok(())
            }

            pub(crate) async fn insert_deliveries(tx: &mut Tx, ds: &[NewDelivery], now: i64) -> Result<u64> {
                let mut n = 0;
                for d in ds {
                    n += sqlx::query("INSERT INTO deliveries (id, key, alert_id, user_id, username, contact, channel, target, payload, state, attempts, next_attempt_at, created_at, updated_at) \
                                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $11) ON CONFLICT (key) DO NOTHING")
                        .bind(new_id()).bind(&d.key).bind(&d.alert_id).bind(&d.user_id).bind(&d.username).bind(&d.contact)
                        .bind(&d.channel).bind(&d.target).bind(&d.payload).bind(d.due_at).bind(now)
                        .execute(&mut **tx).await?.rows_affected();
                }
                Ok(n)
            }

            /// Writes the results whose rows are still claimed by their token; returns how
            /// many were written.
            pub async fn finish_escalations(pool: &Pool, done: &[EscalationDone], now: i64) -> Result<usize> {
                let mut tx = begin(pool).await?;
                let mut written = 0;
                for d in done {
                    let n = sqlx::query("UPDATE alert_escalations SET planned_to = $3, due_at = $4, lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2")
                        .bind(&d.id).bind(&d.token).bind(d.planned_to).bind(d.due_at)
                        .execute(&mut *tx).await?.rows_affected();
                    if n == 0 {
                        continue;
                    }
                    written += 1;
                    for e in &d.new_escalations {
                        sqlx::query("INSERT INTO alert_escalations (id, alert_id, origin, policy_id, policy_name, policy, started_at, due_at, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (alert_id, origin) DO NOTHING")
                            .bind(new_id()).bind(&e.alert_id).bind(&e.origin).bind(&e.policy_id).bind(&e.policy_name).bind(&e.policy)
                            .bind(e.started_at).bind(e.due_at).bind(now)
                            .execute(&mut *tx).await?;
                    }
                    for p in &d.pages {
                        sqlx::query("INSERT INTO alert_pages (id, alert_id, escalation_id, step_key, user_id, username, paged_at, due_at, created_at) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT (escalation_id, step_key, user_id) DO NOTHING")
                            .bind(new_id()).bind(&p.alert_id).bind(&p.escalation_id).bind(&p.step_key).bind(&p.user_id).bind(&p.username)
                            .bind(p.paged_at).bind(now)
                            .execute(&mut *tx).await?;
                    }
                    write_logs(&mut tx, &d.logs, now).await?;
                    write_recipients(&mut tx, &d.recipients, now).await?;
                }
                tx.commit().await?;
                Ok(written)
            }

            pub async fn next_due(pool: &Pool, table: &str, column: &str) -> Result<Option<i64>> {
                let (v,): (Option<i64>,) = sqlx::query_as(&format!("SELECT MIN({column}) FROM {table} WHERE {column} IS NOT NULL"))
                    .fetch_one(pool).await?;
                Ok(v)
            }

            /// Alerts with their events, for the planners: two queries for the whole batch.
            pub async fn alert_contexts(pool: &Pool, ids: &[String]) -> Result<Vec<(Alert, Vec<AlertEvent>)>> {
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new(format!("SELECT {} FROM alerts a WHERE a.id IN (", crate::sql::ALERT_COLS));
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(")");
                    let rows: Vec<crate::sql::AlertRow> = qb.build_query_as().fetch_all(pool).await?;
                    let mut qb = sqlx::QueryBuilder::<DB>::new("SELECT alert_id, kind, at, until_at FROM alert_events WHERE alert_id IN (");
                    let mut sep = qb.separated(", ");
                    for id in chunk {
                        sep.push_bind(id);
                    }
                    qb.push(") ORDER BY seq");
                    let events: Vec<(String, String, i64, Option<i64>)> = qb.build_query_as().fetch_all(pool).await?;
                    let mut by_alert: std::collections::HashMap<String, Vec<AlertEvent>> = std::collections::HashMap::new();
                    for (alert_id, kind, at, until) in events {
                        if let Some(e) = event_from_row(&kind, at, until) {
                            by_alert.entry(alert_id).or_default().push(e);
                        }
                    }
                    for r in rows {
                        let alert = r.into_alert()?;
                        let events = by_alert.remove(&alert.id).unwrap_or_default();
                        out.push((alert, events));
                    }
                }
                Ok(out)
            }

            // ---------------- pages ----------------

            pub async fn claim_pages(pool: &Pool, now: i64, lease_until: i64, token: &str, limit: i64) -> Result<Vec<ClaimedPage>> {
                let rows: Vec<PageRow> = claim_rows(pool, "alert_pages",
                    "id, alert_id, escalation_id, step_key, user_id, username, paged_at, planned_to", now, lease_until, token, limit).await?;
                Ok(rows.into_iter().map(|(id, alert_id, escalation_id, step_key, user_id, username, paged_at, planned_to)| ClaimedPage {
                    id, alert_id, escalation_id, step_key, user_id, username, paged_at, planned_to, token: token.to_string(),
                }).collect())
            }

            pub async fn finish_pages(pool: &Pool, done: &[PageDone], now: i64) -> Result<usize> {
                let mut tx = begin(pool).await?;
                let mut written = 0;
                for d in done {
                    let n = sqlx::query("UPDATE alert_pages SET planned_to = $3, due_at = $4, lease_until = NULL, lease_owner = NULL WHERE id = $1 AND lease_owner = $2")
                        .bind(&d.id).bind(&d.token).bind(d.planned_to).bind(d.due_at)
                        .execute(&mut *tx).await?.rows_affected();
                    if n == 0 {
                        continue;
                    }
                    written += 1;
                    insert_deliveries(&mut tx, &d.deliveries, now).await?;
                    write_logs(&mut tx, &d.logs, now).await?;
                    write_recipients(&mut tx, &d.recipients, now).await?;
                }
                tx.commit().await?;
                Ok(written)
            }

            // ---------------- outbox ----------------

            pub async fn enqueue(pool: &Pool, ds: &[NewDelivery], now: i64) -> Result<u64> {
                let mut tx = begin(pool).await?;
                let n = insert_deliveries(&mut tx, ds, now).await?;
                tx.commit().await?;
                Ok(n)
            }

            pub async fn claim_deliveries(pool: &Pool, now: i64, deadline: i64, token: &str, limit: i64) -> Result<Vec<ClaimedDelivery>> {
                let mut tx = begin(pool).await?;
                let due: Vec<(String, String)> = sqlx::query_as(&format!(
                    "SELECT id, state FROM deliveries WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2{}", skip_locked()))
                    .bind(now).bind(limit).fetch_all(&mut *tx).await?;
                let mut out = Vec::with_capacity(due.len());
                for (id, state) in due {
                    let row: DeliveryRow = sqlx::query_as(
                        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, next_attempt_at = $2, deadline = $2, lease_owner = $3, updated_at = $4 WHERE id = $1 \
                         RETURNING id, key, alert_id, user_id, username, contact, channel, target, payload, attempts, state, created_at")
                        .bind(&id).bind(deadline).bind(token).bind(now).fetch_one(&mut *tx).await?;
                    let (id, key, alert_id, user_id, username, contact, channel, target, payload, attempts, _state, created_at) = row;
                    out.push(ClaimedDelivery {
                        id, key, alert_id, user_id, username, contact, channel, target, payload, attempts,
                        interrupted: state == "sending", created_at, token: token.to_string(),
                    });
                }
                tx.commit().await?;
                Ok(out)
            }

            pub async fn finish_delivery(pool: &Pool, r: &DeliveryResult, now: i64) -> Result<bool> {
                let (state, next, error, sent_at): (&str, Option<i64>, &str, Option<i64>) = match &r.outcome {
                    DeliveryOutcome::Sent => ("sent", None, "", Some(now)),
                    DeliveryOutcome::Retry { at, error } => ("pending", Some(*at), error.as_str(), None),
                    DeliveryOutcome::Failed { error } => ("failed", None, error.as_str(), None),
                };
                let mut tx = begin(pool).await?;
                let n = sqlx::query("UPDATE deliveries SET state = $3, next_attempt_at = $4, last_error = $5, sent_at = $6, deadline = NULL, lease_owner = NULL, updated_at = $7 \
                                     WHERE id = $1 AND lease_owner = $2")
                    .bind(&r.id).bind(&r.token).bind(state).bind(next).bind(error).bind(sent_at).bind(now)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 1 {
                    if let Some(l) = &r.log {
                        write_logs(&mut tx, std::slice::from_ref(l), now).await?;
                    }
                    if let Some(rs) = &r.recipient {
                        write_recipients(&mut tx, std::slice::from_ref(rs), now).await?;
                    }
                }
                tx.commit().await?;
                Ok(n == 1)
            }

            pub async fn recent_sends(pool: &Pool, channel: &str, target: &str, since: i64) -> Result<Vec<i64>> {
                let rows: Vec<(i64,)> = sqlx::query_as("SELECT sent_at FROM deliveries WHERE channel = $1 AND target = $2 AND sent_at > $3")
                    .bind(channel).bind(target).bind(since).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(t,)| t).collect())
            }

            pub async fn deliveries_of(pool: &Pool, alert_id: &str) -> Result<Vec<DeliveryRecord>> {
                let rows: Vec<(String, String, Option<String>, String, String, String, String, i64, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at FROM deliveries WHERE alert_id = $1 ORDER BY created_at, key")
                    .bind(alert_id).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at)| DeliveryRecord {
                    id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at,
                }).collect())
            }

            pub async fn user_by_contact(pool: &Pool, method: &str, address: &str) -> Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT u.username FROM contact_methods c JOIN users u ON u.id = c.user_id WHERE c.method = $1 AND c.address = $2 ORDER BY c.enabled DESC LIMIT 1")
                    .bind(method).bind(address).fetch_optional(pool).await?;
                Ok(row.map(|(u,)| u))
            }

            pub async fn delivery_counts(pool: &Pool) -> Result<Vec<(String, i64)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as("SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state")
                    .fetch_all(pool).await?;
                Ok(rows)
            }

            // ---------------- secrets, leases ----------------

            pub async fn secret(pool: &Pool, name: &str, candidate: &str) -> Result<String> {
                sqlx::query("INSERT INTO engine_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name).bind(candidate).execute(pool).await?;
                let (v,): (String,) = sqlx::query_as("SELECT value FROM engine_secrets WHERE name = $1")
                    .bind(name).fetch_one(pool).await?;
                Ok(v)
            }

            /// Makes every claimed row due at once (the caller knows no other process runs the
            /// engine: SQLite, after taking the engine lock).
            pub async fn release_leases(pool: &Pool, now: i64) -> Result<()> {
                let mut tx = begin(pool).await?;
                for table in ["alert_escalations", "alert_pages"] {
                    sqlx::query(&format!("UPDATE {table} SET due_at = $1, lease_until = NULL, lease_owner = NULL WHERE lease_owner IS NOT NULL AND due_at IS NOT NULL"))
                        .bind(now).execute(&mut *tx).await?;
                }
                sqlx::query("UPDATE deliveries SET next_attempt_at = $1 WHERE state = 'sending' AND next_attempt_at IS NOT NULL")
                    .bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            // ---------------- maintenance ----------------

            pub async fn create_maintenance(pool: &Pool, m: &Maintenance) -> Result<()> {
                sqlx::query("INSERT INTO maintenance_windows (id, description, time_type, start_at, end_at, rules, cancelled_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&m.id).bind(&m.description).bind(&m.time_type).bind(m.start_at).bind(m.end_at).bind(&m.rules).bind(m.cancelled_at).bind(m.created_at)
                    .execute(pool).await?;
                Ok(())
            }

            const MAINT_COLS: &str = "id, description, time_type, start_at, end_at, rules, cancelled_at, created_at";
            type MaintRow = (String, String, String, i64, Option<i64>, String, Option<i64>, i64);
            fn maint(r: MaintRow) -> Maintenance {
                let (id, description, time_type, start_at, end_at, rules, cancelled_at, created_at) = r;
                Maintenance { id, description, time_type, start_at, end_at, rules, cancelled_at, created_at }
            }

            pub async fn list_maintenance(pool: &Pool) -> Result<Vec<Maintenance>> {
                let rows: Vec<MaintRow> = sqlx::query_as(&format!("SELECT {MAINT_COLS} FROM maintenance_windows ORDER BY start_at DESC, id"))
                    .fetch_all(pool).await?;
                Ok(rows.into_iter().map(maint).collect())
            }

            pub async fn get_maintenance(pool: &Pool, id: &str) -> Result<Option<Maintenance>> {
                let row: Option<MaintRow> = sqlx::query_as(&format!("SELECT {MAINT_COLS} FROM maintenance_windows WHERE id = $1"))
                    .bind(id).fetch_optional(pool).await?;
                Ok(row.map(maint))
            }

            pub async fn active_maintenance(pool: &Pool, now: i64) -> Result<Vec<Maintenance>> {
                let rows: Vec<MaintRow> = sqlx::query_as(&format!(
                    "SELECT {MAINT_COLS} FROM maintenance_windows WHERE start_at <= $1 AND (end_at IS NULL OR end_at > $1) AND cancelled_at IS NULL"))
                    .bind(now).fetch_all(pool).await?;
                Ok(rows.into_iter().map(maint).collect())
            }

            pub async fn cancel_maintenance(pool: &Pool, id: &str, now: i64) -> Result<bool> {
                let n = sqlx::query("UPDATE maintenance_windows SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL")
                    .bind(id).bind(now).execute(pool).await?.rows_affected();
                Ok(n == 1)
            }

            pub async fn delete_maintenance(pool: &Pool, id: &str) -> Result<bool> {
                let n = sqlx::query("DELETE FROM maintenance_windows WHERE id = $1").bind(id).execute(pool).await?.rows_affected();
                Ok(n == 1)
            }
        }
    };
}

engine_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
engine_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

/// Like `on_backend!`, over the writer pool.
macro_rules! on_writer {
    ($self:expr, $m:ident, $pool:ident => $body:expr) => {
        match &$self.writer {
            Db::Sqlite($pool) => {
                use sqlite as $m;
                $body
            }
            Db::Postgres($pool) => {
                use postgres as $m;
                $body
            }
        }
    };
}

impl Store {
    /// Claims up to `limit` escalations due at `now` until `lease_until`.
    pub async fn claim_escalations(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
    ) -> Result<Vec<ClaimedEscalation>> {
        on_writer!(self, m, pool => m::claim_escalations(pool, now, lease_until, token, limit).await)
    }

    /// Pages the alert's responders again from the start, as a new escalation of each (what
    /// Alertmanager's `repeat_interval` does for a group nobody acknowledged).
    pub async fn renotify(&self, alert_id: &str, now: i64) -> Result<()> {
        on_writer!(self, m, pool => m::renotify(pool, alert_id, now).await)
    }

    /// Writes the results of claimed escalations still held by their token.
    pub async fn finish_escalations(&self, done: &[EscalationDone], now: i64) -> Result<usize> {
        on_writer!(self, m, pool => m::finish_escalations(pool, done, now).await)
    }

    pub async fn next_escalation_due(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_due(pool, "alert_escalations", "due_at").await)
    }

    /// The alerts (by id) with their ack/unack/snooze/close events in order. Unknown ids are
    /// left out.
    pub async fn alert_contexts(&self, ids: &[String]) -> Result<Vec<(Alert, Vec<AlertEvent>)>> {
        on_backend!(self, m, pool => m::alert_contexts(pool, ids).await)
    }

    pub async fn claim_pages(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
    ) -> Result<Vec<ClaimedPage>> {
        on_writer!(self, m, pool => m::claim_pages(pool, now, lease_until, token, limit).await)
    }

    pub async fn finish_pages(&self, done: &[PageDone], now: i64) -> Result<usize> {
        on_writer!(self, m, pool => m::finish_pages(pool, done, now).await)
    }

    pub async fn next_page_due(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_due(pool, "alert_pages", "due_at").await)
    }

    /// Puts messages in the outbox; a key already there is ignored. Returns how many were new.
    pub async fn enqueue_deliveries(&self, ds: &[NewDelivery], now: i64) -> Result<u64> {
        on_writer!(self, m, pool => m::enqueue(pool, ds, now).await)
    }

    /// Claims up to `limit` deliveries due at `now`: they are `sending` until `deadline`, when
    /// they fall due again if the sender never reported.
    pub async fn claim_deliveries(
        &self,
        now: i64,
        deadline: i64,
        token: &str,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        on_writer!(self, m, pool => m::claim_deliveries(pool, now, deadline, token, limit).await)
    }

    /// Records an attempt's outcome if the delivery is still claimed by its token.
    pub async fn finish_delivery(&self, r: &DeliveryResult, now: i64) -> Result<bool> {
        on_writer!(self, m, pool => m::finish_delivery(pool, r, now).await)
    }

    pub async fn next_delivery_due(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_due(pool, "deliveries", "next_attempt_at").await)
    }

    /// When messages to this target were sent after `since` (throttling).
    pub async fn recent_sends(&self, channel: &str, target: &str, since: i64) -> Result<Vec<i64>> {
        on_backend!(self, m, pool => m::recent_sends(pool, channel, target, since).await)
    }

    pub async fn deliveries_of(&self, alert_id: &str) -> Result<Vec<DeliveryRecord>> {
        on_backend!(self, m, pool => m::deliveries_of(pool, alert_id).await)
    }

    /// The username whose contact method of kind `method` has this address (SMS replies).
    pub async fn user_by_contact(&self, method: &str, address: &str) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::user_by_contact(pool, method, address).await)
    }

    /// Deliveries by state: `[(state, count)]`.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64)>> {
        on_backend!(self, m, pool => m::delivery_counts(pool).await)
    }

    /// The shared secret `name`: `candidate` if none was stored yet.
    pub async fn engine_secret(&self, name: &str, candidate: &str) -> Result<String> {
        on_writer!(self, m, pool => m::secret(pool, name, candidate).await)
    }

    /// Makes all claimed engine rows due now. Only for a process that knows it is the only
    /// engine on the database (SQLite's engine lock).
    pub async fn release_engine_leases(&self, now: i64) -> Result<()> {
        on_writer!(self, m, pool => m::release_leases(pool, now).await)
    }

    pub async fn create_maintenance(&self, m: &Maintenance) -> Result<()> {
        on_writer!(self, b, pool => b::create_maintenance(pool, m).await)
    }

    pub async fn list_maintenance(&self) -> Result<Vec<Maintenance>> {
        on_backend!(self, m, pool => m::list_maintenance(pool).await)
    }

    pub async fn maintenance(&self, id: &str) -> Result<Option<Maintenance>> {
        on_backend!(self, m, pool => m::get_maintenance(pool, id).await)
    }

    /// Maintenance windows in force at `now`.
    pub async fn active_maintenance(&self, now: i64) -> Result<Vec<Maintenance>> {
        on_backend!(self, m, pool => m::active_maintenance(pool, now).await)
    }

    pub async fn cancel_maintenance(&self, id: &str, now: i64) -> Result<bool> {
        on_writer!(self, m, pool => m::cancel_maintenance(pool, id, now).await)
    }

    pub async fn delete_maintenance(&self, id: &str) -> Result<bool> {
        on_writer!(self, m, pool => m::delete_maintenance(pool, id).await)
    }
}
