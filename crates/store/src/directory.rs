//! The directory the escalation engine reads: users with their contact methods and
//! notification rules, teams with members and routing rules, escalation policies.
//!
//! The SQL is written once in `directory_backend!`, compiled per backend like `backend!` in
//! `sql.rs`, and reached through the [`Store`] methods at the bottom. Every rule about what is
//! valid lives in `klaxon_core` (a user's profile is checked whole with
//! [`NotificationProfile::new`] before a write commits; policies and routing rules arrive
//! checked). The store resolves references: writes name users, teams, schedules and
//! escalations by **id or name**, rows keep ids, reads give names back where a client shows them.
//!
//! Errors: a taken name is [`StoreError::Conflict`]; an unknown reference or a change that
//! would leave a profile invalid is [`StoreError::Invalid`]; neither writes anything.

use crate::query_sql::Dialect;
use crate::schedules::{TeamRef, UserRef};
use crate::{Db, Result, Store, StoreError};
use klaxon_core::escalation::{
    EscalationPolicy, EscalationSpec, RecipientKind, TeamMember, TeamRole,
};
use klaxon_core::notification::{
    ContactKind, ContactMethod, ContactSpec, NotificationProfile, NotificationRule, ProfileSpec,
};
use klaxon_core::routing::{Criteria, Target, TargetKind, TeamRoutingRule, TimeRestriction};

// ------------------------------------------------------------------------------------------
// Data crossing the boundary
// ------------------------------------------------------------------------------------------

/// An escalation policy as the engine reads it; recipients are named by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub policy: EscalationPolicy,
}

/// An escalation policy with what the API shows besides the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEscalation {
    pub record: PolicyRecord,
    pub description: String,
    pub team: Option<TeamRef>,
    /// Declared in the config file: read-only through the API.
    pub managed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An escalation policy to write. `team` and every recipient's `id` are ids or names
/// (usernames for users); the store keeps ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationFields {
    pub name: String,
    pub description: String,
    pub team: Option<String>,
    pub policy: EscalationPolicy,
}

/// One user's contact methods and notification rules, checked, for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: String,
    pub username: String,
    pub full_name: String,
    pub time_zone: String,
    pub profile: NotificationProfile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub time_zone: String,
    pub managed: bool,
    pub created_at: i64,
}

/// A user's own fields, for create and update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    pub username: String,
    pub full_name: String,
    pub role: String,
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMember {
    pub user: UserRef,
    pub role: TeamRole,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTeam {
    pub id: String,
    pub name: String,
    pub description: String,
    pub managed: bool,
    pub created_at: i64,
    /// By username.
    pub members: Vec<StoredMember>,
}

/// A notification rule as stored: the core rule and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotificationRule {
    pub id: String,
    pub rule: NotificationRule,
}

/// A team routing rule to write. `notify` names its escalation or schedule by id or name;
/// `time_zone` is an IANA name (checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRuleFields {
    pub name: String,
    pub is_default: bool,
    pub criteria: Criteria,
    pub time_restriction: Option<TimeRestriction>,
    pub time_zone: Option<String>,
    pub notify: Target,
}

/// A config-declared user's contacts and rules (the user is declared under `users:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileDecl {
    pub username: String,
    pub profile: NotificationProfile,
}

/// A config-declared team's routing rules, in order (the default rule last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingDecl {
    pub team: String,
    pub rules: Vec<RoutingRuleFields>,
}

/// Everything of the directory the config file declares beyond users and teams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryDecl {
    pub profiles: Vec<ProfileDecl>,
    pub escalations: Vec<EscalationFields>,
    pub routing: Vec<RoutingDecl>,
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

/// A unique-index violation as a conflict; any other error unchanged.
fn conflict(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(message()),
        _ => StoreError::Db(e),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn role_from(s: &str) -> TeamRole {
    if s == "admin" {
        TeamRole::Admin
    } else {
        TeamRole::User
    }
}

fn role_str(r: TeamRole) -> &'static str {
    match r {
        TeamRole::Admin => "admin",
        TeamRole::User => "user",
    }
}

type UserRow = (String, String, String, String, String, bool, i64);
const USER_SELECT: &str =
    "SELECT id, username, full_name, role, time_zone, managed, created_at FROM users";

fn user_from_row(r: UserRow) -> StoredUser {
    let (id, username, full_name, role, time_zone, managed, created_at) = r;
    StoredUser {
        id,
        username,
        full_name,
        role,
        time_zone,
        managed,
        created_at,
    }
}

type ContactRow = (String, String, String, bool);

fn contact_from_row((id, method, to, enabled): ContactRow) -> Result<ContactMethod> {
    let kind: ContactKind = method.parse().map_err(|e| corrupt("contact method", e))?;
    ContactMethod::new(ContactSpec {
        id,
        kind,
        to,
        enabled,
    })
    .map_err(|e| corrupt("contact method", e))
}

fn rule_from_row((id, rule): (String, String)) -> Result<StoredNotificationRule> {
    Ok(StoredNotificationRule {
        id,
        rule: serde_json::from_str(&rule).map_err(|e| corrupt("notification rule", e))?,
    })
}

type EscalationRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
    i64,
    i64,
);
const ESCALATION_SELECT: &str = "SELECT e.id, e.name, e.description, e.team_id, t.name, e.policy, \
    e.managed, e.created_at, e.updated_at FROM escalations e LEFT JOIN teams t ON t.id = e.team_id";

