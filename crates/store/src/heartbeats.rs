//! Heartbeats: a named interval that a client pings; when a ping is late the heartbeat expires
//! and the engine opens an alert.
//!
//! The due time is the row's `expires_at` (DESIGN §4): a ping moves it to `now + interval`,
//! disabling clears it, and the expiry worker claims rows whose `expires_at` has passed. A
//! claim does not clear the due time at once: it moves it a lease ahead ([`Store::claim_expired_heartbeats`]),
//! and the worker clears it once the alert is committed ([`Store::finish_heartbeat_expiry`]).
//! A process that dies in between leaves a due row behind, which fires again after the lease;
//! the alert's alias de-duplicates that second attempt.
//!
//! The SQL is written once in `heartbeats_backend!`, compiled per backend like `backend!` in
//! `sql.rs`, and reached through the [`Store`] methods at the bottom.

use crate::query_sql::Dialect;
use crate::schedules::TeamRef;
use crate::{Db, Result, Store, StoreError};

/// A heartbeat as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHeartbeat {
    pub id: String,
    pub name: String,
    pub description: String,
    pub interval_ms: i64,
    /// `minutes`, `hours` or `days`: how the interval was given, for rendering it back.
    pub interval_unit: String,
    pub enabled: bool,
    pub owner_team: Option<TeamRef>,
    /// Empty: the alert says "<name> is expired".
    pub alert_message: String,
    pub alert_tags: Vec<String>,
    pub alert_priority: String,
    pub last_ping_at: Option<i64>,
    /// When it expires unless pinged; `None` while disabled or after it expired.
    pub expires_at: Option<i64>,
    pub expired: bool,
    pub managed: bool,
    pub created_at: i64,
}

/// A heartbeat's own fields, for create and update. `owner_team` is a team id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatFields {
    pub name: String,
    pub description: String,
    pub interval_ms: i64,
    pub interval_unit: String,
    pub enabled: bool,
    pub owner_team: Option<String>,
    pub alert_message: String,
    pub alert_tags: Vec<String>,
    pub alert_priority: String,
}

/// A heartbeat the expiry worker claimed: what it needs to open the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedHeartbeat {
    pub id: String,
    pub name: String,
    pub owner_team_id: Option<String>,
    pub alert_message: String,
    pub alert_tags: Vec<String>,
    pub alert_priority: String,
    /// The due time the claim wrote; [`Store::finish_heartbeat_expiry`] clears it only if it
    /// is still this one (a ping in between moved it).
    pub lease_until: i64,
}

/// What a ping found and left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub heartbeat: StoredHeartbeat,
    /// It had expired: the expiry alert should be closed.
    pub was_expired: bool,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn tags_to_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

fn tags_from_json(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| corrupt("heartbeat alert_tags", e))
}

/// A unique-index violation as the 422 it deserves; any other error unchanged.
fn conflict(e: sqlx::Error, name: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Invalid(format!("a heartbeat named {name:?} already exists"))
        }
        _ => StoreError::Db(e),
    }
}

type HeartbeatRow = (
    String,
    String,
    String,
    i64,
    String,
    bool,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    bool,
    bool,
    i64,
);

const HEARTBEAT_SELECT: &str =
    "SELECT h.id, h.name, h.description, h.interval_ms, h.interval_unit, \
    h.enabled, h.owner_team_id, t.name, h.alert_message, h.alert_tags, h.alert_priority, \
    h.last_ping_at, h.expires_at, h.expired, h.managed, h.created_at \
    FROM heartbeats h LEFT JOIN teams t ON t.id = h.owner_team_id";

fn heartbeat_from_row(row: HeartbeatRow) -> Result<StoredHeartbeat> {
    let (
        id,
        name,
        description,
        interval_ms,
        interval_unit,
        enabled,
        team_id,
        team_name,
        msg,
        tags,
        prio,
        ping,
        exp,
        expired,
        managed,
        c,
    ) = row;
    Ok(StoredHeartbeat {
        id,
        name,
        description,
        interval_ms,
        interval_unit,
        enabled,
        owner_team: team_id
            .zip(team_name)
            .map(|(id, name)| TeamRef { id, name }),
        alert_message: msg,
        alert_tags: tags_from_json(&tags)?,
        alert_priority: prio,
        last_ping_at: ping,
        expires_at: exp,
        expired,
        managed,
        created_at: c,
    })
}

