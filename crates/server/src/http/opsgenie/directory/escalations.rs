//! `/v2/escalations`: escalation policies in OpsGenie's shape. Recipients arrive as
//! `{type, id|name|username}` and are stored by id; responses give both back.

use super::{
    body, created, duration_ms, forbidden, identifier_type, ok, read_only, refused,
    render_time_amount, require_team, result, time_amount, Params, Problems, RawBody,
};
use crate::app::AppState;
use crate::http::opsgenie::error::OgError;
use crate::http::opsgenie::Caller;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use klaxon_core::escalation::{
    Condition, EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient,
    RecipientKind, Repeat,
};
use klaxon_store::{EscalationFields, StoredEscalation};
use serde_json::{json, Map, Value};

async fn find(state: &AppState, raw: &str, params: &Params) -> Result<StoredEscalation, OgError> {
    let kind = identifier_type(params, &["identifierType"], &["id", "name"])?;
    state.store.escalation(raw).await?.ok_or_else(|| {
        OgError::not_found(format!(
            "No escalation exists with {kind} {raw:?}; list them with GET /v2/escalations"
        ))
    })
}

/// The name clients show for a recipient id (`None` when it is gone).
async fn recipient_json(state: &AppState, r: &Recipient) -> Result<Value, OgError> {
    Ok(match r.kind {
        RecipientKind::User => {
            let u = state.store.user_by_name_or_id(&r.id).await?;
            json!({"type": "user", "id": r.id, "username": u.map(|u| u.username)})
        }
        RecipientKind::Team => {
            let t = state.store.schedule_team(&r.id).await?;
            json!({"type": "team", "id": r.id, "name": t.map(|t| t.name)})
        }
        RecipientKind::Schedule => {
            let s = state.store.schedule_by_id(&r.id).await?;
            json!({"type": "schedule", "id": r.id, "name": s.map(|s| s.name)})
        }
    })
}

async fn render(state: &AppState, e: &StoredEscalation) -> Result<Value, OgError> {
    let mut rules = Vec::with_capacity(e.record.policy.rules().len());
    for r in e.record.policy.rules() {
        rules.push(json!({
            "condition": r.condition.as_str(),
            "notifyType": r.notify_type.as_str(),
            "delay": render_time_amount(r.delay.as_millis()),
            "recipient": recipient_json(state, &r.recipient).await?,
        }));
    }
    let mut v = json!({
        "id": e.record.id,
        "name": e.record.name,
        "description": e.description,
        "ownerTeam": e.team.as_ref().map(|t| json!({"id": t.id, "name": t.name})),
        "rules": rules,
        "managed": e.managed,
    });
    if let Some(r) = e.record.policy.repeat() {
        v["repeat"] = json!({
            "waitInterval": r.wait_interval.as_millis() / 60_000,
            "count": r.count,
            "resetRecipientStates": r.reset_recipient_states,
            "closeAlertAfterAll": r.close_alert_after_all,
        });
    }
    Ok(v)
}

fn word<T: std::str::FromStr>(
    p: &mut Problems,
    m: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    let s = p.str(m, field, key)?;
    match s.trim().parse::<T>() {
        Ok(v) => Some(v),
        Err(e) => {
            p.add(field, e.to_string());
            None
        }
    }
}