fn escalation_from_row(r: EscalationRow) -> Result<StoredEscalation> {
    let (id, name, description, team_id, team_name, policy, managed, c, u) = r;
    let policy: EscalationPolicy =
        serde_json::from_str(&policy).map_err(|e| corrupt("escalation policy", e))?;
    Ok(StoredEscalation {
        team: team_id
            .clone()
            .zip(team_name)
            .map(|(id, name)| TeamRef { id, name }),
        record: PolicyRecord {
            id,
            name,
            team_id,
            policy,
        },
        description,
        managed,
        created_at: c,
        updated_at: u,
    })
}

type RoutingRow = (
    String,
    String,
    bool,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);
const ROUTING_SELECT: &str = "SELECT r.id, r.name, r.is_default, r.criteria, r.time_restriction, \
    r.time_zone, r.target_type, r.target_id, COALESCE(e.name, s.name) FROM team_routing_rules r \
    LEFT JOIN escalations e ON r.target_type = 'escalation' AND e.id = r.target_id \
    LEFT JOIN schedules s ON r.target_type = 'schedule' AND s.id = r.target_id";

fn routing_from_row(r: RoutingRow) -> Result<TeamRoutingRule> {
    let (id, name, is_default, criteria, restriction, tz, kind, target_id, target_name) = r;
    let kind = match kind.as_str() {
        "escalation" => TargetKind::Escalation,
        "schedule" => TargetKind::Schedule,
        _ => TargetKind::None,
    };
    Ok(TeamRoutingRule {
        id,
        name,
        is_default,
        criteria: serde_json::from_str(&criteria).map_err(|e| corrupt("routing criteria", e))?,
        time_restriction: restriction
            .map(|r| serde_json::from_str(&r).map_err(|e| corrupt("routing time restriction", e)))
            .transpose()?,
        time_zone: tz
            .map(|z| {
                klaxon_core::routing::parse_time_zone(&z)
                    .map_err(|e| corrupt("routing time zone", e))
            })
            .transpose()?,
        notify: Target {
            kind,
            id: target_id,
            name: target_name,
        },
    })
}

// ------------------------------------------------------------------------------------------
// SQL, once per backend
// ------------------------------------------------------------------------------------------

