//! Klaxon's storage: one [`Store`] over SQLite (default) or PostgreSQL. The only place with SQL.
//!
//! SQL is written once in the common subset of both dialects (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`). To keep it written once while using sqlx's concrete pools (not `AnyPool`),
//! the functions that touch the database are generated per backend by the `backend!` macro in
//! `sql.rs`; [`Store`] dispatches to the module of its backend.

/// Runs `$body` with `$m` bound to the calling file's backend module (`sqlite` or `postgres`,
/// which each file generates with its own backend macro) and `$pool` to the matching pool.
/// Defined before the modules so that every one of them can use it.
macro_rules! on_backend {
    ($self:expr, $m:ident, $pool:ident => $body:expr) => {
        match &$self.db {
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

/// [`on_backend`] on the write pool: SQLite's one write connection (whose transactions start
/// as writers), the same pool on PostgreSQL.
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

mod alertmanager;
mod directory;
mod engine;
mod engine_pg;
mod heartbeats;
mod model;
mod query_sql;
mod schedules;
mod sql;
mod status;
#[doc(hidden)]
pub mod testing;
mod ui;

pub use alertmanager::*;
pub use directory::*;
pub use engine::*;
pub use heartbeats::*;
pub use model::*;
pub use query_sql::{Bind, Dialect};
pub use schedules::*;
pub use status::*;
pub use ui::*;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    /// A name or id that must be unique is taken (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    #[error(
        "database {0:?} is in use by another klaxon process (SQLite allows one engine per file)"
    )]
    Locked(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The storage handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// Where alert writes go. On SQLite a pool of one connection: there is only one writer
    /// anyway, and one connection keeps its page cache warm across batches. On PostgreSQL the
    /// same pool as `db`.
    pub(crate) writer: Db,
    /// Turns status-page incident updates into subscriber deliveries (status.rs).
    pub(crate) status_notifier: std::sync::Arc<std::sync::OnceLock<StatusNotifier>>,
    /// Bumped by every status-page write (status.rs): caches of rendered pages compare it.
    pub(crate) status_gen: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Runs `$body` with `$m` bound to the backend module (`sql::sqlite` or `sql::postgres`) and
/// `$pool` to the matching pool.
macro_rules! dispatch {
    ($self:expr, $m:ident, $pool:ident => $body:expr) => {
        dispatch!(@on $self.db, $m, $pool => $body)
    };
    (@on $db:expr, $m:ident, $pool:ident => $body:expr) => {
        match &$db {
            Db::Sqlite($pool) => {
                use sql::sqlite as $m;
                $body
            }
            Db::Postgres($pool) => {
                use sql::postgres as $m;
                $body
            }
        }
    };
}

/// Errors that a retry of the same transaction can get past: deadlocks, serialization
/// failures, and an alias opened concurrently by another writer (the retry then sees it and
/// de-duplicates).
fn is_transient(e: &StoreError) -> bool {
    let StoreError::Db(sqlx::Error::Database(d)) = e else {
        return false;
    };
    match d.code().as_deref() {
        Some("40P01") | Some("40001") => true,
        Some("23505") => d.constraint() == Some("alerts_open_alias"),
        Some("5") | Some("6") => true, // SQLITE_BUSY, SQLITE_LOCKED
        _ => false,
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// `sqlite://PATH` (or `sqlite::memory:`) or `postgres://…`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Ok(Store {
                db: Db::Postgres(pool.clone()),
                writer: Db::Postgres(pool),
                status_notifier: Default::default(),
                status_gen: Default::default(),
            })
        } else if url.starts_with("sqlite:") {
            // WAL lets readers run beside the one writer; synchronous=FULL makes every commit
            // durable, which is what a 2xx promises. Group commit pays for the fsync.
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", "-32768")
                .pragma("mmap_size", "268435456")
                .pragma("temp_store", "memory")
                // Checkpoint every ~40 MB of WAL instead of SQLite's 4 MB: the committing
                // writer runs the checkpoint, and a page dirtied by many batches (random
                // inserts into the fingerprint and alias indexes) is then copied back once
                // instead of once per batch (Alertmanager API ingest on the side-by-side bench:
                // 15-19k -> 20-21k alerts/s; docs/benchmarks.md).
                .pragma("wal_autocheckpoint", "10000");
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !in_memory {
                // Switch the file to WAL once, alone: the switch needs an exclusive lock, and
                // the pools below open connections concurrently (a race that failed a start
                // with "database is locked" on a brand-new file). Once in WAL, the pragma each
                // pooled connection runs is a no-op.
                use sqlx::Connection;
                let one = sqlx::SqliteConnection::connect_with(&opts).await?;
                one.close().await?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { 8 })
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts.clone())
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            let writer = if in_memory {
                pool.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?
            };
            Ok(Store {
                db: Db::Sqlite(pool),
                writer: Db::Sqlite(writer),
                status_notifier: Default::default(),
                status_gen: Default::default(),
            })
        } else {
            Err(StoreError::Invalid(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )))
        }
    }

    /// The same database through a pool of its own, opened on the calling task's runtime
    /// (PostgreSQL connections belong to the runtime that opened them; the engine runs on its
    /// own thread so that its round trips do not queue behind HTTP requests). On SQLite the
    /// store itself: its connections run on their own threads, and it has one writer.
    pub async fn with_own_pool(&self, max_connections: u32) -> Result<Store> {
        match &self.db {
            Db::Sqlite(_) => Ok(self.clone()),
            Db::Postgres(p) => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with((*p.connect_options()).clone())
                    .await?;
                Ok(Store {
                    db: Db::Postgres(pool.clone()),
                    writer: Db::Postgres(pool),
                    status_notifier: self.status_notifier.clone(),
                    status_gen: self.status_gen.clone(),
                })
            }
        }
    }

    /// PostgreSQL: analyzes Klaxon's tables whose statistics describe a (nearly) empty table
    /// (never analyzed, or analyzed by a migration while empty) after 500 rows changed;
    /// returns their names. Autovacuum does the same, but visits a database once a
    /// minute at best: a new database under load would run until then on plans made for empty
    /// tables (the open-alias lookup scanning every open alert, claims scanning whole tables).
    /// Once a table has statistics, keeping them fresh is autovacuum's job (analyzing on every
    /// doubling here cost the engine latency spikes while tables grew). SQLite: nothing (its
    /// planner does not use statistics unless asked).
    pub async fn analyze_grown_tables(&self) -> Result<Vec<String>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(vec![]);
        };
        let grown: Vec<(String,)> = sqlx::query_as(
            "SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
             WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze >= 500 \
               AND c.reltuples < 1000 ORDER BY s.relname",
        )
        .fetch_all(pool)
        .await?;
        let mut done = Vec::with_capacity(grown.len());
        for (table,) in grown {
            // Quoted as an identifier: the names come from the catalog.
            sqlx::query(&format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))
                .execute(pool)
                .await?;
            done.push(table);
        }
        Ok(done)
    }

    pub fn dialect(&self) -> Dialect {
        match self.db {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        dispatch!(self, m, pool => m::ping(pool).await.is_ok())
    }

    pub async fn close(&self) {
        for db in [&self.writer, &self.db] {
            match db {
                Db::Sqlite(p) => p.close().await,
                Db::Postgres(p) => p.close().await,
            }
        }
    }

    // ---- directory: users, teams, integrations ----

    /// Makes the database hold exactly the users, teams and integrations the config declares
    /// (objects created through the API are left alone).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply_directory(&self, d: &DirectorySpec, now: i64) -> Result<()> {
        dispatch!(self, m, pool => m::apply_directory(pool, d, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn integration_by_key_hash(&self, key_hash: &str) -> Result<Option<Integration>> {
        dispatch!(self, m, pool => m::integration_by_key_hash(pool, key_hash).await)
    }

    pub async fn integration_count(&self) -> Result<i64> {
        dispatch!(self, m, pool => m::integration_count(pool).await)
    }

    /// Creates an integration through the API side (not managed by config).
    pub async fn create_integration(&self, i: &NewIntegration, now: i64) -> Result<Integration> {
        dispatch!(self, m, pool => m::create_integration(pool, i, now).await)
    }

    pub async fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        dispatch!(self, m, pool => m::team_by_name(pool, name).await)
    }

    // ---- alerts: writes ----

    /// Applies write operations in order in one transaction (group commit). Each operation's
    /// outcome is recorded under its request id in the same transaction. If the batch fails as a
    /// whole, each operation is retried alone so that one bad operation cannot sink the others.
    #[tracing::instrument(level = "debug", skip_all, fields(ops = ops.len()))]
    pub async fn write_batch(&self, ops: &[WriteOp]) -> Vec<Result<Outcome>> {
        dispatch!(@on self.writer, m, pool => {
            let mut attempt = 0;
            let first = loop {
                match m::write_batch(pool, ops).await {
                    Err(e) if attempt < 4 && is_transient(&e) => {
                        attempt += 1;
                        tracing::debug!(error = %e, attempt, "write batch: transient conflict, retrying");
                        tokio::time::sleep(Duration::from_millis(2 << attempt)).await;
                    }
                    other => break other,
                }
            };
            match first {
                Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                Err(batch_err) if ops.len() == 1 => vec![Err(batch_err)],
                Err(_) => {
                    let mut out = Vec::with_capacity(ops.len());
                    for op in ops {
                        out.push(
                            m::write_batch(pool, std::slice::from_ref(op))
                                .await
                                .map(|mut v| v.remove(0)),
                        );
                    }
                    out
                }
            }
        })
    }

    // ---- alerts: reads ----

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn get_alert(
        &self,
        ident: &Identifier,
        scope: &Scope,
    ) -> Result<Option<StoredAlert>> {
        dispatch!(self, m, pool => m::get_alert(pool, ident, scope).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_alerts(&self, q: &ListQuery) -> Result<Vec<StoredAlert>> {
        dispatch!(self, m, pool => m::list_alerts(pool, q).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_alerts(
        &self,
        query: &klaxon_core::query::Query,
        scope: &Scope,
    ) -> Result<i64> {
        dispatch!(self, m, pool => m::count_alerts(pool, query, scope).await)
    }

    pub async fn get_request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        dispatch!(self, m, pool => m::get_request(pool, request_id).await)
    }

    pub async fn list_notes(&self, alert_id: &str, page: &LogPage) -> Result<Vec<NoteRecord>> {
        dispatch!(self, m, pool => m::list_notes(pool, alert_id, page).await)
    }

    pub async fn list_logs(&self, alert_id: &str, page: &LogPage) -> Result<Vec<LogRecord>> {
        dispatch!(self, m, pool => m::list_logs(pool, alert_id, page).await)
    }

    pub async fn list_recipients(&self, alert_id: &str) -> Result<Vec<RecipientRecord>> {
        dispatch!(self, m, pool => m::list_recipients(pool, alert_id).await)
    }

    // ---- engine: snooze timers ----

    /// The earliest snooze end still pending, if any.
    pub async fn next_snooze_end(&self) -> Result<Option<i64>> {
        dispatch!(self, m, pool => m::next_snooze_end(pool).await)
    }

    /// Ids of alerts whose snooze ended at or before `now` (at most `limit`).
    pub async fn due_snoozes(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        dispatch!(self, m, pool => m::due_snoozes(pool, now, limit).await)
    }
}
