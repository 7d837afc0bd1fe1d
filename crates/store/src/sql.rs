//! Every SQL statement Klaxon runs, written once and compiled for each backend.
//!
//! `backend!` expands the same code into `sqlite` and `postgres` modules with the concrete sqlx
//! types of each. Where the dialects differ (claiming rows, sequences, JSON), the code asks
//! `DIALECT`.

use crate::model::*;
use crate::query_sql::{self, Bind, Dialect};
use crate::{Result, StoreError};
use klaxon_core::alert::{Priority, ResponderKind, ResponderRef};
use klaxon_core::lifecycle::{self, Action, Alert, Responder, Status};
use std::collections::BTreeMap;

/// Columns of `alerts` in the order [`AlertRow`] reads them.
pub(crate) const ALERT_COLS: &str =
    "a.id, a.tiny_id, a.alias, a.message, a.description, a.status, \
    a.acknowledged, a.is_seen, a.snoozed, a.snoozed_until, a.count, a.priority, a.source, a.owner, \
    a.entity, a.tags, a.details, a.actions, a.responders, a.visible_to, a.integration_id, \
    a.integration_name, a.integration_type, a.created_at, a.updated_at, a.last_occurred_at, \
    a.ack_time, a.close_time, a.acknowledged_by, a.closed_by";

