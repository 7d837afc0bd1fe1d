//! `/v2/users`: users, their contact methods and their notification rules.
//!
//! Notification rules are OpsGenie's `create-alert` rules. Their steps name a contact the way
//! OpsGenie does, `{method, to}` (or Klaxon's `{id}`), and must name one of the user's contact
//! methods. Criteria are the subset Klaxon's rules model: `match-all`, or conditions on
//! `priority` (`equals`) and `tags` (`contains`); anything else is refused with a 422 that
//! says so.

use super::{
    body, created, duration_ms, ok, read_only, refused, render_time_amount, require_global, result,
    time_amount, Params, Problems, RawBody,
};
use crate::app::AppState;
use crate::http::opsgenie::error::OgError;
use crate::http::opsgenie::Caller;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use klaxon_core::alert::Priority;
use klaxon_core::notification::{
    ContactKind, ContactMethod, ContactSpec, Criteria, NotificationRule, Step, TagMatch,
};
use klaxon_core::time::format_iso;
use klaxon_store::{StoredNotificationRule, StoredUser, UserFields};
use serde_json::{json, Map, Value};

const ROLES: [&str; 4] = ["admin", "user", "owner", "stakeholder"];

async fn find_user(state: &AppState, raw: &str) -> Result<StoredUser, OgError> {
    state
        .store
        .user_by_name_or_id(raw)
        .await?
        .ok_or_else(|| OgError::not_found(format!("No user exists with id or username {raw:?}")))
}

/// A user whose contacts and rules may change through the API.
async fn writable_user(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<StoredUser, OgError> {
    require_global(caller)?;
    let u = find_user(state, raw).await?;
    if u.managed {
        return Err(read_only("User", &u.username));
    }
    Ok(u)
}

fn render_user(u: &StoredUser) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "fullName": u.full_name,
        "role": {"id": u.role, "name": u.role},
        "timeZone": u.time_zone,
        "locale": "en_US",
        "blocked": false,
        "verified": true,
        "userAddress": {},
        "tags": [],
        "details": {},
        "createdAt": format_iso(u.created_at),
        "managed": u.managed,
    })
}

fn render_contact(c: &ContactMethod) -> Value {
    json!({
        "id": c.id(),
        "method": c.kind().as_str(),
        "to": c.to(),
        "status": {"enabled": c.enabled()},
    })
}

// ---------------------------------------------------------------- users

fn user_fields(m: &Map<String, Value>, base: Option<&StoredUser>) -> Result<UserFields, OgError> {
    let mut p = Problems::default();
    let username = match p.str(m, "username", "username") {
        Some(u) if is_email(u.trim()) => Some(u.trim().to_string()),
        Some(_) => {
            p.add("username", "should be an e-mail address");
            None
        }
        None if base.is_none() => {
            p.add("username", "is required");
            None
        }
        None => None,
    };
    let full_name = match p.str(m, "fullName", "fullName") {
        Some(n) if n.chars().count() > 512 => {
            p.add("fullName", "should be at most 512 characters");
            None
        }
        other => other,
    };
    let role = match p.obj(m, "role", "role") {
        Some(r) => match p.str(r, "role.name", "name") {
            Some(n) if ROLES.contains(&n.to_lowercase().as_str()) => Some(n.to_lowercase()),
            Some(_) => {
                p.add(
                    "role.name",
                    "should be one of [ admin, user, owner, stakeholder ]",
                );
                None
            }
            None => None,
        },
        None => None,
    };
    let time_zone = match p.str(m, "timeZone", "timeZone") {
        Some(tz) if klaxon_core::routing::parse_time_zone(&tz).is_ok() => {
            Some(tz.trim().to_string())
        }
        Some(tz) => {
            p.add(
                "timeZone",
                format!("unknown time zone {tz:?}: use an IANA name such as Europe/Berlin"),
            );
            None
        }
        None => None,
    };
    p.check()?;
    Ok(UserFields {
        username: username
            .or_else(|| base.map(|b| b.username.clone()))
            .unwrap_or_default(),
        full_name: full_name
            .or_else(|| base.map(|b| b.full_name.clone()))
            .unwrap_or_default(),
        role: role
            .or_else(|| base.map(|b| b.role.clone()))
            .unwrap_or_else(|| "user".into()),
        time_zone: time_zone
            .or_else(|| base.map(|b| b.time_zone.clone()))
            .unwrap_or_else(|| "UTC".into()),
    })
}

