//! What the web UI keeps: password hashes, browser sessions, the durable sign-in failure
//! counter, and the alert list as a person browses it (visibility by team, keyset paging).
//!
//! Sessions are stored by the SHA-256 of their token (the cookie holds the token itself), so
//! reading the database does not let anyone sign in. The alert list pages with a cursor over
//! `(sort column, tiny_id)` instead of `OFFSET`, so page 50 costs what page 1 costs, and it
//! never counts the whole table.
//!
//! The SQL is written once in `ui_backend!` and compiled per backend, like `backend!` in
//! `sql.rs`.

use crate::query_sql::{self, Bind, Dialect};
use crate::sql::{AlertRow, ALERT_COLS};
use crate::{Db, DeliveryRecord, Integration, Result, Store, StoreError};
use klaxon_core::lifecycle::Alert;

/// A person who can sign in to the web UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiUser {
    pub id: String,
    pub username: String,
    pub full_name: String,
    /// `admin`, `user` or `stakeholder`.
    pub role: String,
    pub time_zone: String,
    /// An argon2 PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Teams the user is a member of.
    pub team_ids: Vec<String>,
}

/// A live (not expired, not revoked) session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSession {
    pub user: UiUser,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// Which alerts a person may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Admins: every alert.
    All,
    /// Everyone else: alerts with no team, alerts whose teams (responders and `visibleTo`)
    /// include one of `team_ids`, and alerts naming `user_id` as a responder.
    Member {
        user_id: String,
        team_ids: Vec<String>,
    },
}

/// Orders the alert list offers. Each is a column plus `tiny_id` as the tie-breaker, so a
/// cursor names a position exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UiSort {
    #[default]
    Newest,
    Oldest,
    /// P1 first, newest first within a priority.
    Priority,
    /// Most recently occurred (again) first.
    LastOccurred,
}

impl UiSort {
    pub fn parse(s: &str) -> Option<UiSort> {
        Some(match s {
            "newest" => UiSort::Newest,
            "oldest" => UiSort::Oldest,
            "priority" => UiSort::Priority,
            "last" => UiSort::LastOccurred,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UiSort::Newest => "newest",
            UiSort::Oldest => "oldest",
            UiSort::Priority => "priority",
            UiSort::LastOccurred => "last",
        }
    }

    /// (column, its direction is descending, tiny_id direction is descending)
    fn shape(self) -> (&'static str, bool, bool) {
        match self {
            UiSort::Newest => ("a.created_at", true, true),
            UiSort::Oldest => ("a.created_at", false, false),
            UiSort::Priority => ("a.priority", false, true),
            UiSort::LastOccurred => ("a.last_occurred_at", true, true),
        }
    }

    /// The cursor that continues after `a` in this order.
    pub fn cursor_after(self, a: &Alert) -> Cursor {
        let key = match self {
            UiSort::Newest | UiSort::Oldest => a.created_at.to_string(),
            UiSort::Priority => a.priority.to_string(),
            UiSort::LastOccurred => a.last_occurred_at.to_string(),
        };
        Cursor {
            key,
            tiny_id: a.tiny_id,
        }
    }
}

/// A position in the alert list: the sort column's value and the tiny id of the last alert
/// shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub tiny_id: i64,
}