#[derive(sqlx::FromRow)]
pub(crate) struct AlertRow {
    id: String,
    tiny_id: i64,
    alias: String,
    message: String,
    description: String,
    status: String,
    acknowledged: bool,
    is_seen: bool,
    snoozed: bool,
    snoozed_until: Option<i64>,
    count: i64,
    priority: String,
    source: String,
    owner: String,
    entity: String,
    tags: String,
    details: String,
    actions: String,
    responders: String,
    visible_to: String,
    integration_id: String,
    integration_name: String,
    integration_type: String,
    created_at: i64,
    updated_at: i64,
    last_occurred_at: i64,
    ack_time: Option<i64>,
    close_time: Option<i64>,
    acknowledged_by: Option<String>,
    closed_by: Option<String>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ResponderJson {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    name: String,
}

fn responders_to_json(rs: &[Responder]) -> String {
    let v: Vec<ResponderJson> = rs
        .iter()
        .map(|r| ResponderJson {
            kind: r.kind.as_str().to_string(),
            id: r.id.clone(),
            name: r.name.clone(),
        })
        .collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

fn responders_from_json(s: &str) -> Result<Vec<Responder>> {
    let v: Vec<ResponderJson> = serde_json::from_str(s).map_err(|e| corrupt("responders", e))?;
    Ok(v.into_iter()
        .filter_map(|r| {
            Some(Responder {
                kind: ResponderKind::parse(&r.kind)?,
                id: r.id,
                name: r.name,
            })
        })
        .collect())
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl AlertRow {
    pub(crate) fn into_alert(self) -> Result<Alert> {
        Ok(Alert {
            priority: self
                .priority
                .parse::<Priority>()
                .map_err(|e| corrupt("priority", e))?,
            status: Status::parse(&self.status),
            tags: serde_json::from_str(&self.tags).map_err(|e| corrupt("tags", e))?,
            details: serde_json::from_str(&self.details).map_err(|e| corrupt("details", e))?,
            actions: serde_json::from_str(&self.actions).map_err(|e| corrupt("actions", e))?,
            responders: responders_from_json(&self.responders)?,
            visible_to: responders_from_json(&self.visible_to)?,
            id: self.id,
            tiny_id: self.tiny_id,
            alias: self.alias,
            message: self.message,
            description: self.description,
            acknowledged: self.acknowledged,
            is_seen: self.is_seen,
            snoozed: self.snoozed,
            snoozed_until: self.snoozed_until,
            count: self.count,
            source: self.source,
            owner: self.owner,
            entity: self.entity,
            integration_id: self.integration_id,
            integration_name: self.integration_name,
            integration_type: self.integration_type,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_occurred_at: self.last_occurred_at,
            ack_time: self.ack_time,
            close_time: self.close_time,
            acknowledged_by: self.acknowledged_by,
            closed_by: self.closed_by,
        })
    }
}

#[derive(sqlx::FromRow)]
struct IntegrationRow {
    id: String,
    name: String,
    kind: String,
    team_id: Option<String>,
    team_name: Option<String>,
    default_priority: Option<String>,
    default_tags: String,
    enabled: bool,
    managed: bool,
}

impl IntegrationRow {
    fn into_integration(self) -> Result<Integration> {
        Ok(Integration {
            default_priority: match self.default_priority {
                Some(p) => Some(p.parse().map_err(|e| corrupt("default_priority", e))?),
                None => None,
            },
            default_tags: serde_json::from_str(&self.default_tags)
                .map_err(|e| corrupt("default_tags", e))?,
            id: self.id,
            name: self.name,
            kind: self.kind,
            team_id: self.team_id,
            team_name: self.team_name,
            enabled: self.enabled,
            managed: self.managed,
        })
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The scope filter: a team-scoped caller sees alerts whose teams include its team.
fn scope_clause(scope: &Scope, dialect: Dialect, n: usize) -> (String, Vec<Bind>) {
    match &scope.team_id {
        None => ("1=1".into(), vec![]),
        Some(t) => (
            match dialect {
                Dialect::Sqlite => format!(
                    "EXISTS (SELECT 1 FROM json_each(a.team_ids) WHERE json_each.value = ${n})"
                ),
                Dialect::Postgres => format!("(a.team_ids::jsonb ? ${n})"),
            },
            vec![Bind::Text(t.clone())],
        ),
    }
}

fn identifier_clause(ident: &Identifier) -> (&'static str, Bind) {
    match ident {
        Identifier::Id(id) => ("a.id = $1", Bind::Text(id.clone())),
        Identifier::Alias(alias) => ("a.alias = $1", Bind::Text(alias.clone())),
        Identifier::Tiny(t) => ("a.tiny_id = $1", Bind::Int(*t)),
    }
}

fn log_owner(op: &WriteOp) -> String {
    op.actor.user.clone()
}

macro_rules! backend {
    ($modname:ident, $db:ty, $dialect:expr) => {
        pub mod $modname {
            use super::*;

            type DB = $db;
            type Pool = sqlx::Pool<DB>;
            type Tx = sqlx::Transaction<'static, DB>;
            const DIALECT: Dialect = $dialect;

            fn bind_as<'q, O>(
                mut q: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
                binds: &'q [Bind],
            ) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>> {
                for b in binds {
                    q = match b {
                        Bind::Text(s) => q.bind(s.as_str()),
                        Bind::Int(i) => q.bind(*i),
                        Bind::Bool(v) => q.bind(*v),
                    };
                }
                q
            }

            pub async fn ping(pool: &Pool) -> Result<()> {
                sqlx::query("SELECT 1").execute(pool).await?;
                Ok(())
            }

            // ---------------- directory ----------------

            pub async fn apply_directory(pool: &Pool, d: &DirectorySpec, now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                let mut user_ids = BTreeMap::new();
                for u in &d.users {
                    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE lower(username) = lower($1)")
                        .bind(&u.username).fetch_optional(&mut *tx).await?;
                    let id = match existing {
                        Some((id,)) => {
                            sqlx::query("UPDATE users SET username = $2, full_name = $3, role = $4, time_zone = $5, managed = TRUE WHERE id = $1")
                                .bind(&id).bind(&u.username).bind(&u.full_name).bind(&u.role).bind(&u.time_zone)
                                .execute(&mut *tx).await?;
                            id
                        }
                        None => {
                            let id = new_id();
                            sqlx::query("INSERT INTO users (id, username, full_name, role, time_zone, managed, created_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6)")
                                .bind(&id).bind(&u.username).bind(&u.full_name).bind(&u.role).bind(&u.time_zone).bind(now)
                                .execute(&mut *tx).await?;
                            id
                        }
                    };
                    user_ids.insert(u.username.to_lowercase(), id);
                }
                // Config-managed users that left the file are removed.
                let managed: Vec<(String, String)> = sqlx::query_as("SELECT id, username FROM users WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (id, username) in managed {
                    if !user_ids.contains_key(&username.to_lowercase()) {
                        sqlx::query("DELETE FROM users WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }

                let mut team_ids = BTreeMap::new();
                for t in &d.teams {
                    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM teams WHERE lower(name) = lower($1)")
                        .bind(&t.name).fetch_optional(&mut *tx).await?;
                    let id = match existing {
                        Some((id,)) => {
                            sqlx::query("UPDATE teams SET name = $2, description = $3, managed = TRUE WHERE id = $1")
                                .bind(&id).bind(&t.name).bind(&t.description).execute(&mut *tx).await?;
                            id
                        }
                        None => {
                            let id = new_id();
                            sqlx::query("INSERT INTO teams (id, name, description, managed, created_at) VALUES ($1, $2, $3, TRUE, $4)")
                                .bind(&id).bind(&t.name).bind(&t.description).bind(now).execute(&mut *tx).await?;
                            id
                        }
                    };
                    sqlx::query("DELETE FROM team_members WHERE team_id = $1").bind(&id).execute(&mut *tx).await?;
                    for (username, role) in &t.members {
                        if let Some(uid) = user_ids.get(&username.to_lowercase()) {
                            sqlx::query("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)")
                                .bind(&id).bind(uid).bind(role).execute(&mut *tx).await?;
                        }
                    }
                    team_ids.insert(t.name.to_lowercase(), id);
                }
                let managed: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM teams WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (id, name) in managed {
                    if !team_ids.contains_key(&name.to_lowercase()) {
                        sqlx::query("DELETE FROM teams WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }

                let mut kept = Vec::new();
                for i in &d.integrations {
                    let team_id = match &i.team {
                        Some(t) => Some(team_ids.get(&t.to_lowercase()).cloned().ok_or_else(|| {
                            StoreError::Invalid(format!("integration {:?}: unknown team {t:?}", i.name))
                        })?),
                        None => None,
                    };
                    let tags = json(&i.default_tags);
                    let prio = i.default_priority.map(|p| p.as_str().to_string());
                    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM integrations WHERE lower(name) = lower($1)")
                        .bind(&i.name).fetch_optional(&mut *tx).await?;
                    // A key moved from one integration to another must not trip the unique index.
                    sqlx::query("DELETE FROM integrations WHERE key_hash = $1 AND lower(name) <> lower($2)")
                        .bind(&i.key_hash).bind(&i.name).execute(&mut *tx).await?;
                    let id = match existing {
                        Some((id,)) => {
                            sqlx::query("UPDATE integrations SET name = $2, kind = $3, team_id = $4, key_hash = $5, default_priority = $6, default_tags = $7, enabled = $8, managed = TRUE WHERE id = $1")
                                .bind(&id).bind(&i.name).bind(&i.kind).bind(&team_id).bind(&i.key_hash).bind(&prio).bind(&tags).bind(i.enabled)
                                .execute(&mut *tx).await?;
                            id
                        }
                        None => {
                            let id = new_id();
                            sqlx::query("INSERT INTO integrations (id, name, kind, team_id, key_hash, default_priority, default_tags, enabled, managed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9)")
                                .bind(&id).bind(&i.name).bind(&i.kind).bind(&team_id).bind(&i.key_hash).bind(&prio).bind(&tags).bind(i.enabled).bind(now)
                                .execute(&mut *tx).await?;
                            id
                        }
                    };
                    kept.push(id);
                }
                let managed: Vec<(String,)> = sqlx::query_as("SELECT id FROM integrations WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (id,) in managed {
                    if !kept.contains(&id) {
                        sqlx::query("DELETE FROM integrations WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            const INTEGRATION_SELECT: &str = "SELECT i.id, i.name, i.kind, i.team_id, t.name AS team_name, \
                i.default_priority, i.default_tags, i.enabled, i.managed FROM integrations i LEFT JOIN teams t ON t.id = i.team_id";

            pub async fn integration_by_key_hash(pool: &Pool, key_hash: &str) -> Result<Option<Integration>> {
                let row: Option<IntegrationRow> = sqlx::query_as(&format!("{INTEGRATION_SELECT} WHERE i.key_hash = $1"))
                    .bind(key_hash).fetch_optional(pool).await?;
                row.map(IntegrationRow::into_integration).transpose()
            }

            pub async fn integration_count(pool: &Pool) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM integrations").fetch_one(pool).await?;
                Ok(n)
            }

            pub async fn create_integration(pool: &Pool, i: &NewIntegration, now: i64) -> Result<Integration> {
                let mut tx = begin_write(pool).await?;
                let team_id: Option<String> = match &i.team {
                    Some(t) => Some(sqlx::query_as::<_, (String,)>("SELECT id FROM teams WHERE lower(name) = lower($1)")
                        .bind(t).fetch_optional(&mut *tx).await?
                        .ok_or_else(|| StoreError::Invalid(format!("unknown team {t:?}")))?.0),
                    None => None,
                };
                let id = new_id();
                sqlx::query("INSERT INTO integrations (id, name, kind, team_id, key_hash, default_priority, default_tags, enabled, managed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9)")
                    .bind(&id).bind(&i.name).bind(&i.kind).bind(&team_id).bind(&i.key_hash)
                    .bind(i.default_priority.map(|p| p.as_str().to_string())).bind(json(&i.default_tags)).bind(i.enabled).bind(now)
                    .execute(&mut *tx).await?;
                let row: IntegrationRow = sqlx::query_as(&format!("{INTEGRATION_SELECT} WHERE i.id = $1"))
                    .bind(&id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.into_integration()
            }

            pub async fn team_by_name(pool: &Pool, name: &str) -> Result<Option<Team>> {
                let row: Option<(String, String, String)> = sqlx::query_as("SELECT id, name, description FROM teams WHERE lower(name) = lower($1)")
                    .bind(name).fetch_optional(pool).await?;
                Ok(row.map(|(id, name, description)| Team { id, name, description }))
            }

            // ---------------- alert writes ----------------

            /// Opens a write transaction. On SQLite it takes the write lock up front
            /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and then writes can
            /// fail with SQLITE_BUSY when another writer got there in between.
            async fn begin_write(pool: &Pool) -> Result<Tx> {
                Ok(match DIALECT {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                })
            }

            pub async fn write_batch(pool: &Pool, ops: &[WriteOp]) -> Result<Vec<Outcome>> {
                let mut tx: Tx = begin_write(pool).await?;
                let mut out = Vec::with_capacity(ops.len());
                let is_create = |o: &WriteOp| matches!(o.kind, WriteKind::Create(_));
                let mut i = 0;
                while i < ops.len() {
                    if is_create(&ops[i]) {
                        // A run of creates is written with a handful of multi-row statements.
                        let end = ops[i..].iter().position(|o| !is_create(o)).map_or(ops.len(), |p| i + p);
                        out.extend(create_run(&mut tx, &ops[i..end]).await?);
                        i = end;
                    } else if let WriteKind::Act { target, action, note } = &ops[i].kind {
                        out.push(act(&mut tx, &ops[i], target, action, note.as_deref()).await?);
                        i += 1;
                    }
                }
                for chunk in ops.iter().zip(&out).collect::<Vec<_>>().chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO alert_requests (request_id, action, success, status, alert_id, alias, integration_id, processed_at) ");
                    qb.push_values(chunk, |mut b, (op, o)| {
                        b.push_bind(&op.request_id).push_bind(&o.action).push_bind(o.success).push_bind(&o.status)
                            .push_bind(&o.alert_id).push_bind(&o.alias).push_bind(&op.integration_id).push_bind(op.now);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(out)
            }

            /// Reserves `n` consecutive tiny ids.
            async fn next_tiny_ids(tx: &mut Tx, n: i64) -> Result<Vec<i64>> {
                if n == 0 {
                    return Ok(vec![]);
                }
                match DIALECT {
                    Dialect::Sqlite => {
                        let (last,): (i64,) = sqlx::query_as("UPDATE counters SET value = value + $1 WHERE name = 'alert_tiny_id' RETURNING value")
                            .bind(n).fetch_one(&mut **tx).await?;
                        Ok((last - n + 1..=last).collect())
                    }
                    Dialect::Postgres => {
                        let rows: Vec<(i64,)> = sqlx::query_as("SELECT nextval('alert_tiny_id_seq') FROM generate_series(1, $1)")
                            .bind(n).fetch_all(&mut **tx).await?;
                        Ok(rows.into_iter().map(|(v,)| v).collect())
                    }
                }
            }

            /// Writes a run of creates: one lookup of the open alerts with these aliases, then
            /// multi-row inserts. Repeats of an alias, in the database or earlier in the run,
            /// count up instead of creating.
            async fn create_run(tx: &mut Tx, ops: &[WriteOp]) -> Result<Vec<Outcome>> {
                let news: Vec<&NewAlert> = ops.iter().filter_map(|o| match &o.kind { WriteKind::Create(n) => Some(n.as_ref()), _ => None }).collect();
                let mut aliases: Vec<&str> = news.iter().map(|n| n.alias.as_str()).collect();
                aliases.sort_unstable();
                aliases.dedup();
                // alias -> (alert, created in this run?, changed?)
                let mut open: std::collections::HashMap<String, (Alert, bool, bool)> = std::collections::HashMap::new();
                let lock = if DIALECT == Dialect::Postgres { " FOR UPDATE" } else { "" };
                for chunk in aliases.chunks(500) {
                    // With a long IN list SQLite's planner (no statistics) prefers the (status, created_at)
                    // index and scans every open alert; the open-alias index is the one to use.
                    let hint = if DIALECT == Dialect::Sqlite { " INDEXED BY alerts_open_alias" } else { "" };
                    let mut qb = sqlx::QueryBuilder::<DB>::new(format!("SELECT {ALERT_COLS} FROM alerts a{hint} WHERE a.status = 'open' AND a.alias IN ("));
                    let mut sep = qb.separated(", ");
                    for a in chunk {
                        sep.push_bind(*a);
                    }
                    // A fixed lock order keeps concurrent batches from deadlocking.
                    qb.push(") ORDER BY a.alias").push(lock);
                    let rows: Vec<AlertRow> = qb.build_query_as().fetch_all(&mut **tx).await?;
                    for r in rows {
                        let a = r.into_alert()?;
                        open.insert(a.alias.clone(), (a, false, false));
                    }
                }
                let fresh = {
                    let mut seen = std::collections::HashSet::new();
                    news.iter().filter(|n| !open.contains_key(&n.alias) && seen.insert(n.alias.as_str())).count()
                };
                let mut tiny_ids = next_tiny_ids(tx, fresh as i64).await?.into_iter();

                let mut cache: std::collections::HashMap<String, Option<Responder>> = std::collections::HashMap::new();
                let mut logs: Vec<(String, &'static str, String, String, i64)> = Vec::new();
                let mut notes: Vec<(String, String, String, i64)> = Vec::new();
                let mut order: Vec<String> = Vec::new();
                let mut out = Vec::with_capacity(ops.len());
                for (op, new) in ops.iter().zip(&news) {
                    let owner = log_owner(op);
                    if let Some((alert, _, changed)) = open.get_mut(&new.alias) {
                        let l = lifecycle::occurred_again(alert, &op.actor, op.now);
                        *changed = true;
                        logs.push((alert.id.clone(), l.kind, l.text, owner, op.now));
                        out.push(Outcome { success: true, status: "Alert is de-duplicated".into(), action: "Create".into(), alert_id: alert.id.clone(), alias: alert.alias.clone(), deduplicated: true });
                        continue;
                    }
                    let mut responders = Vec::new();
                    let mut missing = Vec::new();
                    if let Some(team_id) = &op.team_id {
                        let r = ResponderRef { kind: ResponderKind::Team, id: Some(team_id.clone()), name: None, username: None };
                        resolve_cached(tx, &mut cache, &r, &mut responders, &mut missing).await?;
                        missing.clear();
                    }
                    for r in &new.responders {
                        resolve_cached(tx, &mut cache, r, &mut responders, &mut missing).await?;
                    }
                    let mut visible_to = Vec::new();
                    for r in &new.visible_to {
                        resolve_cached(tx, &mut cache, r, &mut visible_to, &mut missing).await?;
                    }
                    let id = new_id();
                    let tiny_id = tiny_ids.next().ok_or_else(|| StoreError::Corrupt("tiny id reservation ran short".into()))?;
                    let alert = Alert {
                        id: id.clone(),
                        tiny_id,
                        alias: new.alias.clone(),
                        message: new.message.clone(),
                        description: new.description.clone(),
                        status: Status::Open,
                        acknowledged: false,
                        is_seen: false,
                        snoozed: false,
                        snoozed_until: None,
                        count: 1,
                        priority: new.priority,
                        source: new.source.clone(),
                        owner: String::new(),
                        entity: new.entity.clone(),
                        tags: new.tags.clone(),
                        details: new.details.clone(),
                        actions: new.actions.clone(),
                        responders,
                        visible_to,
                        integration_id: op.integration_id.clone(),
                        integration_name: op.integration_name.clone(),
                        integration_type: op.integration_type.clone(),
                        created_at: op.now,
                        updated_at: op.now,
                        last_occurred_at: op.now,
                        ack_time: None,
                        close_time: None,
                        acknowledged_by: None,
                        closed_by: None,
                    };
                    logs.push((id.clone(), "system", format!("Alert created via {}[{}] with message {:?}", op.actor.via, op.integration_name, alert.message), owner.clone(), op.now));
                    if !missing.is_empty() {
                        logs.push((id.clone(), "system", format!("Responders not found and ignored: {}", missing.join(", ")), owner.clone(), op.now));
                    }
                    if let Some(note) = &new.note {
                        notes.push((id.clone(), note.clone(), owner, op.now));
                    }
                    out.push(Outcome { success: true, status: "Created alert".into(), action: "Create".into(), alert_id: id, alias: alert.alias.clone(), deduplicated: false });
                    order.push(alert.alias.clone());
                    open.insert(alert.alias.clone(), (alert, true, false));
                }

                let created: Vec<&Alert> = order.iter().filter_map(|a| open.get(a).map(|(al, _, _)| al)).collect();
                for chunk in created.chunks(200) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO alerts (id, tiny_id, alias, message, description, status, acknowledged, is_seen, snoozed, snoozed_until, count, priority, source, owner, entity, tags, details, actions, responders, visible_to, team_ids, integration_id, integration_name, integration_type, created_at, updated_at, last_occurred_at) ");
                    qb.push_values(chunk, |mut b, a| {
                        b.push_bind(a.id.clone()).push_bind(a.tiny_id).push_bind(a.alias.clone()).push_bind(a.message.clone()).push_bind(a.description.clone())
                            .push_bind("open").push_bind(false).push_bind(false).push_bind(false).push_bind(None::<i64>).push_bind(a.count)
                            .push_bind(a.priority.as_str()).push_bind(a.source.clone()).push_bind("").push_bind(a.entity.clone())
                            .push_bind(json(&a.tags)).push_bind(json(&a.details)).push_bind(json(&a.actions))
                            .push_bind(responders_to_json(&a.responders)).push_bind(responders_to_json(&a.visible_to)).push_bind(json(&a.team_ids()))
                            .push_bind(a.integration_id.clone()).push_bind(a.integration_name.clone()).push_bind(a.integration_type.clone())
                            .push_bind(a.created_at).push_bind(a.updated_at).push_bind(a.last_occurred_at);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                for (alert, created_now, changed) in open.values() {
                    if *changed && !*created_now {
                        sqlx::query("UPDATE alerts SET count = $2, last_occurred_at = $3, updated_at = $4 WHERE id = $1")
                            .bind(&alert.id).bind(alert.count).bind(alert.last_occurred_at).bind(alert.updated_at)
                            .execute(&mut **tx).await?;
                    }
                }
                for chunk in logs.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO alert_logs (alert_id, kind, log, owner, created_at) ");
                    qb.push_values(chunk, |mut b, (alert_id, kind, log, owner, at)| {
                        b.push_bind(alert_id).push_bind(*kind).push_bind(log).push_bind(owner).push_bind(*at);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                for (alert_id, note, owner, at) in &notes {
                    insert_note(tx, alert_id, note, owner, *at).await?;
                }
                for a in &created {
                    if !a.responders.is_empty() {
                        add_recipients(tx, a, a.created_at).await?;
                    }
                }
                // Every new alert gets its routing row, due at once: the escalation engine
                // routes it to its policies (crates/store/src/engine.rs).
                for chunk in created.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<DB>::new("INSERT INTO alert_escalations (id, alert_id, origin, started_at, due_at, created_at) ");
                    qb.push_values(chunk, |mut b, a| {
                        b.push_bind(new_id()).push_bind(a.id.clone()).push_bind("route").push_bind(a.created_at).push_bind(a.created_at).push_bind(a.created_at);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(out)
            }

            async fn resolve_cached(
                tx: &mut Tx,
                cache: &mut std::collections::HashMap<String, Option<Responder>>,
                r: &ResponderRef,
                into: &mut Vec<Responder>,
                missing: &mut Vec<String>,
            ) -> Result<()> {
                let key = format!("{:?}|{:?}|{:?}|{:?}", r.kind, r.id, r.name, r.username);
                let found = match cache.get(&key) {
                    Some(v) => v.clone(),
                    None => {
                        let v = resolve(tx, r).await?;
                        cache.insert(key, v.clone());
                        v
                    }
                };
                match found {
                    Some(res) => {
                        if !into.iter().any(|x| x.kind == res.kind && x.id == res.id) {
                            into.push(res);
                        }
                    }
                    None => missing.push(format!(
                        "{} {}",
                        r.kind.as_str(),
                        r.username.clone().or(r.name.clone()).or(r.id.clone()).unwrap_or_default()
                    )),
                }
                Ok(())
            }

            /// Resolves a responder reference to a stored team or user. Escalations and
            /// schedules are kept as named until their tables exist.
            async fn resolve(tx: &mut Tx, r: &ResponderRef) -> Result<Option<Responder>> {
                let by_key = |id: &Option<String>, name: &Option<String>| -> (String, String) {
                    (id.clone().unwrap_or_default(), name.clone().unwrap_or_default())
                };
                match r.kind {
                    ResponderKind::Team => {
                        let (id, name) = by_key(&r.id, &r.name);
                        let row: Option<(String, String)> = sqlx::query_as("SELECT id, name FROM teams WHERE id = $1 OR lower(name) = lower($2) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                            .bind(&id).bind(&name).fetch_optional(&mut **tx).await?;
                        Ok(row.map(|(id, name)| Responder { kind: ResponderKind::Team, id, name }))
                    }
                    ResponderKind::User => {
                        let (id, name) = by_key(&r.id, &r.username.clone().or(r.name.clone()));
                        let row: Option<(String, String)> = sqlx::query_as("SELECT id, username FROM users WHERE id = $1 OR lower(username) = lower($2) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                            .bind(&id).bind(&name).fetch_optional(&mut **tx).await?;
                        Ok(row.map(|(id, name)| Responder { kind: ResponderKind::User, id, name }))
                    }
                    kind => {
                        let name = r.name.clone().or(r.id.clone()).unwrap_or_default();
                        let id = r.id.clone().unwrap_or_else(|| name.clone());
                        Ok(Some(Responder { kind, id, name }))
                    }
                }
            }

            async fn load_for_update(tx: &mut Tx, where_sql: &str, bind: &Bind, scope: &Scope) -> Result<Option<Alert>> {
                let (scope_sql, scope_binds) = scope_clause(scope, DIALECT, 2);
                let lock = if DIALECT == Dialect::Postgres { " FOR UPDATE" } else { "" };
                let sql = format!(
                    "SELECT {ALERT_COLS} FROM alerts a WHERE {where_sql} AND {scope_sql} \
                     ORDER BY CASE WHEN a.status = 'open' THEN 0 ELSE 1 END, a.created_at DESC LIMIT 1{lock}"
                );
                let mut binds = vec![bind.clone()];
                binds.extend(scope_binds);
                let row: Option<AlertRow> = bind_as(sqlx::query_as(&sql), &binds).fetch_optional(&mut **tx).await?;
                row.map(AlertRow::into_alert).transpose()
            }

            async fn insert_log(tx: &mut Tx, alert_id: &str, kind: &str, log: &str, owner: &str, now: i64) -> Result<()> {
                sqlx::query("INSERT INTO alert_logs (alert_id, kind, log, owner, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(alert_id).bind(kind).bind(log).bind(owner).bind(now)
                    .execute(&mut **tx).await?;
                Ok(())
            }

            async fn insert_note(tx: &mut Tx, alert_id: &str, note: &str, owner: &str, now: i64) -> Result<()> {
                sqlx::query("INSERT INTO alert_notes (alert_id, note, owner, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(alert_id).bind(note).bind(owner).bind(now)
                    .execute(&mut **tx).await?;
                Ok(())
            }

            /// The people an alert is for: user responders and members of team responders.
            /// They start `pending`; the notification engine moves them on.
            async fn add_recipients(tx: &mut Tx, alert: &Alert, now: i64) -> Result<()> {
                for r in &alert.responders {
                    let users: Vec<(String, String)> = match r.kind {
                        ResponderKind::User => vec![(r.id.clone(), r.name.clone())],
                        ResponderKind::Team => sqlx::query_as("SELECT u.id, u.username FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.username")
                            .bind(&r.id).fetch_all(&mut **tx).await?,
                        _ => vec![],
                    };
                    for (uid, username) in users {
                        sqlx::query("INSERT INTO alert_recipients (alert_id, user_id, username, state, method, created_at, updated_at) VALUES ($1, $2, $3, 'pending', '', $4, $4) ON CONFLICT (alert_id, user_id) DO NOTHING")
                            .bind(&alert.id).bind(&uid).bind(&username).bind(now)
                            .execute(&mut **tx).await?;
                    }
                }
                Ok(())
            }

            async fn act(tx: &mut Tx, op: &WriteOp, target: &Identifier, req: &ActionRequest, note: Option<&str>) -> Result<Outcome> {
                let scope = Scope { team_id: op.team_id.clone() };
                let (where_sql, bind) = identifier_clause(target);
                let action_name = |a: &ActionRequest| -> &'static str {
                    match a {
                        ActionRequest::Ready(a) => a.name(),
                        ActionRequest::Escalate(_) => "Escalate",
                        ActionRequest::AddResponder(_) => "Add Responder",
                        ActionRequest::AddTeam(_) => "Add Team",
                    }
                };
                let refused = |alert_id: String, alias: String, status: String| Outcome {
                    success: false,
                    status,
                    action: action_name(req).to_string(),
                    alert_id,
                    alias,
                    deduplicated: false,
                };
                let Some(mut alert) = load_for_update(tx, where_sql, &bind, &scope).await? else {
                    let alias = match target { Identifier::Alias(a) => a.clone(), _ => String::new() };
                    return Ok(refused(String::new(), alias, "Alert does not exist".into()));
                };
                let action = match req {
                    ActionRequest::Ready(a) => a.clone(),
                    ActionRequest::Escalate(r) | ActionRequest::AddResponder(r) | ActionRequest::AddTeam(r) => {
                        let Some(resolved) = resolve(tx, r).await? else {
                            return Ok(refused(alert.id, alert.alias, format!("{} not found", r.kind.as_str())));
                        };
                        match req {
                            ActionRequest::Escalate(_) => Action::Escalate { to: resolved },
                            ActionRequest::AddTeam(_) => Action::AddTeam { team: resolved },
                            _ => Action::AddResponder { responder: resolved },
                        }
                    }
                };
                let lines = match lifecycle::apply(&mut alert, &action, &op.actor, op.now) {
                    Ok(lines) => lines,
                    Err(lifecycle::Refused(why)) => return Ok(refused(alert.id, alert.alias, why)),
                };
                let owner = log_owner(op);
                if action == Action::Delete {
                    for table in ["alert_logs", "alert_notes", "alert_recipients"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE alert_id = $1")).bind(&alert.id).execute(&mut **tx).await?;
                    }
                    sqlx::query("DELETE FROM alerts WHERE id = $1").bind(&alert.id).execute(&mut **tx).await?;
                } else {
                    sqlx::query("UPDATE alerts SET message = $2, description = $3, status = $4, acknowledged = $5, is_seen = $6, snoozed = $7, snoozed_until = $8, count = $9, priority = $10, owner = $11, tags = $12, details = $13, responders = $14, visible_to = $15, team_ids = $16, updated_at = $17, last_occurred_at = $18, ack_time = $19, close_time = $20, acknowledged_by = $21, closed_by = $22 WHERE id = $1")
                        .bind(&alert.id).bind(&alert.message).bind(&alert.description).bind(alert.status.as_str())
                        .bind(alert.acknowledged).bind(alert.is_seen).bind(alert.snoozed).bind(alert.snoozed_until).bind(alert.count)
                        .bind(alert.priority.as_str()).bind(&alert.owner).bind(json(&alert.tags)).bind(json(&alert.details))
                        .bind(responders_to_json(&alert.responders)).bind(responders_to_json(&alert.visible_to)).bind(json(&alert.team_ids()))
                        .bind(alert.updated_at).bind(alert.last_occurred_at).bind(alert.ack_time).bind(alert.close_time)
                        .bind(&alert.acknowledged_by).bind(&alert.closed_by)
                        .execute(&mut **tx).await?;
                    for l in &lines {
                        insert_log(tx, &alert.id, l.kind, &l.text, &owner, op.now).await?;
                    }
                    if let Some(n) = note {
                        insert_note(tx, &alert.id, n, &owner, op.now).await?;
                    }
                    if matches!(action, Action::AddResponder { .. } | Action::AddTeam { .. } | Action::Escalate { .. }) {
                        add_recipients(tx, &alert, op.now).await?;
                    }
                    crate::engine::$modname::on_action(tx, &alert, &action, op.now).await?;
                }
                Ok(Outcome {
                    success: true,
                    status: format!("{} succeeded", action.name()),
                    action: action.name().to_string(),
                    alert_id: alert.id,
                    alias: alert.alias,
                    deduplicated: false,
                })
            }

            // ---------------- alert reads ----------------

            pub async fn get_alert(pool: &Pool, ident: &Identifier, scope: &Scope) -> Result<Option<Alert>> {
                let (where_sql, bind) = identifier_clause(ident);
                let (scope_sql, scope_binds) = scope_clause(scope, DIALECT, 2);
                let sql = format!(
                    "SELECT {ALERT_COLS} FROM alerts a WHERE {where_sql} AND {scope_sql} \
                     ORDER BY CASE WHEN a.status = 'open' THEN 0 ELSE 1 END, a.created_at DESC LIMIT 1"
                );
                let mut binds = vec![bind];
                binds.extend(scope_binds);
                let row: Option<AlertRow> = bind_as(sqlx::query_as(&sql), &binds).fetch_optional(pool).await?;
                row.map(AlertRow::into_alert).transpose()
            }

            fn filter(query: &klaxon_core::query::Query, scope: &Scope) -> (String, Vec<Bind>) {
                let (q_sql, mut binds) = query_sql::where_clause(query, DIALECT, 1);
                let (s_sql, s_binds) = scope_clause(scope, DIALECT, binds.len() + 1);
                binds.extend(s_binds);
                (format!("({q_sql}) AND {s_sql}"), binds)
            }

            pub async fn list_alerts(pool: &Pool, q: &ListQuery) -> Result<Vec<Alert>> {
                let (where_sql, mut binds) = filter(&q.query, &q.scope);
                let dir = if q.descending { "DESC" } else { "ASC" };
                let n = binds.len();
                let sql = format!(
                    "SELECT {ALERT_COLS} FROM alerts a WHERE {where_sql} ORDER BY {} {dir}, a.tiny_id {dir} LIMIT ${} OFFSET ${}",
                    q.sort.column(), n + 1, n + 2
                );
                binds.push(Bind::Int(q.limit));
                binds.push(Bind::Int(q.offset));
                let rows: Vec<AlertRow> = bind_as(sqlx::query_as(&sql), &binds).fetch_all(pool).await?;
                rows.into_iter().map(AlertRow::into_alert).collect()
            }

            pub async fn count_alerts(pool: &Pool, query: &klaxon_core::query::Query, scope: &Scope) -> Result<i64> {
                let (where_sql, binds) = filter(query, scope);
                let sql = format!("SELECT COUNT(*) FROM alerts a WHERE {where_sql}");
                let (n,): (i64,) = bind_as(sqlx::query_as(&sql), &binds).fetch_one(pool).await?;
                Ok(n)
            }

            pub async fn get_request(pool: &Pool, request_id: &str) -> Result<Option<RequestRecord>> {
                let row: Option<(String, String, bool, String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT request_id, action, success, status, alert_id, alias, integration_id, processed_at FROM alert_requests WHERE request_id = $1")
                    .bind(request_id).fetch_optional(pool).await?;
                Ok(row.map(|(request_id, action, success, status, alert_id, alias, integration_id, processed_at)| RequestRecord {
                    request_id, action, success, status, alert_id, alias, integration_id, processed_at,
                }))
            }

            fn page_sql(table_cols: &str, table: &str, page: &LogPage) -> String {
                // Walking "next" in descending order means going to smaller sequence numbers.
                let towards_smaller = page.descending != page.backwards;
                let cmp = if towards_smaller { "<" } else { ">" };
                let dir = if towards_smaller { "DESC" } else { "ASC" };
                let cursor = if page.after.is_some() { format!(" AND seq {cmp} $2") } else { String::new() };
                let limit = if page.after.is_some() { "$3" } else { "$2" };
                format!("SELECT {table_cols} FROM {table} WHERE alert_id = $1{cursor} ORDER BY seq {dir} LIMIT {limit}")
            }

            pub async fn list_notes(pool: &Pool, alert_id: &str, page: &LogPage) -> Result<Vec<NoteRecord>> {
                let sql = page_sql("seq, note, owner, created_at", "alert_notes", page);
                let mut q = sqlx::query_as::<_, (i64, String, String, i64)>(&sql).bind(alert_id);
                if let Some(a) = page.after { q = q.bind(a); }
                let mut rows = q.bind(page.limit).fetch_all(pool).await?;
                if page.backwards { rows.reverse(); }
                Ok(rows.into_iter().map(|(seq, note, owner, created_at)| NoteRecord { seq, note, owner, created_at }).collect())
            }

            pub async fn list_logs(pool: &Pool, alert_id: &str, page: &LogPage) -> Result<Vec<LogRecord>> {
                let sql = page_sql("seq, kind, log, owner, created_at", "alert_logs", page);
                let mut q = sqlx::query_as::<_, (i64, String, String, String, i64)>(&sql).bind(alert_id);
                if let Some(a) = page.after { q = q.bind(a); }
                let mut rows = q.bind(page.limit).fetch_all(pool).await?;
                if page.backwards { rows.reverse(); }
                Ok(rows.into_iter().map(|(seq, kind, log, owner, created_at)| LogRecord { seq, kind, log, owner, created_at }).collect())
            }

            pub async fn list_recipients(pool: &Pool, alert_id: &str) -> Result<Vec<RecipientRecord>> {
                let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
                    "SELECT user_id, username, state, method, created_at, updated_at FROM alert_recipients WHERE alert_id = $1 ORDER BY created_at, username")
                    .bind(alert_id).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(user_id, username, state, method, created_at, updated_at)| RecipientRecord {
                    user_id, username, state, method, created_at, updated_at,
                }).collect())
            }

            // ---------------- snooze timers ----------------

            pub async fn next_snooze_end(pool: &Pool) -> Result<Option<i64>> {
                let (v,): (Option<i64>,) = sqlx::query_as("SELECT MIN(snoozed_until) FROM alerts WHERE snoozed_until IS NOT NULL")
                    .fetch_one(pool).await?;
                Ok(v)
            }

            pub async fn due_snoozes(pool: &Pool, now: i64, limit: i64) -> Result<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM alerts WHERE snoozed_until IS NOT NULL AND snoozed_until <= $1 ORDER BY snoozed_until LIMIT $2")
                    .bind(now).bind(limit).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(id,)| id).collect())
            }
        }
    };
}

backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
backend!(postgres, sqlx::Postgres, Dialect::Postgres);