macro_rules! directory_backend {
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

            /// The id of the row of `table` whose id is `key`, or whose `col` is `key`
            /// case-insensitively (an id wins).
            async fn lookup(tx: &mut Tx, table: &str, col: &str, key: &str) -> Result<Option<String>> {
                let sql = format!("SELECT id FROM {table} WHERE id = $1 OR lower({col}) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1");
                let row: Option<(String,)> = sqlx::query_as(&sql).bind(key).fetch_optional(&mut **tx).await?;
                Ok(row.map(|(id,)| id))
            }

            async fn must(tx: &mut Tx, what: &str, table: &str, col: &str, key: &str) -> Result<String> {
                lookup(tx, table, col, key).await?.ok_or_else(|| StoreError::Invalid(format!("{what} {key:?} does not exist")))
            }

            async fn user_id(tx: &mut Tx, key: &str) -> Result<String> {
                must(tx, "user", "users", "username", key).await
            }

            async fn team_id(tx: &mut Tx, key: &str) -> Result<String> {
                must(tx, "team", "teams", "name", key).await
            }

            /// The policy with every recipient named by id.
            async fn resolve_policy(tx: &mut Tx, policy: &EscalationPolicy) -> Result<EscalationPolicy> {
                let mut spec = EscalationSpec::from(policy.clone());
                for (i, rule) in spec.rules.iter_mut().enumerate() {
                    let key = rule.recipient.id.trim().to_string();
                    let found = match rule.recipient.kind {
                        RecipientKind::User => lookup(tx, "users", "username", &key).await?,
                        RecipientKind::Team => lookup(tx, "teams", "name", &key).await?,
                        RecipientKind::Schedule => lookup(tx, "schedules", "name", &key).await?,
                    };
                    rule.recipient.id = found.ok_or_else(|| StoreError::Invalid(format!(
                        "rule {i}: {} {key:?} does not exist", rule.recipient.kind.as_str())))?;
                }
                EscalationPolicy::new(spec).map_err(|e| StoreError::Invalid(e.to_string()))
            }

            async fn resolve_target(tx: &mut Tx, t: &Target) -> Result<Option<String>> {
                let (what, table) = match t.kind {
                    TargetKind::None => return Ok(None),
                    TargetKind::Escalation => ("escalation", "escalations"),
                    TargetKind::Schedule => ("schedule", "schedules"),
                };
                // An id that matches nothing is tried as a name, as OpsGenie clients expect.
                for key in [&t.id, &t.name].into_iter().flatten().filter(|k| !k.trim().is_empty()) {
                    if let Some(id) = lookup(tx, table, "name", key.trim()).await? {
                        return Ok(Some(id));
                    }
                }
                let key = t.id.clone().or(t.name.clone()).unwrap_or_default();
                Err(StoreError::Invalid(format!("{what} {key:?} does not exist")))
            }

            // ---------------- users ----------------

            pub async fn user(pool: &Pool, key: &str) -> Result<Option<StoredUser>> {
                let sql = format!("{USER_SELECT} WHERE id = $1 OR lower(username) = lower($1) ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1");
                let row: Option<UserRow> = sqlx::query_as(&sql).bind(key).fetch_optional(pool).await?;
                Ok(row.map(user_from_row))
            }

            pub async fn list_users(pool: &Pool, offset: i64, limit: i64) -> Result<(Vec<StoredUser>, i64)> {
                let sql = format!("{USER_SELECT} ORDER BY lower(username), id LIMIT $1 OFFSET $2");
                let rows: Vec<UserRow> = sqlx::query_as(&sql).bind(limit).bind(offset).fetch_all(pool).await?;
                let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(pool).await?;
                Ok((rows.into_iter().map(user_from_row).collect(), total))
            }

            pub async fn create_user(pool: &Pool, f: &UserFields, now: i64) -> Result<String> {
                let id = new_id();
                sqlx::query("INSERT INTO users (id, username, full_name, role, time_zone, managed, created_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6)")
                    .bind(&id).bind(&f.username).bind(&f.full_name).bind(&f.role).bind(&f.time_zone).bind(now)
                    .execute(pool).await
                    .map_err(|e| conflict(e, || format!("a user with username {:?} already exists", f.username)))?;
                Ok(id)
            }

            pub async fn update_user(pool: &Pool, id: &str, f: &UserFields) -> Result<bool> {
                let done = sqlx::query("UPDATE users SET username = $2, full_name = $3, role = $4, time_zone = $5 WHERE id = $1")
                    .bind(id).bind(&f.username).bind(&f.full_name).bind(&f.role).bind(&f.time_zone)
                    .execute(pool).await
                    .map_err(|e| conflict(e, || format!("a user with username {:?} already exists", f.username)))?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn delete_user(pool: &Pool, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            // ---------------- teams ----------------

            async fn load_teams(pool: &Pool, key: Option<&str>) -> Result<Vec<StoredTeam>> {
                let (t_where, m_where) = match key {
                    None => ("", ""),
                    Some(_) => (
                        " WHERE t.id = $1 OR lower(t.name) = lower($1) ORDER BY CASE WHEN t.id = $1 THEN 0 ELSE 1 END LIMIT 1",
                        " WHERE tm.team_id IN (SELECT id FROM teams WHERE id = $1 OR lower(name) = lower($1))",
                    ),
                };
                let order = if key.is_none() { " ORDER BY lower(t.name)" } else { "" };
                let sql = format!("SELECT t.id, t.name, t.description, t.managed, t.created_at FROM teams t{t_where}{order}");
                let mut q = sqlx::query_as::<_, (String, String, String, bool, i64)>(&sql);
                if let Some(k) = key { q = q.bind(k); }
                let teams = q.fetch_all(pool).await?;
                let sql = format!("SELECT tm.team_id, u.id, u.username, tm.role FROM team_members tm JOIN users u ON u.id = tm.user_id{m_where} ORDER BY lower(u.username), u.id");
                let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
                if let Some(k) = key { q = q.bind(k); }
                let members = q.fetch_all(pool).await?;
                Ok(teams.into_iter().map(|(id, name, description, managed, created_at)| StoredTeam {
                    members: members.iter().filter(|m| m.0 == id).map(|(_, uid, username, role)| StoredMember {
                        user: UserRef { id: uid.clone(), username: username.clone() },
                        role: role_from(role),
                    }).collect(),
                    id, name, description, managed, created_at,
                }).collect())
            }

            pub async fn team(pool: &Pool, key: &str) -> Result<Option<StoredTeam>> {
                Ok(load_teams(pool, Some(key)).await?.into_iter().next())
            }

            pub async fn list_teams(pool: &Pool) -> Result<Vec<StoredTeam>> {
                load_teams(pool, None).await
            }

            async fn set_members(tx: &mut Tx, team: &str, members: &[(String, TeamRole)]) -> Result<()> {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1").bind(team).execute(&mut **tx).await?;
                for (key, role) in members {
                    let uid = user_id(tx, key).await?;
                    sqlx::query("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role")
                        .bind(team).bind(&uid).bind(role_str(*role)).execute(&mut **tx).await?;
                }
                Ok(())
            }

            pub async fn create_team(pool: &Pool, name: &str, description: &str, members: &[(String, TeamRole)], now: i64) -> Result<String> {
                let mut tx = begin_write(pool).await?;
                let id = new_id();
                sqlx::query("INSERT INTO teams (id, name, description, managed, created_at) VALUES ($1, $2, $3, FALSE, $4)")
                    .bind(&id).bind(name).bind(description).bind(now)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict(e, || format!("a team named {name:?} already exists")))?;
                set_members(&mut tx, &id, members).await?;
                tx.commit().await?;
                Ok(id)
            }

            pub async fn update_team(pool: &Pool, id: &str, name: &str, description: &str, members: Option<&[(String, TeamRole)]>) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = sqlx::query("UPDATE teams SET name = $2, description = $3 WHERE id = $1")
                    .bind(id).bind(name).bind(description)
                    .execute(&mut *tx).await
                    .map_err(|e| conflict(e, || format!("a team named {name:?} already exists")))?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if let Some(m) = members {
                    set_members(&mut tx, id, m).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            pub async fn delete_team(pool: &Pool, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn add_member(pool: &Pool, team: &str, user: &str, role: TeamRole) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let Some(team) = lookup(&mut tx, "teams", "name", team).await? else { return Ok(false) };
                let uid = user_id(&mut tx, user).await?;
                sqlx::query("INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role")
                    .bind(&team).bind(&uid).bind(role_str(role)).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            pub async fn remove_member(pool: &Pool, team: &str, user: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id IN (SELECT id FROM users WHERE id = $2 OR lower(username) = lower($2))")
                    .bind(team).bind(user).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn team_members(pool: &Pool, team_id: &str) -> Result<Vec<TeamMember>> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT u.id, tm.role FROM team_members tm JOIN users u ON u.id = tm.user_id WHERE tm.team_id = $1 ORDER BY lower(u.username), u.id")
                    .bind(team_id).fetch_all(pool).await?;
                Ok(rows.into_iter().map(|(user, role)| TeamMember { user, role: role_from(&role) }).collect())
            }

            // ---------------- contacts and notification rules ----------------

            async fn contacts_in(ex: &mut Tx, user_id: &str) -> Result<Vec<ContactMethod>> {
                let rows: Vec<ContactRow> = sqlx::query_as("SELECT id, method, address, enabled FROM contact_methods WHERE user_id = $1 ORDER BY ordinal, id")
                    .bind(user_id).fetch_all(&mut **ex).await?;
                rows.into_iter().map(contact_from_row).collect()
            }

            async fn rules_in(ex: &mut Tx, user_id: &str) -> Result<Vec<StoredNotificationRule>> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, rule FROM notification_rules WHERE user_id = $1 ORDER BY ordinal, id")
                    .bind(user_id).fetch_all(&mut **ex).await?;
                rows.into_iter().map(rule_from_row).collect()
            }

            pub async fn contacts(pool: &Pool, user_id: &str) -> Result<Vec<ContactMethod>> {
                let rows: Vec<ContactRow> = sqlx::query_as("SELECT id, method, address, enabled FROM contact_methods WHERE user_id = $1 ORDER BY ordinal, id")
                    .bind(user_id).fetch_all(pool).await?;
                rows.into_iter().map(contact_from_row).collect()
            }

            pub async fn notification_rules(pool: &Pool, user_id: &str) -> Result<Vec<StoredNotificationRule>> {
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, rule FROM notification_rules WHERE user_id = $1 ORDER BY ordinal, id")
                    .bind(user_id).fetch_all(pool).await?;
                rows.into_iter().map(rule_from_row).collect()
            }

            /// Checks that the user's contacts and rules still make a valid profile.
            fn check_profile(contacts: &[ContactMethod], rules: &[StoredNotificationRule]) -> Result<NotificationProfile> {
                NotificationProfile::new(ProfileSpec {
                    contacts: contacts.to_vec(),
                    rules: rules.iter().map(|r| r.rule.clone()).collect(),
                })
                .map_err(|e| StoreError::Invalid(e.to_string()))
            }

            async fn write_contacts(tx: &mut Tx, user_id: &str, contacts: &[ContactMethod], now: i64) -> Result<()> {
                sqlx::query("DELETE FROM contact_methods WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
                for (i, c) in contacts.iter().enumerate() {
                    sqlx::query("INSERT INTO contact_methods (user_id, id, method, address, enabled, ordinal, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(user_id).bind(c.id()).bind(c.kind().as_str()).bind(c.to()).bind(c.enabled()).bind(i as i64).bind(now)
                        .execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn write_rules(tx: &mut Tx, user_id: &str, rules: &[StoredNotificationRule], now: i64) -> Result<()> {
                sqlx::query("DELETE FROM notification_rules WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
                for (i, r) in rules.iter().enumerate() {
                    sqlx::query("INSERT INTO notification_rules (id, user_id, name, rule, ordinal, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&r.id).bind(user_id).bind(r.rule.name.trim()).bind(to_json(&r.rule)).bind(i as i64).bind(now)
                        .execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Applies `change` to the user's contacts and rules, checks the result as a whole
            /// and writes it. `None` when the user does not exist.
            async fn edit_profile<T>(
                pool: &Pool,
                user: &str,
                now: i64,
                change: impl FnOnce(&mut Vec<ContactMethod>, &mut Vec<StoredNotificationRule>) -> Result<T>,
            ) -> Result<Option<T>> {
                let mut tx = begin_write(pool).await?;
                let Some(uid) = lookup(&mut tx, "users", "username", user).await? else { return Ok(None) };
                let mut contacts = contacts_in(&mut tx, &uid).await?;
                let mut rules = rules_in(&mut tx, &uid).await?;
                let (old_contacts, old_rules) = (contacts.clone(), rules.clone());
                let out = change(&mut contacts, &mut rules)?;
                check_profile(&contacts, &rules)?;
                if contacts != old_contacts {
                    write_contacts(&mut tx, &uid, &contacts, now).await?;
                }
                if rules != old_rules {
                    write_rules(&mut tx, &uid, &rules, now).await?;
                }
                tx.commit().await?;
                Ok(Some(out))
            }

            pub async fn create_contact(pool: &Pool, user: &str, c: &ContactMethod, now: i64) -> Result<Option<()>> {
                edit_profile(pool, user, now, |contacts, _| {
                    if contacts.iter().any(|x| x.id() == c.id()) {
                        return Err(StoreError::Conflict(format!("the user already has a contact method with id {:?}", c.id())));
                    }
                    if contacts.iter().any(|x| x.kind() == c.kind() && x.to() == c.to()) {
                        return Err(StoreError::Conflict(format!("the user already has the {} contact {:?}", c.kind(), c.to())));
                    }
                    contacts.push(c.clone());
                    Ok(())
                }).await
            }

            /// Replaces the contact `id` (its id may not change); `Some(false)` when the user
            /// has no such contact.
            pub async fn update_contact(pool: &Pool, user: &str, c: &ContactMethod, now: i64) -> Result<Option<bool>> {
                edit_profile(pool, user, now, |contacts, _| {
                    Ok(match contacts.iter_mut().find(|x| x.id() == c.id()) {
                        Some(slot) => { *slot = c.clone(); true }
                        None => false,
                    })
                }).await
            }

            /// Removes a contact; refused while a rule step sends to it.
            pub async fn delete_contact(pool: &Pool, user: &str, id: &str, now: i64) -> Result<Option<bool>> {
                edit_profile(pool, user, now, |contacts, rules| {
                    if let Some(r) = rules.iter().find(|r| r.rule.steps.iter().any(|s| s.contact == id)) {
                        return Err(StoreError::Invalid(format!(
                            "contact method {id:?} is used by notification rule {:?}: remove it from the rule's steps first", r.rule.name)));
                    }
                    let before = contacts.len();
                    contacts.retain(|x| x.id() != id);
                    Ok(contacts.len() != before)
                }).await
            }

            /// Adds a rule at `order` (0-based; default last) and returns its id.
            pub async fn create_rule(pool: &Pool, user: &str, rule: &NotificationRule, order: Option<usize>, now: i64) -> Result<Option<String>> {
                edit_profile(pool, user, now, |_, rules| {
                    let name = rule.name.trim().to_lowercase();
                    if rules.iter().any(|r| r.rule.name.trim().to_lowercase() == name) {
                        return Err(StoreError::Conflict(format!("the user already has a notification rule named {:?}", rule.name)));
                    }
                    let id = new_id();
                    let at = order.unwrap_or(rules.len()).min(rules.len());
                    rules.insert(at, StoredNotificationRule { id: id.clone(), rule: rule.clone() });
                    Ok(id)
                }).await
            }

            /// Replaces rule `id`, moving it to `order` when given; `Some(false)` when the user
            /// has no such rule.
            pub async fn update_rule(pool: &Pool, user: &str, id: &str, rule: &NotificationRule, order: Option<usize>, now: i64) -> Result<Option<bool>> {
                edit_profile(pool, user, now, |_, rules| {
                    let Some(at) = rules.iter().position(|r| r.id == id) else { return Ok(false) };
                    let name = rule.name.trim().to_lowercase();
                    if rules.iter().any(|r| r.id != id && r.rule.name.trim().to_lowercase() == name) {
                        return Err(StoreError::Conflict(format!("the user already has a notification rule named {:?}", rule.name)));
                    }
                    let mut moved = rules.remove(at);
                    moved.rule = rule.clone();
                    let to = order.unwrap_or(at).min(rules.len());
                    rules.insert(to, moved);
                    Ok(true)
                }).await
            }

            pub async fn delete_rule(pool: &Pool, user: &str, id: &str, now: i64) -> Result<Option<bool>> {
                edit_profile(pool, user, now, |_, rules| {
                    let before = rules.len();
                    rules.retain(|r| r.id != id);
                    Ok(rules.len() != before)
                }).await
            }

            pub async fn profile(pool: &Pool, user: &str) -> Result<Option<UserProfile>> {
                // The engine asks by id: the three reads go at once (on PostgreSQL, on three
                // connections); asked by username, contacts and rules are read again by id.
                let (u, contacts, rules) = tokio::try_join!(self::user(pool, user), contacts(pool, user), notification_rules(pool, user))?;
                let Some(u) = u else { return Ok(None) };
                let (contacts, rules) = if u.id == user { (contacts, rules) } else {
                    tokio::try_join!(self::contacts(pool, &u.id), notification_rules(pool, &u.id))?
                };
                let profile = check_profile(&contacts, &rules).map_err(|e| corrupt("notification profile", e))?;
                Ok(Some(UserProfile { user_id: u.id, username: u.username, full_name: u.full_name, time_zone: u.time_zone, profile }))
            }

            // ---------------- escalations ----------------

            async fn load_escalations(pool: &Pool, key: Option<&str>) -> Result<Vec<StoredEscalation>> {
                let rows: Vec<EscalationRow> = match key {
                    Some(k) => {
                        let sql = format!("{ESCALATION_SELECT} WHERE e.id = $1 OR lower(e.name) = lower($1) ORDER BY CASE WHEN e.id = $1 THEN 0 ELSE 1 END LIMIT 1");
                        sqlx::query_as(&sql).bind(k).fetch_all(pool).await?
                    }
                    None => {
                        let sql = format!("{ESCALATION_SELECT} ORDER BY lower(e.name)");
                        sqlx::query_as(&sql).fetch_all(pool).await?
                    }
                };
                rows.into_iter().map(escalation_from_row).collect()
            }

            pub async fn escalation(pool: &Pool, key: &str) -> Result<Option<StoredEscalation>> {
                Ok(load_escalations(pool, Some(key)).await?.into_iter().next())
            }

            pub async fn list_escalations(pool: &Pool) -> Result<Vec<StoredEscalation>> {
                load_escalations(pool, None).await
            }

            async fn insert_escalation(tx: &mut Tx, f: &EscalationFields, managed: bool, now: i64) -> Result<String> {
                let team = match &f.team { Some(t) => Some(team_id(tx, t).await?), None => None };
                let policy = resolve_policy(tx, &f.policy).await?;
                let id = new_id();
                sqlx::query("INSERT INTO escalations (id, name, description, team_id, policy, managed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                    .bind(&id).bind(f.name.trim()).bind(&f.description).bind(&team).bind(to_json(&policy)).bind(managed).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("an escalation named {:?} already exists", f.name)))?;
                Ok(id)
            }

            async fn update_escalation_row(tx: &mut Tx, id: &str, f: &EscalationFields, managed: bool, now: i64) -> Result<bool> {
                let team = match &f.team { Some(t) => Some(team_id(tx, t).await?), None => None };
                let policy = resolve_policy(tx, &f.policy).await?;
                let done = sqlx::query("UPDATE escalations SET name = $2, description = $3, team_id = $4, policy = $5, managed = $6, updated_at = $7 WHERE id = $1")
                    .bind(id).bind(f.name.trim()).bind(&f.description).bind(&team).bind(to_json(&policy)).bind(managed).bind(now)
                    .execute(&mut **tx).await
                    .map_err(|e| conflict(e, || format!("an escalation named {:?} already exists", f.name)))?;
                Ok(done.rows_affected() > 0)
            }

            pub async fn create_escalation(pool: &Pool, f: &EscalationFields, now: i64) -> Result<String> {
                let mut tx = begin_write(pool).await?;
                let id = insert_escalation(&mut tx, f, false, now).await?;
                tx.commit().await?;
                Ok(id)
            }

            pub async fn update_escalation(pool: &Pool, id: &str, f: &EscalationFields, now: i64) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let done = update_escalation_row(&mut tx, id, f, false, now).await?;
                tx.commit().await?;
                Ok(done)
            }

            pub async fn delete_escalation(pool: &Pool, id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM escalations WHERE id = $1").bind(id).execute(pool).await?;
                Ok(done.rows_affected() > 0)
            }

            // ---------------- team routing rules ----------------

            pub async fn routing_rules(pool: &Pool, team_id: &str) -> Result<Vec<TeamRoutingRule>> {
                let sql = format!("{ROUTING_SELECT} WHERE r.team_id = $1 ORDER BY r.is_default, r.ordinal, r.id");
                let rows: Vec<RoutingRow> = sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await?;
                rows.into_iter().map(routing_from_row).collect()
            }

            async fn rule_ids(tx: &mut Tx, team_id: &str) -> Result<Vec<(String, bool)>> {
                Ok(sqlx::query_as("SELECT id, is_default FROM team_routing_rules WHERE team_id = $1 ORDER BY is_default, ordinal, id")
                    .bind(team_id).fetch_all(&mut **tx).await?)
            }

            /// Numbers the team's rules in `ids` order (the default rule sorts last anyway).
            async fn renumber(tx: &mut Tx, ids: &[String]) -> Result<()> {
                for (i, id) in ids.iter().enumerate() {
                    sqlx::query("UPDATE team_routing_rules SET ordinal = $2 WHERE id = $1").bind(id).bind(i as i64).execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_routing(tx: &mut Tx, team_id: &str, f: &RoutingRuleFields, ordinal: i64, managed: bool, now: i64) -> Result<String> {
                let target = resolve_target(tx, &f.notify).await?;
                let id = new_id();
                sqlx::query("INSERT INTO team_routing_rules (id, team_id, ordinal, name, is_default, criteria, time_restriction, time_zone, target_type, target_id, managed, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(&id).bind(team_id).bind(ordinal).bind(&f.name).bind(f.is_default).bind(to_json(&f.criteria))
                    .bind(f.time_restriction.as_ref().map(to_json)).bind(&f.time_zone).bind(f.notify.kind.as_str()).bind(&target)
                    .bind(managed).bind(now)
                    .execute(&mut **tx).await?;
                Ok(id)
            }

            /// Adds a rule at `order` among the team's non-default rules (default: last before
            /// the default rule). `None` when the team does not exist.
            pub async fn create_routing_rule(pool: &Pool, team: &str, f: &RoutingRuleFields, order: Option<usize>, now: i64) -> Result<Option<String>> {
                let mut tx = begin_write(pool).await?;
                let Some(team_id) = lookup(&mut tx, "teams", "name", team).await? else { return Ok(None) };
                let existing = rule_ids(&mut tx, &team_id).await?;
                if f.is_default && existing.iter().any(|(_, d)| *d) {
                    return Err(StoreError::Conflict("the team already has a default routing rule".into()));
                }
                let id = insert_routing(&mut tx, &team_id, f, 0, false, now).await?;
                let mut ids: Vec<String> = existing.iter().filter(|(_, d)| !d).map(|(id, _)| id.clone()).collect();
                if !f.is_default {
                    let at = order.unwrap_or(ids.len()).min(ids.len());
                    ids.insert(at, id.clone());
                }
                ids.extend(existing.iter().filter(|(_, d)| *d).map(|(id, _)| id.clone()));
                if f.is_default { ids.push(id.clone()); }
                renumber(&mut tx, &ids).await?;
                tx.commit().await?;
                Ok(Some(id))
            }

            /// Rewrites rule `id` of the team (the default rule keeps match-all and its place);
            /// moves it to `order` when given.
            pub async fn update_routing_rule(pool: &Pool, team_id: &str, id: &str, f: &RoutingRuleFields, order: Option<usize>) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let existing = rule_ids(&mut tx, team_id).await?;
                let Some(is_default) = existing.iter().find(|(r, _)| r == id).map(|(_, d)| *d) else { return Ok(false) };
                let target = resolve_target(&mut tx, &f.notify).await?;
                sqlx::query("UPDATE team_routing_rules SET name = $2, criteria = $3, time_restriction = $4, time_zone = $5, target_type = $6, target_id = $7 WHERE id = $1")
                    .bind(id).bind(&f.name).bind(to_json(&f.criteria)).bind(f.time_restriction.as_ref().map(to_json))
                    .bind(&f.time_zone).bind(f.notify.kind.as_str()).bind(&target)
                    .execute(&mut *tx).await?;
                if let (Some(order), false) = (order, is_default) {
                    let mut ids: Vec<String> = existing.iter().filter(|(r, d)| !d && r != id).map(|(r, _)| r.clone()).collect();
                    ids.insert(order.min(ids.len()), id.to_string());
                    ids.extend(existing.iter().filter(|(_, d)| *d).map(|(r, _)| r.clone()));
                    renumber(&mut tx, &ids).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            /// Removes a rule; the default rule cannot be removed (OpsGenie keeps it).
            pub async fn delete_routing_rule(pool: &Pool, team_id: &str, id: &str) -> Result<bool> {
                let mut tx = begin_write(pool).await?;
                let existing = rule_ids(&mut tx, team_id).await?;
                match existing.iter().find(|(r, _)| r == id) {
                    None => return Ok(false),
                    Some((_, true)) => return Err(StoreError::Invalid("the default routing rule cannot be deleted: change where it notifies instead".into())),
                    Some(_) => {}
                }
                sqlx::query("DELETE FROM team_routing_rules WHERE id = $1").bind(id).execute(&mut *tx).await?;
                let ids: Vec<String> = existing.into_iter().map(|(r, _)| r).filter(|r| r != id).collect();
                renumber(&mut tx, &ids).await?;
                tx.commit().await?;
                Ok(true)
            }

            // ---------------- config ----------------

            /// Makes the config-declared part of the directory exactly `d`, in one transaction:
            /// the contacts and rules of every config-managed user, the managed escalation
            /// policies (one created through the API with a declared name is taken over), and
            /// the routing rules of every config-managed team.
            pub async fn apply(pool: &Pool, d: &DirectoryDecl, now: i64) -> Result<()> {
                let mut tx = begin_write(pool).await?;
                let managed_users: Vec<(String, String)> = sqlx::query_as("SELECT id, username FROM users WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (uid, username) in &managed_users {
                    let decl = d.profiles.iter().find(|p| p.username.eq_ignore_ascii_case(username));
                    let (contacts, rules) = match decl {
                        Some(p) => (
                            p.profile.contacts().to_vec(),
                            p.profile.rules().iter().map(|r| StoredNotificationRule { id: new_id(), rule: r.clone() }).collect::<Vec<_>>(),
                        ),
                        None => (vec![], vec![]),
                    };
                    // Unchanged rules keep their ids, so a restart does not renumber them.
                    let old = rules_in(&mut tx, uid).await?;
                    let same = old.len() == rules.len() && old.iter().zip(&rules).all(|(a, b)| a.rule == b.rule);
                    write_contacts(&mut tx, uid, &contacts, now).await?;
                    if !same {
                        write_rules(&mut tx, uid, &rules, now).await?;
                    }
                }
                for p in &d.profiles {
                    if !managed_users.iter().any(|(_, u)| u.eq_ignore_ascii_case(&p.username)) {
                        return Err(StoreError::Invalid(format!("user {:?} is not declared in the config file", p.username)));
                    }
                }

                let mut kept = Vec::with_capacity(d.escalations.len());
                for f in &d.escalations {
                    let id = match lookup(&mut tx, "escalations", "name", f.name.trim()).await? {
                        Some(id) => {
                            update_escalation_row(&mut tx, &id, f, true, now).await?;
                            id
                        }
                        None => insert_escalation(&mut tx, f, true, now).await?,
                    };
                    kept.push(id);
                }
                let managed: Vec<(String,)> = sqlx::query_as("SELECT id FROM escalations WHERE managed = TRUE").fetch_all(&mut *tx).await?;
                for (id,) in managed {
                    if !kept.contains(&id) {
                        sqlx::query("DELETE FROM escalations WHERE id = $1").bind(&id).execute(&mut *tx).await?;
                    }
                }

                let managed_teams: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM teams WHERE managed = TRUE")
                    .fetch_all(&mut *tx).await?;
                for (tid, name) in &managed_teams {
                    sqlx::query("DELETE FROM team_routing_rules WHERE team_id = $1").bind(tid).execute(&mut *tx).await?;
                    let Some(decl) = d.routing.iter().find(|r| r.team.eq_ignore_ascii_case(name)) else { continue };
                    for (i, f) in decl.rules.iter().enumerate() {
                        insert_routing(&mut tx, tid, f, i as i64, true, now).await?;
                    }
                }
                for r in &d.routing {
                    if !managed_teams.iter().any(|(_, n)| n.eq_ignore_ascii_case(&r.team)) {
                        return Err(StoreError::Invalid(format!("team {:?} is not declared in the config file", r.team)));
                    }
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

directory_backend!(sqlite, sqlx::Sqlite, Dialect::Sqlite);
directory_backend!(postgres, sqlx::Postgres, Dialect::Postgres);

// ------------------------------------------------------------------------------------------
// The contract
// ------------------------------------------------------------------------------------------

impl Store {
    /// Makes the config-declared contacts, notification rules, escalation policies and team
    /// routing rules exactly `d`. Runs after [`Store::apply_directory`] and
    /// [`Store::apply_schedules`], whose users, teams and schedules it names.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn apply_directory_decl(&self, d: &DirectoryDecl, now: i64) -> Result<()> {
        on_backend!(self, m, pool => m::apply(pool, d, now).await)
    }

    // ---- users ----

    /// A user by id or username (case-insensitive).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_by_name_or_id(&self, key: &str) -> Result<Option<StoredUser>> {
        on_backend!(self, m, pool => m::user(pool, key).await)
    }

    /// A page of users by username, and how many there are in all.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_users(&self, offset: i64, limit: i64) -> Result<(Vec<StoredUser>, i64)> {
        on_backend!(self, m, pool => m::list_users(pool, offset, limit).await)
    }

    /// Creates a user (not managed); a taken username is a conflict.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_user(&self, f: &UserFields, now: i64) -> Result<String> {
        on_backend!(self, m, pool => m::create_user(pool, f, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_user(&self, id: &str, f: &UserFields) -> Result<bool> {
        on_backend!(self, m, pool => m::update_user(pool, id, f).await)
    }

    /// Deletes a user with their contacts, rules and memberships.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_user(&self, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_user(pool, id).await)
    }

    // ---- teams ----

    /// A team with its members, by id or name (case-insensitive).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn team_by_name_or_id(&self, key: &str) -> Result<Option<StoredTeam>> {
        on_backend!(self, m, pool => m::team(pool, key).await)
    }

    /// Every team with its members, by name.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_teams(&self) -> Result<Vec<StoredTeam>> {
        on_backend!(self, m, pool => m::list_teams(pool).await)
    }

    /// Creates a team (not managed) with members named by id or username.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_team(
        &self,
        name: &str,
        description: &str,
        members: &[(String, TeamRole)],
        now: i64,
    ) -> Result<String> {
        on_backend!(self, m, pool => m::create_team(pool, name, description, members, now).await)
    }

    /// Renames or redescribes team `id`; `Some(members)` replaces its members.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_team(
        &self,
        id: &str,
        name: &str,
        description: &str,
        members: Option<&[(String, TeamRole)]>,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_team(pool, id, name, description, members).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_team(&self, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_team(pool, id).await)
    }

    /// Adds (or changes the role of) a member; `false` when the team does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_team_member(&self, team: &str, user: &str, role: TeamRole) -> Result<bool> {
        on_backend!(self, m, pool => m::add_member(pool, team, user, role).await)
    }

    /// Removes the member (by user id or username) from team `team_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remove_team_member(&self, team_id: &str, user: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::remove_member(pool, team_id, user).await)
    }

    /// The team's members as escalation sees them (user ids), by username.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn team_members(&self, team_id: &str) -> Result<Vec<TeamMember>> {
        on_backend!(self, m, pool => m::team_members(pool, team_id).await)
    }

    // ---- contacts and notification rules ----

    /// The user's contacts and notification rules, checked; user by id or username.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn notification_profile(&self, user_id: &str) -> Result<Option<UserProfile>> {
        on_backend!(self, m, pool => m::profile(pool, user_id).await)
    }

    /// The contact methods of user `user_id` (an id), in the order they were added.
    pub async fn contact_methods(&self, user_id: &str) -> Result<Vec<ContactMethod>> {
        on_backend!(self, m, pool => m::contacts(pool, user_id).await)
    }

    /// The notification rules of user `user_id` (an id), in order.
    pub async fn notification_rules(&self, user_id: &str) -> Result<Vec<StoredNotificationRule>> {
        on_backend!(self, m, pool => m::notification_rules(pool, user_id).await)
    }

    /// Adds a contact method; `None` when the user does not exist. A taken id or a duplicate
    /// address is a conflict.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_contact_method(
        &self,
        user: &str,
        c: &ContactMethod,
        now: i64,
    ) -> Result<Option<()>> {
        on_backend!(self, m, pool => m::create_contact(pool, user, c, now).await)
    }

    /// Replaces the contact with `c`'s id; `None`: no user, `Some(false)`: no such contact.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_contact_method(
        &self,
        user: &str,
        c: &ContactMethod,
        now: i64,
    ) -> Result<Option<bool>> {
        on_backend!(self, m, pool => m::update_contact(pool, user, c, now).await)
    }

    /// Removes a contact; refused ([`StoreError::Invalid`]) while a rule step uses it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_contact_method(
        &self,
        user: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<bool>> {
        on_backend!(self, m, pool => m::delete_contact(pool, user, id, now).await)
    }

    /// Adds a notification rule at `order` (default last); its steps must name the user's
    /// contacts. Returns the new rule's id; `None` when the user does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_notification_rule(
        &self,
        user: &str,
        rule: &NotificationRule,
        order: Option<usize>,
        now: i64,
    ) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::create_rule(pool, user, rule, order, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_notification_rule(
        &self,
        user: &str,
        id: &str,
        rule: &NotificationRule,
        order: Option<usize>,
        now: i64,
    ) -> Result<Option<bool>> {
        on_backend!(self, m, pool => m::update_rule(pool, user, id, rule, order, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_notification_rule(
        &self,
        user: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<bool>> {
        on_backend!(self, m, pool => m::delete_rule(pool, user, id, now).await)
    }

    // ---- escalations ----

    /// An escalation policy by id, or by name case-insensitively.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn escalation_policy(&self, id_or_name: &str) -> Result<Option<PolicyRecord>> {
        Ok(self.escalation(id_or_name).await?.map(|e| e.record))
    }

    /// An escalation policy with its description, team and managed flag.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn escalation(&self, id_or_name: &str) -> Result<Option<StoredEscalation>> {
        on_backend!(self, m, pool => m::escalation(pool, id_or_name).await)
    }

    /// Every escalation policy, by name.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_escalations(&self) -> Result<Vec<StoredEscalation>> {
        on_backend!(self, m, pool => m::list_escalations(pool).await)
    }

    /// Creates a policy (not managed); recipients and team by id or name.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_escalation(&self, f: &EscalationFields, now: i64) -> Result<String> {
        on_backend!(self, m, pool => m::create_escalation(pool, f, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_escalation(
        &self,
        id: &str,
        f: &EscalationFields,
        now: i64,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_escalation(pool, id, f, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_escalation(&self, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_escalation(pool, id).await)
    }

    // ---- team routing rules ----

    /// The team's routing rules in order (the default rule last); targets carry id and name.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn team_routing_rules(&self, team_id: &str) -> Result<Vec<TeamRoutingRule>> {
        on_backend!(self, m, pool => m::routing_rules(pool, team_id).await)
    }

    /// Adds a routing rule to the team (id or name) at `order`; `None` when there is no team.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_team_routing_rule(
        &self,
        team: &str,
        f: &RoutingRuleFields,
        order: Option<usize>,
        now: i64,
    ) -> Result<Option<String>> {
        on_backend!(self, m, pool => m::create_routing_rule(pool, team, f, order, now).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_team_routing_rule(
        &self,
        team_id: &str,
        id: &str,
        f: &RoutingRuleFields,
        order: Option<usize>,
    ) -> Result<bool> {
        on_backend!(self, m, pool => m::update_routing_rule(pool, team_id, id, f, order).await)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_team_routing_rule(&self, team_id: &str, id: &str) -> Result<bool> {
        on_backend!(self, m, pool => m::delete_routing_rule(pool, team_id, id).await)
    }
}
