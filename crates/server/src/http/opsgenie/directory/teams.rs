//! `/v2/teams`: teams, members and team routing rules.
//!
//! Creating a team also creates `<team>_schedule`, `<team>_escalation` (the schedule's on-call
//! at once) and the team's default routing rule notifying that escalation, as OpsGenie does
//! (Terraform's `delete_default_resources` expects them). A name already taken is left alone.

use super::{
    body, conflict, created, identifier_type, ok, read_only, refused, require_global, require_team,
    result, Params, Problems, RawBody,
};
use crate::app::AppState;
use crate::http::opsgenie::error::OgError;
use crate::http::opsgenie::Caller;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use klaxon_core::escalation::{
    EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient, TeamRole,
};
use klaxon_core::routing::{Criteria, Target, TeamRoutingRule, TimeRestriction};
use klaxon_core::schedule::ScheduleMode;
use klaxon_store::{EscalationFields, RoutingRuleFields, ScheduleFields, StoreError, StoredTeam};
use serde_json::{json, Map, Value};

async fn find(state: &AppState, raw: &str, params: &Params) -> Result<StoredTeam, OgError> {
    let kind = identifier_type(
        params,
        &["identifierType", "teamIdentifierType"],
        &["id", "name"],
    )?;
    state.store.team_by_name_or_id(raw).await?.ok_or_else(|| {
        OgError::not_found(format!(
            "No team exists with {kind} {raw:?}; list them with GET /v2/teams"
        ))
    })
}

/// The team a request may read (a team key: only its own).
async fn readable(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    params: &Params,
) -> Result<StoredTeam, OgError> {
    let t = find(state, raw, params).await?;
    require_team(caller, Some(&t.id))?;
    Ok(t)
}

/// The team a request may change: readable, and not declared in the config file.
async fn writable(
    state: &AppState,
    caller: &Caller,
    raw: &str,
    params: &Params,
) -> Result<StoredTeam, OgError> {
    let t = readable(state, caller, raw, params).await?;
    if t.managed {
        return Err(read_only("Team", &t.name));
    }
    Ok(t)
}

fn role_str(r: TeamRole) -> &'static str {
    match r {
        TeamRole::Admin => "admin",
        TeamRole::User => "user",
    }
}

fn render(t: &StoredTeam) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "members": t.members.iter().map(|m| json!({
            "user": {"id": m.user.id, "username": m.user.username},
            "role": role_str(m.role),
        })).collect::<Vec<_>>(),
        "managed": t.managed,
    })
}

/// `members: [{user: {id|username}, role}]` as (user key, role).
fn members(p: &mut Problems, m: &Map<String, Value>) -> Option<Vec<(String, TeamRole)>> {
    let list = p.list(m, "members", "members")?;
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let f = format!("members[{i}]");
        let Some(o) = v.as_object() else {
            p.add(f, "should be an object");
            continue;
        };
        match member(p, o, &f) {
            Some(x) => out.push(x),
            None => continue,
        }
    }
    Some(out)
}

fn member(p: &mut Problems, o: &Map<String, Value>, f: &str) -> Option<(String, TeamRole)> {
    let role = match p.str(o, &format!("{f}.role"), "role").as_deref() {
        None | Some("user") => TeamRole::User,
        Some("admin") => TeamRole::Admin,
        Some(_) => {
            p.add(format!("{f}.role"), "should be one of [ admin, user ]");
            return None;
        }
    };
    let Some(u) = p.obj(o, &format!("{f}.user"), "user") else {
        p.add(format!("{f}.user"), "is required: {id} or {username}");
        return None;
    };
    let key = p
        .str(u, &format!("{f}.user.id"), "id")
        .filter(|s| !s.trim().is_empty())
        .or_else(|| p.str(u, &format!("{f}.user.username"), "username"));
    match key {
        Some(k) => Some((k.trim().to_string(), role)),
        None => {
            p.add(format!("{f}.user"), "name the user with id or username");
            None
        }
    }
}