/// The state a write decides from, read under the row lock.
struct Current {
    id: String,
    enabled: bool,
    expired: bool,
    interval_ms: i64,
    expires_at: Option<i64>,
}

macro_rules! heartbeats_backend {
    ($modname:ident, $db:ty, $dialect:expr) => {
        mod $modname {
            use super::*;

            type DB = $db;
            type Pool = sqlx::Pool<DB>;
            type Tx = sqlx::Transaction<'static, DB>;
            const DIALECT: Dialect = $dialect;

            /// A write transaction; on SQLite it takes the write lock up front, because a
            /// deferred transaction that reads and then writes can fail with SQLITE_BUSY.
            async fn begin_write(pool: &Pool) -> Result<Tx> {
                Ok(match DIALECT {
                    Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
                    Dialect::Postgres => pool.begin().await?,
                })
            }

            async fn load(pool: &Pool, name: Option<&str>) -> Result<Vec<StoredHeartbeat>> {
                let rows: Vec<HeartbeatRow> = match name {
                    Some(n) => {
                        let sql = format!("{HEARTBEAT_SELECT} WHERE lower(h.name) = lower($1)");
                        sqlx::query_as(&sql).bind(n).fetch_all(pool).await?
                    }
                    None => {
                        let sql = format!("{HEARTBEAT_SELECT} ORDER BY lower(h.name)");
                        sqlx::query_as(&sql).fetch_all(pool).await?
                    }
                };
                rows.into_iter().map(heartbeat_from_row).collect()
            }

            pub async fn list(pool: &Pool) -> Result<Vec<StoredHeartbeat>> {
                load(pool, None).await
            }

            pub async fn by_name(pool: &Pool, name: &str) -> Result<Option<StoredHeartbeat>> {
                Ok(load(pool, Some(name)).await?.into_iter().next())
            }

            async fn team_id(tx: &mut Tx, key: &Option<String>) -> Result<Option<String>> {
                let Some(key) = key else { return Ok(None) };
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM teams WHERE id = $1 OR lower(name) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                    .bind(key).fetch_optional(&mut **tx).await?;
                row.map(|(id,)| Some(id)).ok_or_else(|| StoreError::Invalid(format!("team {key:?} does not exist")))
            }

            /// The row a write changes, locked until the transaction ends.
            async fn lock(tx: &mut Tx, name: &str) -> Result<Option<Current>> {
                let lock = match DIALECT { Dialect::Postgres => " FOR UPDATE", Dialect::Sqlite => "" };
                let sql = format!("SELECT id, enabled, expired, interval_ms, expires_at FROM heartbeats WHERE lower(name) = lower($1){lock}");
                let row: Option<(String, bool, bool, i64, Option<i64>)> = sqlx::query_as(&sql).bind(name).fetch_optional(&mut **tx).await?;
                Ok(row.map(|(id, enabled, expired, interval_ms, expires_at)| Current { id, enabled, expired, interval_ms, expires_at }))
            }

            pub async fn create(pool: &Pool, f: &HeartbeatFields, now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                let team = team_id(&mut tx, &f.owner_team).await?;
                let expires_at = f.enabled.then_some(now + f.interval_ms);
                sqlx::query("INSERT INTO heartbeats (id, name, description, interval_ms, interval_unit, enabled, owner_team_id, alert_message, alert_tags, alert_priority, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)")
                    .bind(uuid::Uuid::now_v7().to_string()).bind(&f.name).bind(&f.description).bind(f.interval_ms)
                    .bind(&f.interval_unit).bind(f.enabled).bind(&team).bind(&f.alert_message)
                    .bind(tags_to_json(&f.alert_tags)).bind(&f.alert_priority).bind(expires_at).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict(e, &f.name))?;
                tx.commit().await?;
                Ok(())
            }

            /// Rewrites every field of the heartbeat named `name`. The due time follows:
            /// disabling clears it, enabling or a new interval restarts it from `now`.
            pub async fn update(pool: &Pool, name: &str, f: &HeartbeatFields, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let Some(cur) = lock(&mut tx, name).await? else { return Ok(false) };
                rewrite(&mut tx, &cur, f, false, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            /// Rewrites every field of `cur` from `f` (`managed` marks it as the config's). The
            /// due time follows: disabling clears it, enabling or a new interval restarts it from
            /// `now`, otherwise it stays.
            async fn rewrite(tx: &mut Tx, cur: &Current, f: &HeartbeatFields, managed: bool, now: i64) -> Result<()> {
                let team = team_id(tx, &f.owner_team).await?;
                let expires_at = if !f.enabled {
                    None
                } else if !cur.enabled || (!cur.expired && cur.interval_ms != f.interval_ms) {
                    Some(now + f.interval_ms)
                } else {
                    cur.expires_at
                };
                sqlx::query("UPDATE heartbeats SET name = $2, description = $3, interval_ms = $4, interval_unit = $5, enabled = $6, owner_team_id = $7, alert_message = $8, alert_tags = $9, alert_priority = $10, expires_at = $11, updated_at = $12, managed = (managed OR $13) WHERE id = $1")
                    .bind(&cur.id).bind(&f.name).bind(&f.description).bind(f.interval_ms)
                    .bind(&f.interval_unit).bind(f.enabled).bind(&team).bind(&f.alert_message)
                    .bind(tags_to_json(&f.alert_tags)).bind(&f.alert_priority).bind(expires_at).bind(now).bind(managed)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, &f.name))?;
                Ok(())
            }

            pub async fn set_enabled(pool: &Pool, name: &str, enabled: bool, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let Some(cur) = lock(&mut tx, name).await? else { return Ok(false) };
                let expires_at = match (enabled, cur.enabled) {
                    (false, _) => None,
                    (true, true) => cur.expires_at,
                    (true, false) => Some(now + cur.interval_ms),
                };
                sqlx::query("UPDATE heartbeats SET enabled = $2, expires_at = $3, updated_at = $4 WHERE id = $1")
                    .bind(&cur.id).bind(enabled).bind(expires_at).bind(now)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn ping(pool: &Pool, name: &str, now: i64) -> Result<Option<bool>> {
                let mut tx = begin_write(pool).await?;
                let Some(cur) = lock(&mut tx, name).await? else { return Ok(None) };
                let expires_at = cur.enabled.then_some(now + cur.interval_ms);
                sqlx::query("UPDATE heartbeats SET last_ping_at = $2, expires_at = $3, expired = FALSE WHERE id = $1")
                    .bind(&cur.id).bind(now).bind(expires_at)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some(cur.expired))
            }

            /// Makes the heartbeats declared in the config file (`managed`) what `declared`
            /// says, in one transaction: new ones are created, the others rewritten as
            /// [`update`] would (their due time kept unless enabled or given a new interval),
            /// an API-made heartbeat of the same name is taken over, and managed heartbeats no
            /// longer declared are deleted.
            pub async fn apply(pool: &Pool, declared: &[HeartbeatFields], now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                for f in declared {
                    match lock(&mut tx, &f.name).await? {
                        Some(cur) => rewrite(&mut tx, &cur, f, true, now).await?,
                        None => {
                            let team = team_id(&mut tx, &f.owner_team).await?;
                            sqlx::query("INSERT INTO heartbeats (id, name, description, interval_ms, interval_unit, enabled, owner_team_id, alert_message, alert_tags, alert_priority, expires_at, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, TRUE, $12, $12)")
                                .bind(uuid::Uuid::now_v7().to_string()).bind(&f.name).bind(&f.description).bind(f.interval_ms)
                                .bind(&f.interval_unit).bind(f.enabled).bind(&team).bind(&f.alert_message)
                                .bind(tags_to_json(&f.alert_tags)).bind(&f.alert_priority).bind(f.enabled.then_some(now + f.interval_ms)).bind(now)
                                .execute(&mut *tx).await
                                .map_err(|e| conflict(e, &f.name))?;
                        }
                    }
                }
                let keep: std::collections::BTreeSet<String> = declared.iter().map(|f| f.name.to_lowercase()).collect();
                let managed: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM heartbeats WHERE managed")
                    .fetch_all(&mut *tx).await?;
                for (id, name) in managed {
                    if !keep.contains(&name.to_lowercase()) {
                        sqlx::query("DELETE FROM heartbeats WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            pub async fn delete(pool: &Pool, name: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM heartbeats WHERE lower(name) = lower($1)")
                    .bind(name).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn next_expiry(pool: &Pool) -> Result<Option<i64>> {
                let row: (Option<i64>,) = sqlx::query_as("SELECT MIN(expires_at) FROM heartbeats WHERE expires_at IS NOT NULL")
                    .fetch_one(pool).await?;
                Ok(row.0)
            }

            /// Marks due heartbeats expired and moves their due time to `lease_until`, in one
            /// statement: of two processes claiming at once, only one gets each row (the outer
            /// `expires_at <= $1` is checked again against the row it locks).
            pub async fn claim(pool: &Pool, now: i64, lease_until: i64, limit: i64) -> Result<Vec<ClaimedHeartbeat>> {
                // PostgreSQL: a second claimer skips the rows the first one holds instead of
                // waiting for them and then finding them no longer due.
                let skip = match DIALECT { Dialect::Postgres => " FOR UPDATE SKIP LOCKED", Dialect::Sqlite => "" };
                let sql = format!(
                    "UPDATE heartbeats SET expired = TRUE, expires_at = $2 \
                     WHERE expires_at IS NOT NULL AND expires_at <= $1 AND id IN \
                     (SELECT id FROM heartbeats WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $3{skip}) \
                     RETURNING id, name, owner_team_id, alert_message, alert_tags, alert_priority");
                let mut tx = begin_write(pool).await?;
                let rows: Vec<(String, String, Option<String>, String, String, String)> = sqlx::query_as(&sql)
                    .bind(now).bind(lease_until).bind(limit)
                    .fetch_all(&mut *tx).await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(id, name, owner_team_id, alert_message, tags, alert_priority)| {
                        Ok(ClaimedHeartbeat { id, name, owner_team_id, alert_message, alert_tags: tags_from_json(&tags)?, alert_priority, lease_until })
                    })
                    .collect()
            }

            /// Clears the due time a claim wrote; `false` when a ping (or an edit) moved it.
            pub async fn finish_expiry(pool: &Pool, id: &str, lease_until: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE heartbeats SET expires_at = NULL WHERE id = $1 AND expired AND expires_at = $2")
                    .bind(id).bind(lease_until).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

heartbeats_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
heartbeats_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

impl Store {
    /// Every heartbeat, by name.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_heartbeats(&self) -> Result<Vec<StoredHeartbeat>> {
        on_backend!(self, m, pool => m::list(pool).await)
    }

    /// Case-insensitive, as names are unique that way.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn heartbeat(&self, name: &str) -> Result<Option<StoredHeartbeat>> {
        on_backend!(self, m, pool => m::by_name(pool, name).await)
    }

    /// Creates a heartbeat; enabled, it expires `interval` from `now` unless pinged. A taken
    /// name or an unknown team is [`StoreError::Invalid`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_heartbeat(&self, f: &HeartbeatFields, now: i64) -> Result<()> {
        on_backend!(self, m, pool => m::create(pool, f, now).await)
    }

    /// Rewrites the heartbeat named `name`; `false` when there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_heartbeat(
        &self,
        name: &str,
        f: &HeartbeatFields,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update(pool, name, f, now).await)
    }

    /// Enables (restarting the interval from `now`) or disables (no due time) a heartbeat;
    /// `false` when there is none. Enabling an enabled heartbeat changes nothing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_heartbeat_enabled(&self, name: &str, enabled: bool, now: i64) -> Result<bool> {
        on_backend!(self, m, pool => m::set_enabled(pool, name, enabled, now).await)
    }

    /// Applies the heartbeats declared in the config file (see the backend's `apply`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply_heartbeats(&self, declared: &[HeartbeatFields], now: i64) -> Result<()> {
        on_backend!(self, m, pool => m::apply(pool, declared, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_heartbeat(&self, name: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete(pool, name).await)
    }

    /// Records a ping at `now`: the heartbeat is no longer expired and, if enabled, is next due
    /// `interval` from now. `None` when there is no such heartbeat; otherwise whether it had
    /// expired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping_heartbeat(&self, name: &str, now: i64) -> Result<Option<bool>> {
        on_backend!(self, m, pool => m::ping(pool, name, now).await)
    }

    /// The earliest pending heartbeat due time, if any.
    pub async fn next_heartbeat_expiry(&self) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::next_expiry(pool).await)
    }

    /// Claims (at most `limit`) heartbeats due at `now`: marks them expired and leases them
    /// until `lease_until`, when they fall due again unless the claim is finished.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_expired_heartbeats(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedHeartbeat>> {
        on_backend!(self, m, pool => m::claim(pool, now, lease_until, limit).await)
    }

    /// Ends a claim once its alert is committed; `false` when a ping came in between.
    pub async fn finish_heartbeat_expiry(&self, id: &str, lease_until: i64) -> Result<bool> {
        on_backend!(self, m, pool => m::finish_expiry(pool, id, lease_until).await)
    }
}