/// The fields of a policy from a body; absent fields come from `base`.
fn fields(
    m: &Map<String, Value>,
    base: Option<&StoredEscalation>,
) -> Result<EscalationFields, OgError> {
    let mut p = Problems::default();
    let name = p
        .str(m, "name", "name")
        .or(base.map(|b| b.record.name.clone()));
    match name.as_deref().map(str::trim) {
        None => p.add("name", "is required"),
        Some("") => p.add("name", "Name can not be empty"),
        Some(n) if n.chars().count() > 100 => p.add("name", "should be at most 100 characters"),
        _ => {}
    }
    let team = match p.obj(m, "ownerTeam", "ownerTeam") {
        Some(t) => p
            .str(t, "ownerTeam.id", "id")
            .filter(|s| !s.trim().is_empty())
            .or_else(|| p.str(t, "ownerTeam.name", "name")),
        None if m.contains_key("ownerTeam") => None,
        None => base.and_then(|b| b.record.team_id.clone()),
    };
    let rules = match p.list(m, "rules", "rules") {
        Some(list) => {
            let mut rules = Vec::with_capacity(list.len());
            for (i, r) in list.iter().enumerate() {
                let f = format!("rules[{i}]");
                let Some(r) = r.as_object() else {
                    p.add(f, "should be an object");
                    continue;
                };
                let condition: Condition =
                    word(&mut p, r, &format!("{f}.condition"), "condition").unwrap_or_default();
                let notify_type: NotifyType =
                    word(&mut p, r, &format!("{f}.notifyType"), "notifyType").unwrap_or_default();
                let delay = match p.obj(r, &format!("{f}.delay"), "delay") {
                    Some(d) => time_amount(&mut p, d, &format!("{f}.delay")).unwrap_or(0),
                    None => 0,
                };
                let Some(rec) = p.obj(r, &format!("{f}.recipient"), "recipient") else {
                    p.add(
                        format!("{f}.recipient"),
                        "is required: {type: user|team|schedule, id|name|username}",
                    );
                    continue;
                };
                let keys: Vec<String> = ["id", "username", "name"]
                    .iter()
                    .filter_map(|k| p.str(rec, &format!("{f}.recipient.{k}"), k))
                    .filter(|k| !k.trim().is_empty())
                    .collect();
                let kind: Option<RecipientKind> = match rec.get("type") {
                    Some(_) => word(&mut p, rec, &format!("{f}.recipient.type"), "type"),
                    None if rec.contains_key("username") => Some(RecipientKind::User),
                    None => {
                        p.add(
                            format!("{f}.recipient.type"),
                            "is required: user, team or schedule",
                        );
                        None
                    }
                };
                let Some(kind) = kind else { continue };
                let Some(id) = keys.first() else {
                    p.add(
                        format!("{f}.recipient"),
                        "name the recipient with id, name or username",
                    );
                    continue;
                };
                rules.push(EscalationRule {
                    condition,
                    notify_type,
                    delay: duration_ms(delay),
                    recipient: Recipient {
                        kind,
                        id: id.trim().to_string(),
                    },
                });
            }
            rules
        }
        None => base
            .map(|b| b.record.policy.rules().to_vec())
            .unwrap_or_default(),
    };
    let repeat = match p.obj(m, "repeat", "repeat") {
        Some(r) => Some(Repeat {
            wait_interval: duration_ms(
                p.int(r, "repeat.waitInterval", "waitInterval", 0..=527_040)
                    .unwrap_or(0)
                    * 60_000,
            ),
            count: p.int(r, "repeat.count", "count", 0..=20).unwrap_or(0) as u32,
            reset_recipient_states: p
                .bool(r, "repeat.resetRecipientStates", "resetRecipientStates")
                .unwrap_or(false),
            close_alert_after_all: p
                .bool(r, "repeat.closeAlertAfterAll", "closeAlertAfterAll")
                .unwrap_or(false),
        }),
        None if m.contains_key("repeat") => None,
        None => base.and_then(|b| b.record.policy.repeat().copied()),
    };
    p.check()?;
    let policy = EscalationPolicy::new(EscalationSpec { rules, repeat })
        .map_err(|e| OgError::field("rules", e.to_string()))?;
    Ok(EscalationFields {
        name: name.unwrap_or_default().trim().to_string(),
        description: p
            .str(m, "description", "description")
            .or(base.map(|b| b.description.clone()))
            .unwrap_or_default(),
        team,
        policy,
    })
}

/// The owner team's id for a write, checked against the caller's scope.
async fn team_scope(
    state: &AppState,
    caller: &Caller,
    team: &Option<String>,
) -> Result<Option<String>, OgError> {
    let id = match team {
        Some(key) => Some(
            state
                .store
                .schedule_team(key)
                .await?
                .ok_or_else(|| OgError::field("ownerTeam", format!("team {key:?} does not exist")))?
                .id,
        ),
        None => None,
    };
    require_team(caller, id.as_deref())?;
    Ok(id)
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, OgError> {
    let mut data = vec![];
    for e in state.store.list_escalations().await? {
        if caller.integration.team_id.is_none() || caller.integration.team_id == e.record.team_id {
            data.push(render(&state, &e).await?);
        }
    }
    Ok(ok(json!({ "data": data })))
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let e = find(&state, &identifier, &params).await?;
    require_team(&caller, e.record.team_id.as_deref())?;
    Ok(ok(json!({ "data": render(&state, &e).await? })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawBody,
) -> Result<Response, OgError> {
    let m = body(raw)?;
    let mut f = fields(&m, None)?;
    f.team = team_scope(&state, &caller, &f.team).await?;
    let id = state
        .store
        .create_escalation(&f, state.clock.now_ms())
        .await
        .map_err(refused("rules"))?;
    Ok(created(json!({"id": id, "name": f.name})))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let e = find(&state, &identifier, &params).await?;
    require_team(&caller, e.record.team_id.as_deref())?;
    if e.managed {
        return Err(read_only("Escalation", &e.record.name));
    }
    let m = body(raw)?;
    let mut f = fields(&m, Some(&e))?;
    f.team = team_scope(&state, &caller, &f.team).await?;
    state
        .store
        .update_escalation(&e.record.id, &f, state.clock.now_ms())
        .await
        .map_err(refused("rules"))?;
    Ok(result(
        "Updated",
        Some(json!({"id": e.record.id, "name": f.name})),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let e = find(&state, &identifier, &params).await?;
    require_team(&caller, e.record.team_id.as_deref())?;
    if e.managed {
        return Err(read_only("Escalation", &e.record.name));
    }
    if state.store.delete_escalation(&e.record.id).await? {
        Ok(result("Deleted", None))
    } else {
        Err(forbidden("the escalation was deleted meanwhile"))
    }
}