fn name_field(p: &mut Problems, m: &Map<String, Value>, required: bool) -> Option<String> {
    match p.str(m, "name", "name").map(|n| n.trim().to_string()) {
        Some(n) if n.is_empty() => {
            p.add("name", "Name can not be empty");
            None
        }
        Some(n) if n.chars().count() > 100 => {
            p.add("name", "should be at most 100 characters");
            None
        }
        None if required => {
            p.add("name", "is required");
            None
        }
        other => other,
    }
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, OgError> {
    let teams = state.store.list_teams().await?;
    let data: Vec<Value> = teams
        .iter()
        .filter(|t| {
            caller
                .integration
                .team_id
                .as_ref()
                .is_none_or(|mine| *mine == t.id)
        })
        .map(render)
        .collect();
    Ok(ok(json!({ "data": data })))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = readable(&state, &caller, &identifier, &params).await?;
    Ok(ok(json!({ "data": render(&t) })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawBody,
) -> Result<Response, OgError> {
    require_global(&caller)?;
    let m = body(raw)?;
    let mut p = Problems::default();
    let name = name_field(&mut p, &m, true);
    let description = p.str(&m, "description", "description").unwrap_or_default();
    let members = members(&mut p, &m).unwrap_or_default();
    p.check()?;
    let name = name.unwrap_or_default();
    let now = state.clock.now_ms();
    let id = state
        .store
        .create_team(&name, &description, &members, now)
        .await
        .map_err(refused("members"))?;
    create_defaults(&state, &id, &name, now).await?;
    Ok(created(json!({"id": id, "name": name})))
}

/// `<team>_schedule`, `<team>_escalation` and the default routing rule (see the module docs).
pub async fn create_defaults(
    state: &AppState,
    team_id: &str,
    name: &str,
    now: i64,
) -> Result<(), OgError> {
    let taken = |r: Result<String, StoreError>| match r {
        Ok(_) | Err(StoreError::Conflict(_)) | Err(StoreError::Invalid(_)) => Ok(()),
        Err(e) => Err(OgError::from(e)),
    };
    let schedule = format!("{name}_schedule");
    if state.store.schedule_by_name(&schedule).await?.is_none() {
        let made = state
            .store
            .create_schedule(
                &ScheduleFields {
                    name: schedule.clone(),
                    description: String::new(),
                    time_zone: "UTC".into(),
                    mode: ScheduleMode::Cumulative,
                    enabled: true,
                    team: Some(team_id.to_string()),
                },
                &[],
                now,
            )
            .await;
        taken(made)?;
    }
    let escalation = format!("{name}_escalation");
    if state.store.escalation(&escalation).await?.is_none() {
        if let Ok(policy) = EscalationPolicy::new(EscalationSpec {
            rules: vec![EscalationRule {
                condition: Default::default(),
                notify_type: NotifyType::Default,
                delay: Default::default(),
                recipient: Recipient::schedule(schedule),
            }],
            repeat: None,
        }) {
            let made = state
                .store
                .create_escalation(
                    &EscalationFields {
                        name: escalation.clone(),
                        description: String::new(),
                        team: Some(team_id.to_string()),
                        policy,
                    },
                    now,
                )
                .await;
            taken(made)?;
        }
    }
    let notify = match state.store.escalation(&escalation).await? {
        Some(e) => Target {
            kind: klaxon_core::routing::TargetKind::Escalation,
            id: Some(e.record.id),
            name: None,
        },
        None => Target::none(),
    };
    let rule = RoutingRuleFields {
        name: "Default Rule".into(),
        is_default: true,
        criteria: Criteria::match_all(),
        time_restriction: None,
        time_zone: None,
        notify,
    };
    let made = state
        .store
        .create_team_routing_rule(team_id, &rule, None, now)
        .await;
    match made {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(OgError::from(e)),
    }
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    let m = body(raw)?;
    let mut p = Problems::default();
    let name = name_field(&mut p, &m, false).unwrap_or_else(|| t.name.clone());
    let description = p
        .str(&m, "description", "description")
        .unwrap_or_else(|| t.description.clone());
    let members = members(&mut p, &m);
    p.check()?;
    state
        .store
        .update_team(&t.id, &name, &description, members.as_deref())
        .await
        .map_err(refused("members"))?;
    Ok(result("Updated", Some(json!({"id": t.id, "name": name}))))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    require_global(&caller)?;
    let t = writable(&state, &caller, &identifier, &params).await?;
    state.store.delete_team(&t.id).await?;
    Ok(result("Deleted", None))
}

pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    let m = body(raw)?;
    let mut p = Problems::default();
    let one = member(&mut p, &m, "member");
    p.check()?;
    let Some((user, role)) = one else {
        return Err(OgError::field("user", "is required"));
    };
    state
        .store
        .add_team_member(&t.id, &user, role)
        .await
        .map_err(refused("user"))?;
    Ok(result("Added", Some(json!({"id": t.id, "name": t.name}))))
}

pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, member)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    if state.store.remove_team_member(&t.id, &member).await? {
        Ok(result("Removed", Some(json!({"id": t.id, "name": t.name}))))
    } else {
        Err(OgError::not_found(format!(
            "User {member:?} is not a member of team {:?}",
            t.name
        )))
    }
}

// ---------------------------------------------------------------- routing rules

fn render_rule(r: &TeamRoutingRule, order: usize) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "isDefault": r.is_default,
        "order": order,
        "criteria": r.criteria,
        "timezone": r.time_zone.map(|z| z.name().to_string()),
        "timeRestriction": r.time_restriction,
        "notify": r.notify,
    })
}