impl Cursor {
    /// `key~tiny_id`, the form links carry.
    pub fn encode(&self) -> String {
        format!("{}~{}", self.key, self.tiny_id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (key, tiny) = s.rsplit_once('~')?;
        Some(Cursor {
            key: key.to_string(),
            tiny_id: tiny.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct UiAlertQuery {
    pub query: klaxon_core::query::Query,
    pub visibility: Visibility,
    pub sort: UiSort,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// The visibility filter over `alerts AS a`, with placeholders from `$n`.
fn visibility_clause(v: &Visibility, dialect: Dialect, n: usize) -> (String, Vec<Bind>) {
    let Visibility::Member { user_id, team_ids } = v else {
        return ("1=1".into(), vec![]);
    };
    let mut binds = vec![Bind::Text(user_id.clone())];
    let user = match dialect {
        Dialect::Sqlite => format!(
            "EXISTS (SELECT 1 FROM json_each(a.responders) AS r \
             WHERE json_extract(r.value, '$.type') = 'user' AND json_extract(r.value, '$.id') = ${n})"
        ),
        Dialect::Postgres => format!(
            "a.responders::jsonb @> jsonb_build_array(jsonb_build_object('type', 'user', 'id', ${n}::text))"
        ),
    };
    let mut parts = vec!["a.team_ids = '[]'".to_string(), user];
    if !team_ids.is_empty() {
        let list: Vec<String> = (0..team_ids.len())
            .map(|i| format!("${}", n + 1 + i))
            .collect();
        parts.push(match dialect {
            Dialect::Sqlite => format!(
                "EXISTS (SELECT 1 FROM json_each(a.team_ids) AS t WHERE t.value IN ({}))",
                list.join(", ")
            ),
            Dialect::Postgres => format!(
                "(a.team_ids::jsonb ?| ARRAY[{}]::text[])",
                list.iter()
                    .map(|p| format!("{p}::text"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
        binds.extend(team_ids.iter().cloned().map(Bind::Text));
    }
    (format!("({})", parts.join(" OR ")), binds)
}

type UserRow = (String, String, String, String, String, Option<String>);

const USER_SELECT: &str =
    "SELECT u.id, u.username, u.full_name, u.role, u.time_zone, u.password_hash FROM users u";

type IntegrationTuple = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    bool,
    bool,
);

fn integration_from_row(r: IntegrationTuple) -> Result<Integration> {
    let (id, name, kind, team_id, team_name, prio, tags, enabled, managed) = r;
    Ok(Integration {
        default_priority: match prio {
            Some(p) => Some(
                p.parse()
                    .map_err(|e| StoreError::Corrupt(format!("default_priority: {e}")))?,
            ),
            None => None,
        },
        default_tags: serde_json::from_str(&tags)
            .map_err(|e| StoreError::Corrupt(format!("default_tags: {e}")))?,
        id,
        name,
        kind,
        team_id,
        team_name,
        enabled,
        managed,
    })
}

/// How long a failure streak is remembered: a failure after this much quiet starts over.
const FAILURE_MEMORY_MS: i64 = 60 * 60 * 1000;

macro_rules! ui_backend {
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

            async fn with_teams(pool: &Pool, row: Option<UserRow>) -> Result<Option<UiUser>> {
                let Some((id, username, full_name, role, time_zone, password_hash)) = row else {
                    return Ok(None);
                };
                let teams: Vec<(String,)> = sqlx::query_as("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
                    .bind(&id).fetch_all(pool).await?;
                Ok(Some(UiUser {
                    id, username, full_name, role, time_zone, password_hash,
                    team_ids: teams.into_iter().map(|(t,)| t).collect(),
                }))
            }

            pub async fn user_by_username(pool: &Pool, username: &str) -> Result<Option<UiUser>> {
                let sql = format!("{USER_SELECT} WHERE lower(u.username) = lower($1)");
                let row: Option<UserRow> = sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?;
                with_teams(pool, row).await
            }

            pub async fn usernames(pool: &Pool) -> Result<Vec<(String, String)>> {
                Ok(sqlx::query_as("SELECT username, full_name FROM users ORDER BY lower(username)")
                    .fetch_all(pool).await?)
            }

            pub async fn ensure_user(pool: &Pool, username: &str, role: &str, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let found: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE lower(username) = lower($1)")
                    .bind(username).fetch_optional(&mut *tx).await?;
                if found.is_some() {
                    return Ok(false);
                }
                sqlx::query("INSERT INTO users (id, username, full_name, role, time_zone, managed, created_at) VALUES ($1, $2, '', $3, 'UTC', FALSE, $4)")
                    .bind(uuid::Uuid::now_v7().to_string()).bind(username).bind(role).bind(now)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn set_password(pool: &Pool, username: &str, hash: &str, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let found: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE lower(username) = lower($1)")
                    .bind(username).fetch_optional(&mut *tx).await?;
                let Some((id,)) = found else { return Ok(false) };
                sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(&id).bind(hash).execute(&mut *tx).await?;
                // A new password signs every browser of that user out.
                sqlx::query("UPDATE ui_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(&id).bind(now).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM ui_login_failures WHERE username = $1")
                    .bind(username.to_lowercase()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn create_session(pool: &Pool, token_hash: &str, user_id: &str, csrf: &str, now: i64, expires_at: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                sqlx::query("DELETE FROM ui_sessions WHERE expires_at < $1")
                    .bind(now).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO ui_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(token_hash).bind(user_id).bind(csrf).bind(now).bind(expires_at)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn session(pool: &Pool, token_hash: &str, now: i64) -> Result<Option<UiSession>> {
                let row: Option<(String, String, i64)> = sqlx::query_as(
                    "SELECT user_id, csrf_token, expires_at FROM ui_sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2")
                    .bind(token_hash).bind(now).fetch_optional(pool).await?;
                let Some((user_id, csrf_token, expires_at)) = row else { return Ok(None) };
                let sql = format!("{USER_SELECT} WHERE u.id = $1");
                let user: Option<UserRow> = sqlx::query_as(&sql).bind(&user_id).fetch_optional(pool).await?;
                Ok(with_teams(pool, user).await?.map(|user| UiSession { user, csrf_token, expires_at }))
            }

            pub async fn revoke_session(pool: &Pool, token_hash: &str, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE ui_sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL")
                    .bind(token_hash).bind(now).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn locked_until(pool: &Pool, username: &str) -> Result<i64> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT locked_until FROM ui_login_failures WHERE username = $1")
                    .bind(username.to_lowercase()).fetch_optional(pool).await?;
                Ok(row.map_or(0, |(t,)| t))
            }

            pub async fn record_failure(pool: &Pool, username: &str, now: i64, lock_for: fn(i64) -> i64) -> Result<(i64, i64)> {
                let mut tx = begin_write(pool).await?;
                let (failures,): (i64,) = sqlx::query_as(
                    "INSERT INTO ui_login_failures (username, failures, locked_until, updated_at) VALUES ($1, 1, 0, $2) \
                     ON CONFLICT (username) DO UPDATE SET \
                     failures = CASE WHEN ui_login_failures.updated_at < $3 THEN 1 ELSE ui_login_failures.failures + 1 END, \
                     updated_at = $2 RETURNING failures")
                    .bind(username.to_lowercase()).bind(now).bind(now - FAILURE_MEMORY_MS)
                    .fetch_one(&mut *tx).await?;
                let lock = lock_for(failures);
                let until = if lock > 0 { now + lock } else { 0 };
                sqlx::query("UPDATE ui_login_failures SET locked_until = $2 WHERE username = $1")
                    .bind(username.to_lowercase()).bind(until).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok((failures, until))
            }

            pub async fn clear_failures(pool: &Pool, username: &str) -> Result<()> {
                sqlx::query("DELETE FROM ui_login_failures WHERE username = $1")
                    .bind(username.to_lowercase()).execute(pool).await?;
                Ok(())
            }

            pub async fn list_alerts(pool: &Pool, q: &UiAlertQuery) -> Result<Vec<Alert>> {
                let (q_sql, mut binds) = query_sql::where_clause(&q.query, DIALECT, 1);
                let (v_sql, v_binds) = visibility_clause(&q.visibility, DIALECT, binds.len() + 1);
                binds.extend(v_binds);
                let (col, col_desc, tiny_desc) = q.sort.shape();
                let mut where_sql = format!("({q_sql}) AND {v_sql}");
                if let Some(c) = &q.after {
                    let key = match q.sort {
                        UiSort::Priority => Bind::Text(c.key.clone()),
                        _ => Bind::Int(c.key.parse().map_err(|_| StoreError::Invalid("the page cursor is not valid; start from the first page".into()))?),
                    };
                    let n = binds.len();
                    let op = |desc: bool| if desc { "<" } else { ">" };
                    where_sql.push_str(&format!(
                        " AND ({col} {} ${} OR ({col} = ${} AND a.tiny_id {} ${}))",
                        op(col_desc), n + 1, n + 1, op(tiny_desc), n + 2
                    ));
                    binds.push(key);
                    binds.push(Bind::Int(c.tiny_id));
                }
                let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
                let sql = format!(
                    "SELECT {ALERT_COLS} FROM alerts a WHERE {where_sql} ORDER BY {col} {}, a.tiny_id {} LIMIT ${}",
                    dir(col_desc), dir(tiny_desc), binds.len() + 1
                );
                binds.push(Bind::Int(q.limit));
                let rows: Vec<AlertRow> = bind_as(sqlx::query_as(&sql), &binds).fetch_all(pool).await?;
                rows.into_iter().map(AlertRow::into_alert).collect()
            }

            pub async fn alert(pool: &Pool, tiny_id: i64, v: &Visibility) -> Result<Option<Alert>> {
                let (v_sql, mut binds) = visibility_clause(v, DIALECT, 2);
                binds.insert(0, Bind::Int(tiny_id));
                let sql = format!("SELECT {ALERT_COLS} FROM alerts a WHERE a.tiny_id = $1 AND {v_sql}");
                let row: Option<AlertRow> = bind_as(sqlx::query_as(&sql), &binds).fetch_optional(pool).await?;
                row.map(AlertRow::into_alert).transpose()
            }

            pub async fn integrations(pool: &Pool) -> Result<Vec<Integration>> {
                let rows: Vec<IntegrationTuple> = sqlx::query_as(
                    "SELECT i.id, i.name, i.kind, i.team_id, t.name, i.default_priority, i.default_tags, i.enabled, i.managed \
                     FROM integrations i LEFT JOIN teams t ON t.id = i.team_id ORDER BY lower(i.name)")
                    .fetch_all(pool).await?;
                rows.into_iter().map(integration_from_row).collect()
            }

            pub async fn rotate_key(pool: &Pool, id: &str, key_hash: &str) -> Result<bool> {
                let done = sqlx::query("UPDATE integrations SET key_hash = $2 WHERE id = $1 AND NOT managed")
                    .bind(id).bind(key_hash).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn set_enabled(pool: &Pool, id: &str, enabled: bool) -> Result<bool> {
                let done = sqlx::query("UPDATE integrations SET enabled = $2 WHERE id = $1 AND NOT managed")
                    .bind(id).bind(enabled).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn test_deliveries(pool: &Pool, user_id: &str, limit: i64) -> Result<Vec<DeliveryRecord>> {
                let rows: Vec<(String, String, Option<String>, String, String, String, String, i64, String, i64, Option<i64>)> = sqlx::query_as(
                    "SELECT id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at FROM deliveries \
                     WHERE user_id = $1 AND alert_id IS NULL ORDER BY created_at DESC, key DESC LIMIT $2")
                    .bind(user_id).bind(limit).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at)| DeliveryRecord {
                    id, key, alert_id, username, channel, target, state, attempts, last_error, created_at, sent_at,
                }).collect())
            }

            pub async fn calendar_token_since(pool: &Pool, user_id: &str) -> Result<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT created_at FROM calendar_tokens WHERE user_id = $1")
                    .bind(user_id).fetch_optional(pool).await?;
                Ok(row.map(|(t,)| t))
            }

            pub async fn change_version(pool: &Pool) -> Result<i64> {
                let (v,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM alert_logs").fetch_one(pool).await?;
                Ok(v.unwrap_or(0))
            }
        }
    };
}

ui_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
ui_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

impl Store {
    /// The user with this username (case-insensitive) and their teams.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ui_user(&self, username: &str) -> Result<Option<UiUser>> {
        on_backend!(self, m, pool => m::user_by_username(pool, username).await)
    }

    /// Every (username, full name), for pickers.
    pub async fn ui_usernames(&self) -> Result<Vec<(String, String)>> {
        on_backend!(self, m, pool => m::usernames(pool).await)
    }

    /// Creates a user with `role` unless one with this username exists; true when created.
    pub async fn ensure_user(&self, username: &str, role: &str, now: i64) -> Result<bool> {
        on_backend!(self, m, pool => m::ensure_user(pool, username, role, now).await)
    }

    /// Stores a password hash (argon2 PHC string), signs the user's browsers out and clears
    /// their failure counter. False when there is no such user.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_user_password(&self, username: &str, hash: &str, now: i64) -> Result<bool> {
        on_backend!(self, m, pool => m::set_password(pool, username, hash, now).await)
    }

    pub async fn create_ui_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()> {
        on_backend!(self, m, pool => m::create_session(pool, token_hash, user_id, csrf_token, now, expires_at).await)
    }

    /// The live session with this token hash at `now`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ui_session(&self, token_hash: &str, now: i64) -> Result<Option<UiSession>> {
        on_backend!(self, m, pool => m::session(pool, token_hash, now).await)
    }

    pub async fn revoke_ui_session(&self, token_hash: &str, now: i64) -> Result<bool> {
        on_backend!(self, m, pool => m::revoke_session(pool, token_hash, now).await)
    }

    /// Until when sign-ins for this username are refused (0: not locked).
    pub async fn login_locked_until(&self, username: &str) -> Result<i64> {
        on_backend!(self, m, pool => m::locked_until(pool, username).await)
    }

    /// Counts a failed sign-in; `lock_for(failures)` says for how many milliseconds the
    /// username is then locked. Returns (failures in the streak, locked until).
    pub async fn record_login_failure(
        &self,
        username: &str,
        now: i64,
        lock_for: fn(i64) -> i64,
    ) -> Result<(i64, i64)> {
        on_backend!(self, m, pool => m::record_failure(pool, username, now, lock_for).await)
    }

    pub async fn clear_login_failures(&self, username: &str) -> Result<()> {
        on_backend!(self, m, pool => m::clear_failures(pool, username).await)
    }

    /// One page of alerts for a person (ask for one more than you show to learn whether a
    /// next page exists).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ui_list_alerts(&self, q: &UiAlertQuery) -> Result<Vec<Alert>> {
        on_backend!(self, m, pool => m::list_alerts(pool, q).await)
    }

    /// The alert with this tiny id, if the person may see it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ui_alert(&self, tiny_id: i64, v: &Visibility) -> Result<Option<Alert>> {
        on_backend!(self, m, pool => m::alert(pool, tiny_id, v).await)
    }

    /// Every integration, by name.
    pub async fn ui_integrations(&self) -> Result<Vec<Integration>> {
        on_backend!(self, m, pool => m::integrations(pool).await)
    }

    /// Gives an integration (not managed by the config) a new key hash; the old key stops
    /// working. False when there is no such integration or the config manages it.
    pub async fn rotate_integration_key(&self, id: &str, key_hash: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::rotate_key(pool, id, key_hash).await)
    }

    /// Enables or disables an integration not managed by the config.
    pub async fn set_integration_enabled(&self, id: &str, enabled: bool) -> Result<bool> {
        on_backend!(self, m, pool => m::set_enabled(pool, id, enabled).await)
    }

    /// A number that grows whenever any alert changes (the last timeline entry), cheap to poll.
    pub async fn alert_change_version(&self) -> Result<i64> {
        on_backend!(self, m, pool => m::change_version(pool).await)
    }

    /// The test pages user `user_id` (an id) sent themselves from their profile, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ui_test_deliveries(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        on_backend!(self, m, pool => m::test_deliveries(pool, user_id, limit).await)
    }

    /// When the user's calendar token was made, if they have one.
    pub async fn ui_calendar_token_since(&self, user_id: &str) -> Result<Option<i64>> {
        on_backend!(self, m, pool => m::calendar_token_since(pool, user_id).await)
    }
}