fn is_email(s: &str) -> bool {
    ContactKind::Email.parse_address(s).is_ok()
}

/// Users by username; `offset`, `limit` (default 100), `totalCount`, `expand=contact`.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let mut p = Problems::default();
    let q: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let offset = p.int(&q, "offset", "offset", 0..=i64::MAX / 2).unwrap_or(0);
    let limit = p.int(&q, "limit", "limit", 1..=500).unwrap_or(100);
    p.check()?;
    let expand = params
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "contact"));
    let (users, total) = state.store.list_users(offset, limit).await?;
    let mut data = Vec::with_capacity(users.len());
    for u in &users {
        let mut v = render_user(u);
        if expand {
            let contacts = state.store.contact_methods(&u.id).await?;
            v["userContacts"] = json!(contacts
                .iter()
                .map(|c| json!({"id": c.id(), "contactMethod": c.kind().as_str(), "to": c.to(), "enabled": c.enabled()}))
                .collect::<Vec<_>>());
        }
        data.push(v);
    }
    let base = state.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    let link = |off: i64| {
        format!(
            "{base}{}/v2/users?limit={limit}&offset={off}",
            state.opsgenie_prefix
        )
    };
    let mut paging = Map::new();
    if offset + limit < total {
        paging.insert("next".into(), json!(link(offset + limit)));
    }
    if offset > 0 {
        paging.insert("prev".into(), json!(link((offset - limit).max(0))));
    }
    paging.insert("first".into(), json!(link(0)));
    let last = if total == 0 {
        0
    } else {
        ((total - 1) / limit) * limit
    };
    paging.insert("last".into(), json!(link(last)));
    Ok(ok(
        json!({"data": data, "paging": paging, "totalCount": total}),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let u = find_user(&state, &identifier).await?;
    let mut v = render_user(&u);
    if params
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "contact"))
    {
        let contacts = state.store.contact_methods(&u.id).await?;
        v["userContacts"] = json!(contacts
            .iter()
            .map(|c| json!({"id": c.id(), "contactMethod": c.kind().as_str(), "to": c.to(), "enabled": c.enabled()}))
            .collect::<Vec<_>>());
    }
    Ok(ok(json!({ "data": v })))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    raw: RawBody,
) -> Result<Response, OgError> {
    require_global(&caller)?;
    let m = body(raw)?;
    let f = user_fields(&m, None)?;
    let id = state
        .store
        .create_user(&f, state.clock.now_ms())
        .await
        .map_err(refused("username"))?;
    Ok(created(json!({"id": id, "username": f.username})))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let m = body(raw)?;
    let f = user_fields(&m, Some(&u))?;
    state
        .store
        .update_user(&u.id, &f)
        .await
        .map_err(refused("username"))?;
    Ok(result(
        "Updated",
        Some(json!({"id": u.id, "name": f.username})),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    state.store.delete_user(&u.id).await?;
    Ok(result("Deleted", None))
}

// ---------------------------------------------------------------- contacts

pub async fn list_contacts(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
) -> Result<Response, OgError> {
    let u = find_user(&state, &identifier).await?;
    let contacts = state.store.contact_methods(&u.id).await?;
    Ok(ok(
        json!({"data": contacts.iter().map(render_contact).collect::<Vec<_>>()}),
    ))
}

async fn find_contact(
    state: &AppState,
    u: &StoredUser,
    id: &str,
) -> Result<ContactMethod, OgError> {
    state
        .store
        .contact_methods(&u.id)
        .await?
        .into_iter()
        .find(|c| c.id() == id)
        .ok_or_else(|| {
            OgError::not_found(format!(
                "User {:?} has no contact method with id {id:?}",
                u.username
            ))
        })
}

pub async fn get_contact(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, contact)): Path<(String, String)>,
) -> Result<Response, OgError> {
    let u = find_user(&state, &identifier).await?;
    let c = find_contact(&state, &u, &contact).await?;
    Ok(ok(json!({ "data": render_contact(&c) })))
}

