//! On-call schedules: schedules, rotations, overrides, time off and calendar tokens.
//!
//! The SQL is written once in the `schedules_backend!` macro, compiled for each backend like
//! `backend!` in `sql.rs`, and reached through the [`Store`] methods at the bottom. The store
//! keeps rows consistent (rotation ids survive a replace when the name stays; overrides of a
//! rotation that is gone are trimmed) and leaves every schedule rule to `klaxon_core::schedule`.
//!
//! Users, teams, rotations and the overrides' rotations are referenced by **id or name** in
//! every write (`alice@example.com` or its id), because the config file names them and the API
//! may send either; an unknown reference is a [`StoreError::Invalid`] naming it.

use crate::query_sql::Dialect;
use crate::{Db, Result, Store, StoreError};
use klaxon_core::schedule::{ClockTime, Restriction, RotationKind, ScheduleMode, WeekdayWindow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ------------------------------------------------------------------------------------------
// Data crossing the boundary
// ------------------------------------------------------------------------------------------

/// A user as schedules show them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserRef {
    pub id: String,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSchedule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub mode: ScheduleMode,
    pub enabled: bool,
    pub team: Option<TeamRef>,
    /// Declared in the config file: read-only through the API.
    pub managed: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// In layer order: the last one is the highest layer.
    pub rotations: Vec<StoredRotation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRotation {
    pub id: String,
    pub name: String,
    pub kind: RotationKind,
    pub length: u32,
    pub start: i64,
    pub end: Option<i64>,
    /// In turn order; `None` is a gap (`none`, or a user who was deleted).
    pub participants: Vec<Option<UserRef>>,
    pub restriction: Option<Restriction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOverride {
    pub id: String,
    pub schedule_id: String,
    pub alias: String,
    /// `None`: nobody is on call.
    pub user: Option<UserRef>,
    pub start: i64,
    pub end: i64,
    /// The rotations it replaces; empty for the whole schedule.
    pub rotation_ids: Vec<String>,
    pub managed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTimeOff {
    pub id: String,
    pub user: UserRef,
    /// `None`: the user's shifts are left uncovered.
    pub replacement: Option<UserRef>,
    pub start: i64,
    pub end: i64,
    pub reason: String,
    pub managed: bool,
    pub created_at: i64,
}

/// A schedule's own fields, for create and update. `team` is a team id or name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFields {
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub mode: ScheduleMode,
    pub enabled: bool,
    pub team: Option<String>,
}

/// A rotation to write; participants are user ids or usernames (`None`: a gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationFields {
    pub name: String,
    pub kind: RotationKind,
    pub length: u32,
    pub start: i64,
    pub end: Option<i64>,
    pub participants: Vec<Option<String>>,
    pub restriction: Option<Restriction>,
}

/// An override to write: `user` is a user id or username (`None`: nobody), `rotations` are
/// rotation ids or names of the schedule (empty: the whole schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideFields {
    pub alias: String,
    pub user: Option<String>,
    pub start: i64,
    pub end: i64,
    pub rotations: Vec<String>,
}

/// Time off to write; `user` and `replacement` are user ids or usernames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOffFields {
    pub user: String,
    pub replacement: Option<String>,
    pub start: i64,
    pub end: i64,
    pub reason: String,
}

/// A schedule declared in the config file, with its rotations and overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDecl {
    pub fields: ScheduleFields,
    pub rotations: Vec<RotationFields>,
    pub overrides: Vec<OverrideFields>,
}

/// Everything schedule-related the config file declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleDirectory {
    pub schedules: Vec<ScheduleDecl>,
    pub time_off: Vec<TimeOffFields>,
}

// ------------------------------------------------------------------------------------------
// Row helpers shared by both backends
// ------------------------------------------------------------------------------------------

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A unique-index violation as the 422 it deserves; any other error unchanged.
fn conflict(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid(message()),
        _ => StoreError::Db(e),
    }
}

/// The stored JSON of a time restriction (not OpsGenie's shape: the API translates).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum RestrictionJson {
    TimeOfDay { start: String, end: String },
    WeekdayAndTimeOfDay { windows: Vec<WindowJson> },
}

#[derive(Serialize, Deserialize)]
struct WindowJson {
    start_day: String,
    start: String,
    end_day: String,
    end: String,
}

fn restriction_to_json(r: &Restriction) -> String {
    let j = match r {
        Restriction::TimeOfDay { start, end } => RestrictionJson::TimeOfDay {
            start: start.to_string(),
            end: end.to_string(),
        },
        Restriction::WeekdayAndTimeOfDay(windows) => RestrictionJson::WeekdayAndTimeOfDay {
            windows: windows
                .iter()
                .map(|w| WindowJson {
                    start_day: w.start_day.to_string(),
                    start: w.start.to_string(),
                    end_day: w.end_day.to_string(),
                    end: w.end.to_string(),
                })
                .collect(),
        },
    };
    serde_json::to_string(&j).unwrap_or_else(|_| "null".into())
}