/// A routing rule from a body; absent fields come from `base`.
fn routing_fields(
    m: &Map<String, Value>,
    base: Option<&TeamRoutingRule>,
) -> Result<(RoutingRuleFields, Option<usize>), OgError> {
    let mut p = Problems::default();
    let name = p
        .str(m, "name", "name")
        .or(base.map(|b| b.name.clone()))
        .unwrap_or_default();
    let criteria = match m.get("criteria").filter(|v| !v.is_null()) {
        Some(v) => match serde_json::from_value::<Criteria>(v.clone()) {
            Ok(c) => c,
            Err(e) => {
                p.add("criteria", e.to_string());
                Criteria::default()
            }
        },
        None => base.map(|b| b.criteria.clone()).unwrap_or_default(),
    };
    let time_restriction = match m.get("timeRestriction") {
        Some(Value::Null) => None,
        Some(v) => match serde_json::from_value::<TimeRestriction>(v.clone()) {
            Ok(r) => Some(r),
            Err(e) => {
                p.add("timeRestriction", e.to_string());
                None
            }
        },
        None => base.and_then(|b| b.time_restriction.clone()),
    };
    let time_zone = match p.str(m, "timezone", "timezone") {
        Some(z) => match klaxon_core::routing::parse_time_zone(&z) {
            Ok(_) => Some(z.trim().to_string()),
            Err(e) => {
                p.add("timezone", e.to_string());
                None
            }
        },
        None => base.and_then(|b| b.time_zone.map(|z| z.name().to_string())),
    };
    let notify = match m.get("notify").filter(|v| !v.is_null()) {
        Some(v) => match serde_json::from_value::<Target>(v.clone()) {
            Ok(t) => {
                if let Err(e) = t.check() {
                    p.add("notify", e.to_string());
                }
                Some(t)
            }
            Err(e) => {
                p.add(
                    "notify",
                    format!("{e}: write {{type: escalation|schedule|none, id|name}}"),
                );
                None
            }
        },
        None => base.map(|b| b.notify.clone()),
    };
    if notify.is_none() && !p.0.iter().any(|(f, _)| f == "notify") {
        p.add(
            "notify",
            "is required: {type: escalation|schedule|none, id|name}",
        );
    }
    let order = p.int(m, "order", "order", 0..=10_000).map(|o| o as usize);
    p.check()?;
    Ok((
        RoutingRuleFields {
            name,
            is_default: base.is_some_and(|b| b.is_default),
            criteria,
            time_restriction,
            time_zone,
            notify: notify.unwrap_or_else(Target::none),
        },
        order,
    ))
}

async fn find_rule(
    state: &AppState,
    t: &StoredTeam,
    id: &str,
) -> Result<(usize, TeamRoutingRule), OgError> {
    state
        .store
        .team_routing_rules(&t.id)
        .await?
        .into_iter()
        .enumerate()
        .find(|(_, r)| r.id == id)
        .ok_or_else(|| {
            OgError::not_found(format!(
                "Team {:?} has no routing rule with id {id:?}",
                t.name
            ))
        })
}

pub async fn list_routing(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = readable(&state, &caller, &identifier, &params).await?;
    let rules = state.store.team_routing_rules(&t.id).await?;
    Ok(ok(
        json!({"data": rules.iter().enumerate().map(|(i, r)| render_rule(r, i)).collect::<Vec<_>>()}),
    ))
}

pub async fn get_routing(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = readable(&state, &caller, &identifier, &params).await?;
    let (i, r) = find_rule(&state, &t, &rule).await?;
    Ok(ok(json!({ "data": render_rule(&r, i) })))
}

pub async fn create_routing(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    let m = body(raw)?;
    let (f, order) = routing_fields(&m, None)?;
    let id = state
        .store
        .create_team_routing_rule(&t.id, &f, order, state.clock.now_ms())
        .await
        .map_err(refused("notify"))?
        .ok_or_else(|| conflict("the team was deleted meanwhile"))?;
    Ok(created(json!({"id": id})))
}

pub async fn update_routing(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    let (_, current) = find_rule(&state, &t, &rule).await?;
    let m = body(raw)?;
    let (f, order) = routing_fields(&m, Some(&current))?;
    if current.is_default && f.criteria != Criteria::match_all() {
        return Err(OgError::field(
            "criteria",
            "the default routing rule matches every alert: change where it notifies instead",
        ));
    }
    state
        .store
        .update_team_routing_rule(&t.id, &current.id, &f, order)
        .await
        .map_err(refused("notify"))?;
    Ok(result("Updated", Some(json!({"id": current.id}))))
}

pub async fn change_routing_order(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    let (_, current) = find_rule(&state, &t, &rule).await?;
    let m = body(raw)?;
    let mut p = Problems::default();
    let order = p.int(&m, "order", "order", 0..=10_000);
    if order.is_none() {
        p.add("order", "is required");
    }
    p.check()?;
    let (f, _) = routing_fields(&Map::new(), Some(&current))?;
    state
        .store
        .update_team_routing_rule(&t.id, &current.id, &f, order.map(|o| o as usize))
        .await
        .map_err(refused("order"))?;
    Ok(result("Updated", Some(json!({"id": current.id}))))
}

pub async fn delete_routing(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = writable(&state, &caller, &identifier, &params).await?;
    match state.store.delete_team_routing_rule(&t.id, &rule).await {
        Ok(true) => Ok(result("Deleted", None)),
        Ok(false) => Err(OgError::not_found(format!(
            "Team {:?} has no routing rule with id {rule:?}",
            t.name
        ))),
        Err(StoreError::Invalid(m)) => Err(OgError::new(axum::http::StatusCode::CONFLICT, m)),
        Err(e) => Err(e.into()),
    }
}