/// A contact method from `{method, to, enabled}`; `base` gives the id and absent fields.
fn contact_from(
    m: &Map<String, Value>,
    id: String,
    base: Option<&ContactMethod>,
) -> Result<ContactMethod, OgError> {
    let mut p = Problems::default();
    let kind = match p.str(m, "method", "method") {
        Some(s) => match s.trim().parse::<ContactKind>() {
            Ok(k) => Some(k),
            Err(e) => {
                p.add("method", e.to_string());
                None
            }
        },
        None => match base {
            Some(b) => Some(b.kind()),
            None => {
                p.add(
                    "method",
                    "is required: one of email, sms, voice, mobile, slack, webhook",
                );
                None
            }
        },
    };
    let to = p
        .str(m, "to", "to")
        .or_else(|| base.map(|b| b.to().to_string()));
    if to.is_none() {
        p.add("to", "is required");
    }
    let enabled = p
        .bool(m, "enabled", "enabled")
        .or(base.map(|b| b.enabled()))
        .unwrap_or(true);
    p.check()?;
    let (Some(kind), Some(to)) = (kind, to) else {
        return Err(OgError::field("to", "is required"));
    };
    ContactMethod::new(ContactSpec {
        id,
        kind,
        to,
        enabled,
    })
    .map_err(|e| OgError::field("to", e.to_string()))
}

pub async fn create_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let m = body(raw)?;
    let c = contact_from(&m, uuid::Uuid::now_v7().to_string(), None)?;
    state
        .store
        .create_contact_method(&u.id, &c, state.clock.now_ms())
        .await
        .map_err(refused("to"))?;
    Ok(created(json!({"id": c.id()})))
}

pub async fn update_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, contact)): Path<(String, String)>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let current = find_contact(&state, &u, &contact).await?;
    let m = body(raw)?;
    let c = contact_from(&m, current.id().to_string(), Some(&current))?;
    save_contact(&state, &u, &c).await?;
    Ok(result("Updated", Some(json!({"id": c.id()}))))
}

async fn save_contact(state: &AppState, u: &StoredUser, c: &ContactMethod) -> Result<(), OgError> {
    match state
        .store
        .update_contact_method(&u.id, c, state.clock.now_ms())
        .await
        .map_err(refused("to"))?
    {
        Some(true) => Ok(()),
        _ => Err(OgError::not_found(format!(
            "User {:?} has no contact method with id {:?}",
            u.username,
            c.id()
        ))),
    }
}

async fn set_contact_enabled(
    state: AppState,
    caller: Caller,
    identifier: String,
    contact: String,
    enabled: bool,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let current = find_contact(&state, &u, &contact).await?;
    let mut spec = ContactSpec::from(current);
    spec.enabled = enabled;
    let c = ContactMethod::new(spec).map_err(|e| OgError::field("to", e.to_string()))?;
    save_contact(&state, &u, &c).await?;
    Ok(result(if enabled { "Enabled" } else { "Disabled" }, None))
}

pub async fn enable_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, contact)): Path<(String, String)>,
) -> Result<Response, OgError> {
    set_contact_enabled(state, caller, identifier, contact, true).await
}

pub async fn disable_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, contact)): Path<(String, String)>,
) -> Result<Response, OgError> {
    set_contact_enabled(state, caller, identifier, contact, false).await
}

pub async fn delete_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, contact)): Path<(String, String)>,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    match state
        .store
        .delete_contact_method(&u.id, &contact, state.clock.now_ms())
        .await
        .map_err(refused("contact"))?
    {
        Some(true) => Ok(result("Deleted", None)),
        _ => Err(OgError::not_found(format!(
            "User {:?} has no contact method with id {contact:?}",
            u.username
        ))),
    }
}

// ---------------------------------------------------------------- notification rules