fn restriction_from_json(s: &str) -> Result<Restriction> {
    let bad = |e: &dyn std::fmt::Display| corrupt("time_restriction", e);
    let clock = |v: &str| v.parse::<ClockTime>().map_err(|e| bad(&e));
    let j: RestrictionJson = serde_json::from_str(s).map_err(|e| bad(&e))?;
    Ok(match j {
        RestrictionJson::TimeOfDay { start, end } => Restriction::TimeOfDay {
            start: clock(&start)?,
            end: clock(&end)?,
        },
        RestrictionJson::WeekdayAndTimeOfDay { windows } => Restriction::WeekdayAndTimeOfDay(
            windows
                .iter()
                .map(|w| {
                    Ok(WeekdayWindow {
                        start_day: w.start_day.parse().map_err(|e| bad(&e))?,
                        start: clock(&w.start)?,
                        end_day: w.end_day.parse().map_err(|e| bad(&e))?,
                        end: clock(&w.end)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    })
}

fn ids_to_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn ids_from_json(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| corrupt("rotation_ids", e))
}

fn user_ref(id: Option<String>, username: Option<String>) -> Option<UserRef> {
    Some(UserRef {
        id: id?,
        username: username?,
    })
}

type ScheduleRow = (
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    bool,
    i64,
    i64,
);
type RotationRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);
type ParticipantRow = (String, Option<String>, Option<String>);
type OverrideRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
    bool,
    i64,
    i64,
);
type TimeOffRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
    bool,
    i64,
);

const SCHEDULE_SELECT: &str = "SELECT s.id, s.name, s.description, s.time_zone, s.mode, s.enabled, \
    s.team_id, t.name, s.managed, s.created_at, s.updated_at FROM schedules s LEFT JOIN teams t ON t.id = s.team_id";
const ROTATION_SELECT: &str = "SELECT r.id, r.schedule_id, r.name, r.kind, r.length, r.start_at, \
    r.end_at, r.time_restriction FROM schedule_rotations r";
const PARTICIPANT_SELECT: &str =
    "SELECT p.rotation_id, p.user_id, u.username FROM schedule_participants p \
    JOIN schedule_rotations r ON r.id = p.rotation_id LEFT JOIN users u ON u.id = p.user_id";
const OVERRIDE_SELECT: &str = "SELECT o.id, o.schedule_id, o.alias, o.user_id, u.username, o.start_at, \
    o.end_at, o.rotation_ids, o.managed, o.created_at, o.updated_at FROM schedule_overrides o LEFT JOIN users u ON u.id = o.user_id";
/// Later writes win where overrides overlap, so they are read oldest first.
const OVERRIDE_ORDER: &str = "ORDER BY o.updated_at, o.id";
const TIME_OFF_SELECT: &str =
    "SELECT o.id, o.user_id, u.username, o.replacement_id, r.username, o.start_at, \
    o.end_at, o.reason, o.managed, o.created_at FROM time_off o JOIN users u ON u.id = o.user_id \
    LEFT JOIN users r ON r.id = o.replacement_id";

/// Assembles schedules from their rows; rotations and participants arrive ordered.
fn assemble(
    schedules: Vec<ScheduleRow>,
    rotations: Vec<RotationRow>,
    participants: Vec<ParticipantRow>,
) -> Result<Vec<StoredSchedule>> {
    let mut slots: BTreeMap<String, Vec<Option<UserRef>>> = BTreeMap::new();
    for (rotation_id, user_id, username) in participants {
        slots
            .entry(rotation_id)
            .or_default()
            .push(user_ref(user_id, username));
    }
    let mut by_schedule: BTreeMap<String, Vec<StoredRotation>> = BTreeMap::new();
    for (id, schedule_id, name, kind, length, start, end, restriction) in rotations {
        let rotation = StoredRotation {
            participants: slots.remove(&id).unwrap_or_default(),
            kind: kind.parse().map_err(|e| corrupt("rotation kind", e))?,
            length: u32::try_from(length).map_err(|e| corrupt("rotation length", e))?,
            restriction: restriction
                .as_deref()
                .map(restriction_from_json)
                .transpose()?,
            id,
            name,
            start,
            end,
        };
        by_schedule.entry(schedule_id).or_default().push(rotation);
    }
    schedules
        .into_iter()
        .map(
            |(id, name, description, tz, mode, enabled, team_id, team_name, managed, c, u)| {
                Ok(StoredSchedule {
                    rotations: by_schedule.remove(&id).unwrap_or_default(),
                    mode: mode.parse().map_err(|e| corrupt("schedule mode", e))?,
                    team: team_id
                        .zip(team_name)
                        .map(|(id, name)| TeamRef { id, name }),
                    id,
                    name,
                    description,
                    time_zone: tz,
                    enabled,
                    managed,
                    created_at: c,
                    updated_at: u,
                })
            },
        )
        .collect()
}

fn override_from_row(row: OverrideRow) -> Result<StoredOverride> {
    let (id, schedule_id, alias, user_id, username, start, end, rotation_ids, managed, c, u) = row;
    Ok(StoredOverride {
        id,
        schedule_id,
        alias,
        user: user_ref(user_id, username),
        start,
        end,
        rotation_ids: ids_from_json(&rotation_ids)?,
        managed,
        created_at: c,
        updated_at: u,
    })
}

fn time_off_from_row(row: TimeOffRow) -> StoredTimeOff {
    let (id, user_id, username, replacement_id, replacement, start, end, reason, managed, c) = row;
    StoredTimeOff {
        id,
        user: UserRef {
            id: user_id,
            username,
        },
        replacement: user_ref(replacement_id, replacement),
        start,
        end,
        reason,
        managed,
        created_at: c,
    }
}

// ------------------------------------------------------------------------------------------
// SQL, once per backend
// ------------------------------------------------------------------------------------------

macro_rules! schedules_backend {
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

            // ---------------- references ----------------

            pub async fn find_user(pool: &Pool, key: &str) -> Result<Option<UserRef>> {
                let row: Option<(String, String)> = sqlx::query_as("SELECT id, username FROM users WHERE id = $1 OR lower(username) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                    .bind(key).fetch_optional(pool).await?;
                Ok(row.map(|(id, username)| UserRef { id, username }))
            }

            pub async fn find_team(pool: &Pool, key: &str) -> Result<Option<TeamRef>> {
                let row: Option<(String, String)> = sqlx::query_as("SELECT id, name FROM teams WHERE id = $1 OR lower(name) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                    .bind(key).fetch_optional(pool).await?;
                Ok(row.map(|(id, name)| TeamRef { id, name }))
            }

            async fn user_id(tx: &mut Tx, key: &str) -> Result<String> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1 OR lower(username) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                    .bind(key).fetch_optional(&mut **tx).await?;
                row.map(|(id,)| id).ok_or_else(|| StoreError::Invalid(format!("user {key:?} does not exist")))
            }

            async fn team_id(tx: &mut Tx, key: &str) -> Result<String> {
                let row: Option<(String,)> = sqlx::query_as("SELECT id FROM teams WHERE id = $1 OR lower(name) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1")
                    .bind(key).fetch_optional(&mut **tx).await?;
                row.map(|(id,)| id).ok_or_else(|| StoreError::Invalid(format!("team {key:?} does not exist")))
            }

            // ---------------- schedule reads ----------------

            /// Schedules with their rotations: all of them, or those matching `filter`
            /// (`id = $1` or `name = $1`, case-insensitive for names).
            async fn load(pool: &Pool, filter: Option<(&str, &str)>) -> Result<Vec<StoredSchedule>> {
                let (s_where, r_where) = match filter {
                    None => (String::new(), String::new()),
                    Some(("id", _)) => (" WHERE s.id = $1".to_string(), " WHERE r.schedule_id = $1".to_string()),
                    Some(_) => (
                        " WHERE lower(s.name) = lower($1)".to_string(),
                        " WHERE r.schedule_id IN (SELECT id FROM schedules WHERE lower(name) = lower($1))".to_string(),
                    ),
                };
                let key = filter.map(|(_, k)| k);
                let sql = format!("{SCHEDULE_SELECT}{s_where} ORDER BY lower(s.name)");
                let mut q = sqlx::query_as::<_, ScheduleRow>(&sql);
                if let Some(k) = key { q = q.bind(k); }
                let schedules = q.fetch_all(pool).await?;
                if schedules.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("{ROTATION_SELECT}{r_where} ORDER BY r.schedule_id, r.ordinal");
                let mut q = sqlx::query_as::<_, RotationRow>(&sql);
                if let Some(k) = key { q = q.bind(k); }
                let rotations = q.fetch_all(pool).await?;
                let sql = format!("{PARTICIPANT_SELECT}{r_where} ORDER BY p.rotation_id, p.ordinal");
                let mut q = sqlx::query_as::<_, ParticipantRow>(&sql);
                if let Some(k) = key { q = q.bind(k); }
                let participants = q.fetch_all(pool).await?;
                assemble(schedules, rotations, participants)
            }

            pub async fn list_schedules(pool: &Pool) -> Result<Vec<StoredSchedule>> {
                load(pool, None).await
            }

            pub async fn schedule_by_id(pool: &Pool, id: &str) -> Result<Option<StoredSchedule>> {
                Ok(load(pool, Some(("id", id))).await?.into_iter().next())
            }

            pub async fn schedule_by_name(pool: &Pool, name: &str) -> Result<Option<StoredSchedule>> {
                Ok(load(pool, Some(("name", name))).await?.into_iter().next())
            }

            // ---------------- schedule writes ----------------

            async fn insert_schedule(tx: &mut Tx, f: &ScheduleFields, managed: bool, now: i64) -> Result<String> {
                let team_id = match &f.team { Some(t) => Some(team_id(tx, t).await?), None => None };
                let id = new_id();
                sqlx::query("INSERT INTO schedules (id, name, description, time_zone, mode, enabled, team_id, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
                    .bind(&id).bind(&f.name).bind(&f.description).bind(&f.time_zone).bind(f.mode.as_str())
                    .bind(f.enabled).bind(&team_id).bind(managed).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("a schedule named {:?} already exists", f.name)))?;
                Ok(id)
            }

            async fn update_schedule_row(tx: &mut Tx, id: &str, f: &ScheduleFields, managed: bool, now: i64) -> Result<bool> {
                let team_id = match &f.team { Some(t) => Some(team_id(tx, t).await?), None => None };
                let done = sqlx::query("UPDATE schedules SET name = $2, description = $3, time_zone = $4, mode = $5, enabled = $6, team_id = $7, managed = $8, updated_at = $9 WHERE id = $1")
                    .bind(id).bind(&f.name).bind(&f.description).bind(&f.time_zone).bind(f.mode.as_str())
                    .bind(f.enabled).bind(&team_id).bind(managed).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("a schedule named {:?} already exists", f.name)))?;
                Ok(done.rows_affected() > 0)
            }

            async fn touch(tx: &mut Tx, schedule_id: &str, now: i64) -> Result<bool> {
                let done = sqlx::query("UPDATE schedules SET updated_at = $2 WHERE id = $1")
                    .bind(schedule_id).bind(now).execute(&mut **tx).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn write_participants(tx: &mut Tx, rotation_id: &str, participants: &[Option<String>]) -> Result<()> {
                sqlx::query("DELETE FROM schedule_participants WHERE rotation_id = $1").bind(rotation_id).execute(&mut **tx).await?;
                for (i, p) in participants.iter().enumerate() {
                    let user = match p { Some(key) => Some(user_id(tx, key).await?), None => None };
                    sqlx::query("INSERT INTO schedule_participants (rotation_id, ordinal, user_id) VALUES ($1, $2, $3)")
                        .bind(rotation_id).bind(i as i64).bind(&user).execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_rotation(tx: &mut Tx, schedule_id: &str, ordinal: i64, r: &RotationFields, now: i64) -> Result<String> {
                let id = new_id();
                sqlx::query("INSERT INTO schedule_rotations (id, schedule_id, ordinal, name, kind, length, start_at, end_at, time_restriction, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(&id).bind(schedule_id).bind(ordinal).bind(&r.name).bind(r.kind.as_str()).bind(i64::from(r.length))
                    .bind(r.start).bind(r.end).bind(r.restriction.as_ref().map(restriction_to_json)).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("the schedule already has a rotation named {:?}", r.name)))?;
                write_participants(tx, &id, &r.participants).await?;
                Ok(id)
            }

            async fn update_rotation_row(tx: &mut Tx, id: &str, ordinal: Option<i64>, r: &RotationFields) -> Result<()> {
                sqlx::query("UPDATE schedule_rotations SET ordinal = COALESCE($2, ordinal), name = $3, kind = $4, length = $5, start_at = $6, end_at = $7, time_restriction = $8 WHERE id = $1")
                    .bind(id).bind(ordinal).bind(&r.name).bind(r.kind.as_str()).bind(i64::from(r.length))
                    .bind(r.start).bind(r.end).bind(r.restriction.as_ref().map(restriction_to_json))
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("the schedule already has a rotation named {:?}", r.name)))?;
                write_participants(tx, id, &r.participants).await
            }

            /// Makes the schedule's rotations exactly `rotations`, in that order. A rotation
            /// whose name is kept keeps its id (and the overrides that name it).
            async fn replace_rotations(tx: &mut Tx, schedule_id: &str, rotations: &[RotationFields], now: i64) -> Result<()> {
                let existing: Vec<(String, String)> = sqlx::query_as("SELECT id, lower(name) FROM schedule_rotations WHERE schedule_id = $1")
                    .bind(schedule_id).fetch_all(&mut **tx).await?;
                let wanted: Vec<String> = rotations.iter().map(|r| r.name.to_lowercase()).collect();
                for (id, name) in &existing {
                    if !wanted.contains(name) {
                        sqlx::query("DELETE FROM schedule_rotations WHERE id = $1").bind(id).execute(&mut **tx).await?;
                    }
                }
                for (i, r) in rotations.iter().enumerate() {
                    let kept = existing.iter().find(|(_, name)| *name == r.name.to_lowercase());
                    match kept {
                        Some((id, _)) => update_rotation_row(tx, id, Some(i as i64), r).await?,
                        None => {
                            insert_rotation(tx, schedule_id, i as i64, r, now).await?;
                        }
                    }
                }
                trim_overrides(tx, schedule_id).await
            }

            /// Drops deleted rotations from overrides; an override left with none of the
            /// rotations it named is deleted (it must not turn into a whole-schedule override).
            async fn trim_overrides(tx: &mut Tx, schedule_id: &str) -> Result<()> {
                let rotations: Vec<(String,)> = sqlx::query_as("SELECT id FROM schedule_rotations WHERE schedule_id = $1")
                    .bind(schedule_id).fetch_all(&mut **tx).await?;
                let alive: Vec<String> = rotations.into_iter().map(|(id,)| id).collect();
                let targeted: Vec<(String, String)> = sqlx::query_as("SELECT id, rotation_ids FROM schedule_overrides WHERE schedule_id = $1 AND rotation_ids <> '[]'")
                    .bind(schedule_id).fetch_all(&mut **tx).await?;
                for (id, json) in targeted {
                    let ids = ids_from_json(&json)?;
                    let kept: Vec<String> = ids.iter().filter(|r| alive.contains(*r)).cloned().collect();
                    if kept.is_empty() {
                        sqlx::query("DELETE FROM schedule_overrides WHERE id = $1").bind(&id).execute(&mut **tx).await?;
                    } else if kept.len() != ids.len() {
                        sqlx::query("UPDATE schedule_overrides SET rotation_ids = $2 WHERE id = $1")
                            .bind(&id).bind(ids_to_json(&kept)).execute(&mut **tx).await?;
                    }
                }
                Ok(())
            }

            pub async fn create_schedule(pool: &Pool, f: &ScheduleFields, rotations: &[RotationFields], now: i64) -> Result<String> {
                let mut tx = begin_write(pool).await?;
                let id = insert_schedule(&mut tx, f, false, now).await?;
                for (i, r) in rotations.iter().enumerate() {
                    insert_rotation(&mut tx, &id, i as i64, r, now).await?;
                }
                tx.commit().await?;
                Ok(id)
            }

            pub async fn update_schedule(pool: &Pool, id: &str, f: &ScheduleFields, rotations: Option<&[RotationFields]>, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                if !update_schedule_row(&mut tx, id, f, false, now).await? {
                    return Ok(false);
                }
                if let Some(rotations) = rotations {
                    replace_rotations(&mut tx, id, rotations, now).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            pub async fn delete_schedule(pool: &Pool, id: &str) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn add_rotation(pool: &Pool, schedule_id: &str, r: &RotationFields, now: i64) -> Result<Option<String>> {
                let mut tx = begin_write(pool).await?;
                if !touch(&mut tx, schedule_id, now).await? {
                    return Ok(None);
                }
                let (next,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(ordinal) + 1, 0) FROM schedule_rotations WHERE schedule_id = $1")
                    .bind(schedule_id).fetch_one(&mut *tx).await?;
                let id = insert_rotation(&mut tx, schedule_id, next, r, now).await?;
                tx.commit().await?;
                Ok(Some(id))
            }

            pub async fn update_rotation(pool: &Pool, schedule_id: &str, rotation_id: &str, r: &RotationFields, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let found: Option<(String,)> = sqlx::query_as("SELECT id FROM schedule_rotations WHERE id = $1 AND schedule_id = $2")
                    .bind(rotation_id).bind(schedule_id).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Ok(false);
                }
                update_rotation_row(&mut tx, rotation_id, None, r).await?;
                touch(&mut tx, schedule_id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn delete_rotation(pool: &Pool, schedule_id: &str, rotation_id: &str, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("DELETE FROM schedule_rotations WHERE id = $1 AND schedule_id = $2")
                    .bind(rotation_id).bind(schedule_id).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                trim_overrides(&mut tx, schedule_id).await?;
                touch(&mut tx, schedule_id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            // ---------------- overrides ----------------

            pub async fn overrides(pool: &Pool, schedule_id: Option<&str>, ending_after: Option<i64>) -> Result<Vec<StoredOverride>> {
                let sql = format!(
                    "{OVERRIDE_SELECT} WHERE ($1 IS NULL OR o.schedule_id = $1) AND ($2 IS NULL OR o.end_at > $2) {OVERRIDE_ORDER}"
                );
                let rows: Vec<OverrideRow> = sqlx::query_as(&sql).bind(schedule_id).bind(ending_after).fetch_all(pool).await?;
                rows.into_iter().map(override_from_row).collect()
            }

            pub async fn override_by_alias(pool: &Pool, schedule_id: &str, alias: &str) -> Result<Option<StoredOverride>> {
                let sql = format!("{OVERRIDE_SELECT} WHERE o.schedule_id = $1 AND o.alias = $2");
                let row: Option<OverrideRow> = sqlx::query_as(&sql).bind(schedule_id).bind(alias).fetch_optional(pool).await?;
                row.map(override_from_row).transpose()
            }

            /// Rotation ids for `keys` (ids or names of the schedule's rotations).
            async fn rotation_ids(tx: &mut Tx, schedule_id: &str, keys: &[String]) -> Result<Vec<String>> {
                let mut out = Vec::with_capacity(keys.len());
                for key in keys {
                    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM schedule_rotations WHERE schedule_id = $1 AND (id = $2 OR lower(name) = lower($2)) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1")
                        .bind(schedule_id).bind(key).fetch_optional(&mut **tx).await?;
                    let (id,) = row.ok_or_else(|| StoreError::Invalid(format!("the schedule has no rotation {key:?}")))?;
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                Ok(out)
            }

            async fn insert_override(tx: &mut Tx, schedule_id: &str, o: &OverrideFields, managed: bool, now: i64) -> Result<String> {
                let user = match &o.user { Some(key) => Some(user_id(tx, key).await?), None => None };
                let rotations = rotation_ids(tx, schedule_id, &o.rotations).await?;
                let id = new_id();
                sqlx::query("INSERT INTO schedule_overrides (id, schedule_id, alias, user_id, start_at, end_at, rotation_ids, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
                    .bind(&id).bind(schedule_id).bind(&o.alias).bind(&user).bind(o.start).bind(o.end)
                    .bind(ids_to_json(&rotations)).bind(managed).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("the schedule already has an override with alias {:?}", o.alias)))?;
                Ok(id)
            }

            pub async fn create_override(pool: &Pool, schedule_id: &str, o: &OverrideFields, now: i64) -> Result<Option<String>> {
                let mut tx = begin_write(pool).await?;
                if !touch(&mut tx, schedule_id, now).await? {
                    return Ok(None);
                }
                let id = insert_override(&mut tx, schedule_id, o, false, now).await?;
                tx.commit().await?;
                Ok(Some(id))
            }

            /// Rewrites the override with alias `alias` (the alias itself may change to
            /// `o.alias`); it then counts as the latest, winning where overrides overlap.
            pub async fn update_override(pool: &Pool, schedule_id: &str, alias: &str, o: &OverrideFields, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let user = match &o.user { Some(key) => Some(user_id(&mut tx, key).await?), None => None };
                let rotations = rotation_ids(&mut tx, schedule_id, &o.rotations).await?;
                let done = sqlx::query("UPDATE schedule_overrides SET alias = $3, user_id = $4, start_at = $5, end_at = $6, rotation_ids = $7, updated_at = $8 WHERE schedule_id = $1 AND alias = $2")
                    .bind(schedule_id).bind(alias).bind(&o.alias).bind(&user).bind(o.start).bind(o.end)
                    .bind(ids_to_json(&rotations)).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict(e, || format!("the schedule already has an override with alias {:?}", o.alias)))?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                touch(&mut tx, schedule_id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn delete_override(pool: &Pool, schedule_id: &str, alias: &str, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("DELETE FROM schedule_overrides WHERE schedule_id = $1 AND alias = $2")
                    .bind(schedule_id).bind(alias).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                touch(&mut tx, schedule_id, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            // ---------------- time off ----------------

            /// Time off overlapping `[from, to)`, of one user or of everyone, oldest first (a
            /// later entry wins where two of the same user overlap).
            pub async fn time_off_between(pool: &Pool, from: i64, to: i64, user_id: Option<&str>) -> Result<Vec<StoredTimeOff>> {
                let sql = format!("{TIME_OFF_SELECT} WHERE o.end_at > $1 AND o.start_at < $2 AND ($3 IS NULL OR o.user_id = $3) ORDER BY o.created_at, o.id");
                let rows: Vec<TimeOffRow> = sqlx::query_as(&sql).bind(from).bind(to).bind(user_id).fetch_all(pool).await?;
                Ok(rows.into_iter().map(time_off_from_row).collect())
            }

            pub async fn time_off_by_id(pool: &Pool, id: &str) -> Result<Option<StoredTimeOff>> {
                let sql = format!("{TIME_OFF_SELECT} WHERE o.id = $1");
                let row: Option<TimeOffRow> = sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
                Ok(row.map(time_off_from_row))
            }

            async fn insert_time_off(tx: &mut Tx, t: &TimeOffFields, managed: bool, now: i64) -> Result<String> {
                let user = user_id(tx, &t.user).await?;
                let replacement = match &t.replacement { Some(key) => Some(user_id(tx, key).await?), None => None };
                let id = new_id();
                sqlx::query("INSERT INTO time_off (id, user_id, replacement_id, start_at, end_at, reason, managed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&id).bind(&user).bind(&replacement).bind(t.start).bind(t.end).bind(&t.reason).bind(managed).bind(now)
                    .execute(&mut **tx).await?;
                Ok(id)
            }

            pub async fn create_time_off(pool: &Pool, t: &TimeOffFields, now: i64) -> Result<String> {
                let mut tx = begin_write(pool).await?;
                let id = insert_time_off(&mut tx, t, false, now).await?;
                tx.commit().await?;
                Ok(id)
            }

            pub async fn update_time_off(pool: &Pool, id: &str, t: &TimeOffFields) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let user = user_id(&mut tx, &t.user).await?;
                let replacement = match &t.replacement { Some(key) => Some(user_id(&mut tx, key).await?), None => None };
                let done = sqlx::query("UPDATE time_off SET user_id = $2, replacement_id = $3, start_at = $4, end_at = $5, reason = $6 WHERE id = $1")
                    .bind(id).bind(&user).bind(&replacement).bind(t.start).bind(t.end).bind(&t.reason)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn delete_time_off(pool: &Pool, id: &str) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("DELETE FROM time_off WHERE id = $1").bind(id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            // ---------------- calendar tokens ----------------

            pub async fn set_calendar_token(pool: &Pool, user_id: &str, token_hash: &str, now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                sqlx::query("INSERT INTO calendar_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at")
                    .bind(user_id).bind(token_hash).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn calendar_token_user(pool: &Pool, token_hash: &str) -> Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT user_id FROM calendar_tokens WHERE token_hash = $1")
                    .bind(token_hash).fetch_optional(pool).await?;
                Ok(row.map(|(id,)| id))
            }

            pub async fn delete_calendar_token(pool: &Pool, user_id: &str) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("DELETE FROM calendar_tokens WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            // ---------------- config ----------------

            /// Makes the config-declared schedules and time off exactly `d`, in one
            /// transaction. Schedules created through the API are left alone (one with the
            /// name of a declared schedule is taken over by the file); overrides added through
            /// the API to a declared schedule are kept, the file's own follow the file.
            pub async fn apply_schedules(pool: &Pool, d: &ScheduleDirectory, now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                let mut kept = Vec::with_capacity(d.schedules.len());
                for decl in &d.schedules {
                    let f = &decl.fields;
                    let existing: Option<(String,)> = sqlx::query_as("SELECT id FROM schedules WHERE lower(name) = lower($1)")
                        .bind(&f.name).fetch_optional(&mut *tx).await?;
                    let id = match existing {
                        Some((id,)) => {
                            update_schedule_row(&mut tx, &id, f, true, now).await?;
                            id
                        }
                        None => insert_schedule(&mut tx, f, true, now).await?,
                    };
                    replace_rotations(&mut tx, &id, &decl.rotations, now).await?;
                    apply_overrides(&mut tx, &id, &decl.overrides, now).await?;
                    kept.push(id);
                }
                let managed: Vec<(String,)> = sqlx::query_as("SELECT id FROM schedules WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (id,) in managed {
                    if !kept.contains(&id) {
                        sqlx::query("DELETE FROM schedules WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }
                apply_time_off(&mut tx, &d.time_off, now).await?;
                tx.commit().await?;
                Ok(())
            }

            /// The file's overrides of one schedule. One that did not change keeps its row, so
            /// a restart does not make it newer than overrides added through the API since
            /// (the newer one wins where they overlap); a changed one is written anew.
            async fn apply_overrides(tx: &mut Tx, schedule_id: &str, overrides: &[OverrideFields], now: i64) -> Result<()> {
                let existing: Vec<(String, String, Option<String>, i64, i64, String, bool)> = sqlx::query_as(
                    "SELECT id, alias, user_id, start_at, end_at, rotation_ids, managed FROM schedule_overrides WHERE schedule_id = $1")
                    .bind(schedule_id).fetch_all(&mut **tx).await?;
                let mut kept = Vec::with_capacity(overrides.len());
                for o in overrides {
                    let user = match &o.user { Some(key) => Some(user_id(tx, key).await?), None => None };
                    let rotations = ids_to_json(&rotation_ids(tx, schedule_id, &o.rotations).await?);
                    let same_alias = existing.iter().find(|e| e.1 == o.alias);
                    match same_alias {
                        Some((id, _, u, start, end, r, true)) if *u == user && *start == o.start && *end == o.end && *r == rotations => {
                            kept.push(id.clone());
                        }
                        other => {
                            // The file wins over an API override that took the same alias.
                            if let Some((id, ..)) = other {
                                sqlx::query("DELETE FROM schedule_overrides WHERE id = $1").bind(id).execute(&mut **tx).await?;
                            }
                            kept.push(insert_override(tx, schedule_id, o, true, now).await?);
                        }
                    }
                }
                for (id, ..) in existing.iter().filter(|e| e.6 && !kept.contains(&e.0)) {
                    sqlx::query("DELETE FROM schedule_overrides WHERE id = $1").bind(id).execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// The file's time off; entries that did not change keep their rows (and order).
            async fn apply_time_off(tx: &mut Tx, time_off: &[TimeOffFields], now: i64) -> Result<()> {
                let mut unused: Vec<(String, String, Option<String>, i64, i64, String)> = sqlx::query_as(
                    "SELECT id, user_id, replacement_id, start_at, end_at, reason FROM time_off WHERE managed = TRUE")
                    .fetch_all(&mut **tx).await?;
                for t in time_off {
                    let user = user_id(tx, &t.user).await?;
                    let replacement = match &t.replacement { Some(key) => Some(user_id(tx, key).await?), None => None };
                    let same = unused.iter().position(|e| {
                        e.1 == user && e.2 == replacement && e.3 == t.start && e.4 == t.end && e.5 == t.reason
                    });
                    match same {
                        Some(i) => {
                            unused.remove(i);
                        }
                        None => {
                            insert_time_off(tx, t, true, now).await?;
                        }
                    }
                }
                for (id, ..) in unused {
                    sqlx::query("DELETE FROM time_off WHERE id = $1").bind(&id).execute(&mut **tx).await?;
                }
                Ok(())
            }
        }
    };
}

schedules_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
schedules_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

// ------------------------------------------------------------------------------------------
// The contract
// ------------------------------------------------------------------------------------------

impl Store {
    /// Makes the database hold exactly the schedules and time off the config declares.
    #[tracing::instrument(skip_all)]
    pub async fn apply_schedules(&self, d: &ScheduleDirectory, now: i64) -> Result<()> {
        on_backend!(self, m, pool => m::apply_schedules(pool, d, now).await)
    }

    /// A user by id or username (case-insensitive), for schedule participants and time off.
    pub async fn schedule_user(&self, key: &str) -> Result<Option<UserRef>> {
        on_backend!(self, m, pool => m::find_user(pool, key).await)
    }

    /// A team by id or name (case-insensitive), for a schedule's owner team.
    pub async fn schedule_team(&self, key: &str) -> Result<Option<TeamRef>> {
        on_backend!(self, m, pool => m::find_team(pool, key).await)
    }

    /// Every schedule with its rotations, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_schedules(&self) -> Result<Vec<StoredSchedule>> {
        on_backend!(self, m, pool => m::list_schedules(pool).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn schedule_by_id(&self, id: &str) -> Result<Option<StoredSchedule>> {
        on_backend!(self, m, pool => m::schedule_by_id(pool, id).await)
    }

    /// Case-insensitive, as names are unique that way.
    #[tracing::instrument(skip_all)]
    pub async fn schedule_by_name(&self, name: &str) -> Result<Option<StoredSchedule>> {
        on_backend!(self, m, pool => m::schedule_by_name(pool, name).await)
    }

    /// Creates a schedule (not managed by config) and returns its id. A taken name or an unknown
    /// team or user is [`StoreError::Invalid`].
    #[tracing::instrument(skip_all)]
    pub async fn create_schedule(
        &self,
        f: &ScheduleFields,
        rotations: &[RotationFields],
        now: i64,
    ) -> Result<String> {
        on_backend!(self, m, pool => m::create_schedule(pool, f, rotations, now).await)
    }

    /// Rewrites a schedule's fields and, when given, replaces all its rotations (a rotation
    /// that keeps its name keeps its id). `false` when there is no such schedule.
    #[tracing::instrument(skip_all)]
    pub async fn update_schedule(
        &self,
        id: &str,
        f: &ScheduleFields,
        rotations: Option<&[RotationFields]>,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_schedule(pool, id, f, rotations, now).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_schedule(&self, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_schedule(pool, id).await)
    }

    /// Adds a rotation as the new highest layer; `None` when there is no such schedule.
    #[tracing::instrument(skip_all)]
    pub async fn add_rotation(
        &self,
        schedule_id: &str,
        r: &RotationFields,
        now: i64,
    ) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::add_rotation(pool, schedule_id, r, now).await)
    }

    /// Rewrites a rotation in place (it keeps its layer); `false` when it does not exist.
    #[tracing::instrument(skip_all)]
    pub async fn update_rotation(
        &self,
        schedule_id: &str,
        rotation_id: &str,
        r: &RotationFields,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_rotation(pool, schedule_id, rotation_id, r, now).await)
    }

    /// Deletes a rotation; overrides left without any of their rotations go with it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_rotation(
        &self,
        schedule_id: &str,
        rotation_id: &str,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_rotation(pool, schedule_id, rotation_id, now).await)
    }

    /// Overrides of one schedule (or all), optionally only those ending after an instant; in
    /// precedence order (the last one wins where they overlap).
    #[tracing::instrument(skip_all)]
    pub async fn schedule_overrides(
        &self,
        schedule_id: Option<&str>,
        ending_after: Option<i64>,
    ) -> Result<Vec<StoredOverride>> {
        on_backend!(self, m, pool => m::overrides(pool, schedule_id, ending_after).await)
    }

    pub async fn schedule_override(
        &self,
        schedule_id: &str,
        alias: &str,
    ) -> Result<Option<StoredOverride>> {
        on_backend!(self, m, pool => m::override_by_alias(pool, schedule_id, alias).await)
    }

    /// Adds an override (the latest, so it wins where it overlaps others); `None` when there is
    /// no such schedule. A taken alias is [`StoreError::Invalid`].
    #[tracing::instrument(skip_all)]
    pub async fn create_schedule_override(
        &self,
        schedule_id: &str,
        o: &OverrideFields,
        now: i64,
    ) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::create_override(pool, schedule_id, o, now).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_schedule_override(
        &self,
        schedule_id: &str,
        alias: &str,
        o: &OverrideFields,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_override(pool, schedule_id, alias, o, now).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_schedule_override(
        &self,
        schedule_id: &str,
        alias: &str,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_override(pool, schedule_id, alias, now).await)
    }

    /// Time off overlapping `[from, to)`, of one user (id) or everyone, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn time_off_between(
        &self,
        from: i64,
        to: i64,
        user_id: Option<&str>,
    ) -> Result<Vec<StoredTimeOff>> {
        on_backend!(self, m, pool => m::time_off_between(pool, from, to, user_id).await)
    }

    pub async fn time_off_by_id(&self, id: &str) -> Result<Option<StoredTimeOff>> {
        on_backend!(self, m, pool => m::time_off_by_id(pool, id).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_time_off(&self, t: &TimeOffFields, now: i64) -> Result<String> {
        on_backend!(self, m, pool => m::create_time_off(pool, t, now).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_time_off(&self, id: &str, t: &TimeOffFields) -> Result<bool> {
        on_backend!(self, m, pool => m::update_time_off(pool, id, t).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_time_off(&self, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_time_off(pool, id).await)
    }

    /// Stores the hash of a user's calendar feed token, replacing any earlier one.
    pub async fn set_calendar_token(
        &self,
        user_id: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<()> {
        on_backend!(self, m, pool => m::set_calendar_token(pool, user_id, token_hash, now).await)
    }

    /// The user whose calendar token hashes to `token_hash`.
    pub async fn calendar_token_user(&self, token_hash: &str) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::calendar_token_user(pool, token_hash).await)
    }

    pub async fn delete_calendar_token(&self, user_id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_calendar_token(pool, user_id).await)
    }
}