fn render_criteria(c: &Criteria) -> Value {
    let mut conditions: Vec<Value> = c
        .priorities
        .iter()
        .map(|p| json!({"field": "priority", "operation": "equals", "expectedValue": p.as_str(), "not": false}))
        .collect();
    conditions.extend(c.tags.iter().map(
        |t| json!({"field": "tags", "operation": "contains", "expectedValue": t, "not": false}),
    ));
    let kind = if conditions.is_empty() {
        "match-all"
    } else if c.tags.len() > 1 && c.tag_match == TagMatch::All {
        "match-all-conditions"
    } else {
        "match-any-condition"
    };
    json!({"type": kind, "conditions": conditions})
}

fn render_rule(r: &StoredNotificationRule, order: usize, contacts: &[ContactMethod]) -> Value {
    let rule = &r.rule;
    json!({
        "id": r.id,
        "name": rule.name,
        "actionType": "create-alert",
        "order": order,
        "enabled": rule.enabled,
        "criteria": render_criteria(&rule.criteria),
        "notificationTime": [],
        "timeRestriction": null,
        "steps": rule.steps.iter().map(|s| {
            let c = contacts.iter().find(|c| c.id() == s.contact);
            json!({
                "contact": {"id": s.contact, "method": c.map(|c| c.kind().as_str()), "to": c.map(|c| c.to())},
                "sendAfter": render_time_amount(s.send_after.as_millis()),
                "enabled": s.enabled,
            })
        }).collect::<Vec<_>>(),
        "repeat": match rule.loop_after {
            Some(l) => json!({"loopAfter": l.as_millis() / 60_000, "enabled": true}),
            None => json!({"loopAfter": 0, "enabled": false}),
        },
    })
}

/// OpsGenie criteria into the rule criteria Klaxon models (see the module docs).
fn parse_criteria(p: &mut Problems, m: &Map<String, Value>) -> Criteria {
    let kind = p
        .str(m, "criteria.type", "type")
        .unwrap_or_else(|| "match-all".into());
    let mut criteria = Criteria::default();
    if kind == "match-all" {
        return criteria;
    }
    if kind != "match-any-condition" && kind != "match-all-conditions" {
        p.add(
            "criteria.type",
            "should be one of [ match-all, match-any-condition, match-all-conditions ]",
        );
        return criteria;
    }
    let conditions = p
        .list(m, "criteria.conditions", "conditions")
        .cloned()
        .unwrap_or_default();
    if conditions.is_empty() {
        p.add(
            "criteria.conditions",
            format!("criteria of type {kind} need at least one condition"),
        );
    }
    for (i, c) in conditions.iter().enumerate() {
        let field = format!("criteria.conditions[{i}]");
        let Some(c) = c.as_object() else {
            p.add(field, "should be an object");
            continue;
        };
        let f = p
            .str(c, &format!("{field}.field"), "field")
            .unwrap_or_default();
        let op = p
            .str(c, &format!("{field}.operation"), "operation")
            .unwrap_or_default();
        let value = p
            .str(c, &format!("{field}.expectedValue"), "expectedValue")
            .unwrap_or_default();
        if p.bool(c, &format!("{field}.not"), "not") == Some(true) {
            p.add(
                format!("{field}.not"),
                "negated conditions are not supported in notification rules",
            );
            continue;
        }
        match (f.as_str(), op.as_str()) {
            ("priority", "equals") => match value.trim().parse::<Priority>() {
                Ok(pr) => criteria.priorities.push(pr),
                Err(e) => p.add(format!("{field}.expectedValue"), e),
            },
            ("tags", "contains") | ("tags", "equals") => criteria.tags.push(value.trim().to_string()),
            _ => p.add(
                field,
                "notification rules support conditions on priority (equals) and tags (contains) only",
            ),
        }
    }
    let (np, nt) = (criteria.priorities.len(), criteria.tags.len());
    if kind == "match-any-condition" && np > 0 && nt > 0 {
        p.add("criteria.conditions", "match-any-condition cannot mix priority and tags conditions: use match-all-conditions, or two rules");
    }
    if kind == "match-all-conditions" && np > 1 {
        p.add(
            "criteria.conditions",
            "match-all-conditions with two priorities matches nothing: use match-any-condition",
        );
    }
    criteria.tag_match = if kind == "match-all-conditions" {
        TagMatch::All
    } else {
        TagMatch::Any
    };
    criteria
}

/// A rule from a body, its steps' contacts resolved among the user's; absent fields come
/// from `base`.
fn rule_from(
    m: &Map<String, Value>,
    contacts: &[ContactMethod],
    base: Option<&NotificationRule>,
) -> Result<(NotificationRule, Option<usize>), OgError> {
    let mut p = Problems::default();
    let name = p.str(m, "name", "name").or(base.map(|b| b.name.clone()));
    match name.as_deref().map(str::trim) {
        None if base.is_none() => p.add("name", "is required"),
        Some("") => p.add("name", "Name can not be empty"),
        _ => {}
    }
    if let Some(a) = p.str(m, "actionType", "actionType") {
        if a != "create-alert" {
            p.add(
                "actionType",
                "only create-alert notification rules are supported",
            );
        }
    }
    let criteria = match p.obj(m, "criteria", "criteria") {
        Some(c) => parse_criteria(&mut p, c),
        None => base.map(|b| b.criteria.clone()).unwrap_or_default(),
    };
    let steps = match p.list(m, "steps", "steps") {
        Some(list) => {
            let mut steps = Vec::with_capacity(list.len());
            for (i, s) in list.iter().enumerate() {
                let field = format!("steps[{i}]");
                let Some(s) = s.as_object() else {
                    p.add(field, "should be an object");
                    continue;
                };
                let send_after = match p.obj(s, &format!("{field}.sendAfter"), "sendAfter") {
                    Some(d) => time_amount(&mut p, d, &format!("{field}.sendAfter")).unwrap_or(0),
                    None => 0,
                };
                let enabled = p
                    .bool(s, &format!("{field}.enabled"), "enabled")
                    .unwrap_or(true);
                let Some(c) = p.obj(s, &format!("{field}.contact"), "contact") else {
                    p.add(
                        format!("{field}.contact"),
                        "is required: {method, to} of one of the user's contact methods",
                    );
                    continue;
                };
                let id = p.str(c, &format!("{field}.contact.id"), "id");
                let method = p.str(c, &format!("{field}.contact.method"), "method");
                let to = p.str(c, &format!("{field}.contact.to"), "to");
                let found = contacts.iter().find(|x| {
                    id.as_deref() == Some(x.id())
                        || (method.as_deref().map(str::trim) == Some(x.kind().as_str())
                            && to.as_deref().is_some_and(|t| {
                                x.kind().parse_address(t).ok().as_deref() == Some(x.to())
                            }))
                });
                match found {
                    Some(x) => steps.push(Step {
                        send_after: duration_ms(send_after),
                        contact: x.id().to_string(),
                        enabled,
                    }),
                    None => p.add(
                        format!("{field}.contact"),
                        format!(
                            "the user has no {} contact {:?}: add it under /contacts first",
                            method.as_deref().unwrap_or("such"),
                            to.or(id).unwrap_or_default()
                        ),
                    ),
                }
            }
            steps
        }
        None => match base {
            Some(b) => b.steps.clone(),
            None => {
                p.add(
                    "steps",
                    "is required: at least one step {contact: {method, to}, sendAfter}",
                );
                vec![]
            }
        },
    };
    let loop_after = match p.obj(m, "repeat", "repeat") {
        Some(r) => {
            let on = p.bool(r, "repeat.enabled", "enabled").unwrap_or(true);
            let minutes = p
                .int(r, "repeat.loopAfter", "loopAfter", 0..=527_040)
                .unwrap_or(0);
            on.then(|| duration_ms(minutes * 60_000))
        }
        None => base.and_then(|b| b.loop_after),
    };
    let enabled = p
        .bool(m, "enabled", "enabled")
        .or(base.map(|b| b.enabled))
        .unwrap_or(true);
    let order = p.int(m, "order", "order", 0..=10_000).map(|o| o as usize);
    p.check()?;
    Ok((
        NotificationRule {
            name: name.unwrap_or_default().trim().to_string(),
            criteria,
            steps,
            loop_after,
            enabled,
        },
        order,
    ))
}

pub async fn list_rules(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
) -> Result<Response, OgError> {
    let u = find_user(&state, &identifier).await?;
    let contacts = state.store.contact_methods(&u.id).await?;
    let rules = state.store.notification_rules(&u.id).await?;
    Ok(ok(json!({"data": rules.iter().enumerate().map(|(i, r)| {
        let full = render_rule(r, i, &contacts);
        json!({"id": full["id"], "name": full["name"], "actionType": full["actionType"], "order": i, "enabled": full["enabled"], "criteria": full["criteria"], "steps": full["steps"], "repeat": full["repeat"]})
    }).collect::<Vec<_>>()})))
}

async fn find_rule(
    state: &AppState,
    u: &StoredUser,
    id: &str,
) -> Result<(usize, StoredNotificationRule, Vec<ContactMethod>), OgError> {
    let contacts = state.store.contact_methods(&u.id).await?;
    let rules = state.store.notification_rules(&u.id).await?;
    let (i, r) = rules
        .into_iter()
        .enumerate()
        .find(|(_, r)| r.id == id)
        .ok_or_else(|| {
            OgError::not_found(format!(
                "User {:?} has no notification rule with id {id:?}",
                u.username
            ))
        })?;
    Ok((i, r, contacts))
}

pub async fn get_rule(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
) -> Result<Response, OgError> {
    let u = find_user(&state, &identifier).await?;
    let (i, r, contacts) = find_rule(&state, &u, &rule).await?;
    Ok(ok(json!({ "data": render_rule(&r, i, &contacts) })))
}

pub async fn create_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(identifier): Path<String>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let m = body(raw)?;
    let contacts = state.store.contact_methods(&u.id).await?;
    let (rule, order) = rule_from(&m, &contacts, None)?;
    let id = state
        .store
        .create_notification_rule(&u.id, &rule, order, state.clock.now_ms())
        .await
        .map_err(refused("steps"))?
        .ok_or_else(|| OgError::not_found("the user was deleted meanwhile"))?;
    Ok(created(json!({"id": id})))
}

pub async fn update_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
    raw: RawBody,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let (_, current, contacts) = find_rule(&state, &u, &rule).await?;
    let m = body(raw)?;
    let (new, order) = rule_from(&m, &contacts, Some(&current.rule))?;
    save_rule(&state, &u, &current.id, &new, order).await?;
    Ok(result("Updated", Some(json!({"id": current.id}))))
}

async fn save_rule(
    state: &AppState,
    u: &StoredUser,
    id: &str,
    rule: &NotificationRule,
    order: Option<usize>,
) -> Result<(), OgError> {
    match state
        .store
        .update_notification_rule(&u.id, id, rule, order, state.clock.now_ms())
        .await
        .map_err(refused("steps"))?
    {
        Some(true) => Ok(()),
        _ => Err(OgError::not_found(format!(
            "User {:?} has no notification rule with id {id:?}",
            u.username
        ))),
    }
}

async fn set_rule_enabled(
    state: AppState,
    caller: Caller,
    identifier: String,
    rule: String,
    enabled: bool,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    let (_, mut current, _) = find_rule(&state, &u, &rule).await?;
    current.rule.enabled = enabled;
    save_rule(&state, &u, &current.id, &current.rule, None).await?;
    Ok(result(if enabled { "Enabled" } else { "Disabled" }, None))
}

pub async fn enable_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
) -> Result<Response, OgError> {
    set_rule_enabled(state, caller, identifier, rule, true).await
}

pub async fn disable_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
) -> Result<Response, OgError> {
    set_rule_enabled(state, caller, identifier, rule, false).await
}

pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path((identifier, rule)): Path<(String, String)>,
) -> Result<Response, OgError> {
    let u = writable_user(&state, &caller, &identifier).await?;
    match state
        .store
        .delete_notification_rule(&u.id, &rule, state.clock.now_ms())
        .await?
    {
        Some(true) => Ok(result("Deleted", None)),
        _ => Err(OgError::not_found(format!(
            "User {:?} has no notification rule with id {rule:?}",
            u.username
        ))),
    }
}
