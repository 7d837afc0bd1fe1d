//! The OpsGenie Heartbeat API (`/v2/heartbeats`): create, read, edit, enable and disable
//! heartbeats, and ping them.
//!
//! A heartbeat is named by its `{name}` (case-insensitive). The due time is a row the expiry
//! worker (`engine::heartbeats`) reads; every change here that moves it wakes the worker so it
//! recomputes its sleep. A ping of an expired heartbeat closes the alert its expiry opened.

use super::error::{envelope, obj, OgError};
use super::input::{self, Body};
use super::Caller;
use crate::app::AppState;
use crate::engine::heartbeats::close_op;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use klaxon_core::alert::{limits, merge_tags, truncate_chars, Priority};
use klaxon_store::{HeartbeatFields, StoreError, StoredHeartbeat};
use serde_json::{json, Value};

type RawBody = Result<Bytes, BytesRejection>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/heartbeats", get(list).post(create))
        .route(
            "/v2/heartbeats/{name}",
            get(get_one).patch(update).delete(delete),
        )
        .route(
            "/v2/heartbeats/{name}/ping",
            get(ping).post(ping).put(ping).patch(ping),
        )
        .route("/v2/heartbeats/{name}/enable", post(enable))
        .route("/v2/heartbeats/{name}/disable", post(disable))
}

const MINUTE_MS: i64 = 60_000;
const NAME_MAX: usize = 200;
const UNIT_ERROR: &str = "should be one of [ minutes, hours, days ]";

/// Milliseconds in one `intervalUnit`.
fn unit_ms(unit: &str) -> Option<i64> {
    match unit {
        "minutes" => Some(MINUTE_MS),
        "hours" => Some(60 * MINUTE_MS),
        "days" => Some(24 * 60 * MINUTE_MS),
        _ => None,
    }
}

/// Milliseconds in a unit shown: the API's units, and `seconds` for heartbeats declared in
/// the config file with an interval of whole seconds (`interval: 30s`).
fn shown_unit_ms(unit: &str) -> Option<i64> {
    match unit {
        "seconds" => Some(1_000),
        u => unit_ms(u),
    }
}

/// Heartbeats declared in the config file (`heartbeats:`) are changed there, not here.
fn read_only(h: &StoredHeartbeat) -> Result<(), OgError> {
    if h.managed {
        Err(OgError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Heartbeat [{}] is declared in the config file (heartbeats:) and is read-only \
                 through the API: change it there and reload (SIGHUP or POST /-/reload)",
                h.name
            ),
        ))
    } else {
        Ok(())
    }
}

fn not_found(name: &str) -> OgError {
    OgError::not_found(format!("Heartbeat with name [{name}] does not exist"))
}

/// The heartbeat in OpsGenie's shape.
fn render(h: &StoredHeartbeat) -> Value {
    let interval = h.interval_ms / shown_unit_ms(&h.interval_unit).unwrap_or(MINUTE_MS);
    let message = if h.alert_message.is_empty() {
        format!("{} is expired", h.name)
    } else {
        h.alert_message.clone()
    };
    let mut v = json!({
        "name": h.name,
        "description": h.description,
        "interval": interval,
        "enabled": h.enabled,
        "intervalUnit": h.interval_unit,
        "expired": h.expired,
        "alertMessage": message,
        "alertTags": h.alert_tags,
        "alertPriority": h.alert_priority,
    });
    if let Some(t) = h.last_ping_at {
        v["lastPingTime"] = json!(klaxon_core::time::format_iso(t));
    }
    if let Some(team) = &h.owner_team {
        v["ownerTeam"] = json!({"id": team.id, "name": team.name});
    }
    v
}

/// The short answer of edits: `data{name, enabled, expired}`.
fn info(h: &StoredHeartbeat) -> Response {
    envelope(
        StatusCode::OK,
        obj(json!({"data": {"name": h.name, "enabled": h.enabled, "expired": h.expired}})),
    )
}

async fn load(state: &AppState, name: &str) -> Result<StoredHeartbeat, OgError> {
    state
        .store
        .heartbeat(name)
        .await?
        .ok_or_else(|| not_found(name))
}

/// Reads the fields of a create (`base` is `None`) or of a PATCH over `base`: what the body
/// leaves out keeps its current value. Every problem is reported against its field.
async fn fields(
    state: &AppState,
    b: &mut Body,
    base: Option<&StoredHeartbeat>,
) -> Result<HeartbeatFields, OgError> {
    let name = match base {
        Some(h) => Some(h.name.clone()),
        None => b.opt_str("name").map(|n| n.trim().to_string()),
    };
    let description = b.opt_str("description");
    let interval = b.opt_int("interval");
    let unit = b.opt_str("intervalUnit");
    let enabled = b.opt_bool("enabled");
    let team = b.opt_ref("ownerTeam");
    let message = b.opt_str("alertMessage");
    let tags = b.str_list("alertTags");
    let priority = b.opt_str("alertPriority");

    let name = name.unwrap_or_default();
    if base.is_none() {
        if name.is_empty() {
            b.errors
                .push(("name".into(), "Name can not be empty.".into()));
        } else if name.chars().count() > NAME_MAX {
            b.errors.push((
                "name".into(),
                format!("should be at most {NAME_MAX} characters"),
            ));
        } else if name.contains('/') {
            b.errors
                .push(("name".into(), "should not contain '/'".into()));
        }
    }
    let unit = match unit.or_else(|| base.map(|h| h.interval_unit.clone())) {
        Some(u) if unit_ms(&u).is_some() => u,
        Some(_) => {
            b.errors.push(("intervalUnit".into(), UNIT_ERROR.into()));
            String::new()
        }
        None => "minutes".into(),
    };
    let interval = match interval {
        Some(n) if (1..=100_000).contains(&n) => Some(n),
        Some(_) => {
            b.errors.push((
                "interval".into(),
                "should be a whole number from 1 to 100000".into(),
            ));
            None
        }
        None if base.is_none() => {
            b.errors
                .push(("interval".into(), "Interval can not be empty.".into()));
            None
        }
        None => None,
    };
    let priority = match priority {
        Some(p) => match p.parse::<Priority>() {
            Ok(p) => p.as_str().to_string(),
            Err(e) => {
                b.errors.push(("alertPriority".into(), e.to_string()));
                String::new()
            }
        },
        None => base
            .map(|h| h.alert_priority.clone())
            .unwrap_or_else(|| Priority::P3.as_str().to_string()),
    };
    let alert_tags = match tags {
        Some(tags) => {
            let mut all = Vec::new();
            merge_tags(
                &mut all,
                &tags
                    .iter()
                    .map(|t| truncate_chars(t.trim(), limits::TAG_LEN))
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>(),
            );
            if all.len() > limits::TAGS {
                b.errors.push((
                    "alertTags".into(),
                    format!("should have at most {} tags", limits::TAGS),
                ));
            }
            all
        }
        None => base.map(|h| h.alert_tags.clone()).unwrap_or_default(),
    };
    // The team must exist; an unknown id falls back to the name.
    let owner_team = match team {
        Some(keys) => {
            let mut found = None;
            for k in &keys {
                if let Some(t) = state.store.schedule_team(k).await? {
                    found = Some(t.id);
                    break;
                }
            }
            if found.is_none() {
                b.errors.push((
                    "ownerTeam".into(),
                    format!("team {:?} does not exist", keys.join(" / ")),
                ));
            }
            found
        }
        None => base.and_then(|h| h.owner_team.as_ref().map(|t| t.id.clone())),
    };
    b.check()?;

    let interval_ms = match interval {
        Some(n) => n * unit_ms(&unit).unwrap_or(MINUTE_MS),
        // A PATCH that changes only the unit keeps the number, as OpsGenie shows it.
        None => base.map_or(MINUTE_MS, |h| {
            let old = h.interval_ms / unit_ms(&h.interval_unit).unwrap_or(MINUTE_MS);
            old * unit_ms(&unit).unwrap_or(MINUTE_MS)
        }),
    };
    Ok(HeartbeatFields {
        name,
        description: truncate_chars(
            &description
                .or_else(|| base.map(|h| h.description.clone()))
                .unwrap_or_default(),
            limits::DESCRIPTION,
        ),
        interval_ms,
        interval_unit: unit,
        enabled: enabled.or(base.map(|h| h.enabled)).unwrap_or(true),
        owner_team,
        alert_message: truncate_chars(
            message
                .or_else(|| base.map(|h| h.alert_message.clone()))
                .unwrap_or_default()
                .trim(),
            limits::MESSAGE,
        ),
        alert_tags,
        alert_priority: priority,
    })
}

/// A store refusal (a taken name) as a 422 on `name`; anything else is a 500.
fn refused(e: StoreError) -> OgError {
    match e {
        StoreError::Invalid(message) => OgError::field("name", message),
        other => OgError::from(other),
    }
}

/// Create a heartbeat. Enabled, it expires one interval from now unless pinged.
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller,
    body: RawBody,
) -> Result<Response, OgError> {
    let mut b = input::parse(body)?;
    let f = fields(&state, &mut b, None).await?;
    state
        .store
        .create_heartbeat(&f, state.clock.now_ms())
        .await
        .map_err(refused)?;
    state.heartbeat_wake.notify_one();
    let h = load(&state, &f.name).await?;
    Ok(envelope(
        StatusCode::CREATED,
        obj(json!({"result": "Request will be processed", "data": render(&h)})),
    ))
}

pub async fn list(State(state): State<AppState>, _caller: Caller) -> Result<Response, OgError> {
    let all = state.store.list_heartbeats().await?;
    let heartbeats: Vec<Value> = all.iter().map(render).collect();
    Ok(envelope(
        StatusCode::OK,
        obj(json!({"data": {"heartbeats": heartbeats}})),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, OgError> {
    let h = load(&state, &name).await?;
    Ok(envelope(StatusCode::OK, obj(json!({"data": render(&h)}))))
}

/// Edit a heartbeat: fields left out keep their values. A new interval restarts the wait.
pub async fn update(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
    body: RawBody,
) -> Result<Response, OgError> {
    let mut b = input::parse(body)?;
    let current = load(&state, &name).await?;
    read_only(&current)?;
    let f = fields(&state, &mut b, Some(&current)).await?;
    if !state
        .store
        .update_heartbeat(&name, &f, state.clock.now_ms())
        .await
        .map_err(refused)?
    {
        return Err(not_found(&name));
    }
    state.heartbeat_wake.notify_one();
    Ok(info(&load(&state, &name).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, OgError> {
    read_only(&load(&state, &name).await?)?;
    if !state.store.delete_heartbeat(&name).await? {
        return Err(not_found(&name));
    }
    state.heartbeat_wake.notify_one();
    Ok(envelope(StatusCode::OK, obj(json!({"result": "Deleted"}))))
}

async fn set_enabled(state: &AppState, name: &str, enabled: bool) -> Result<Response, OgError> {
    // The file's `enabled:` would undo it at the next reload or restart.
    read_only(&load(state, name).await?)?;
    if !state
        .store
        .set_heartbeat_enabled(name, enabled, state.clock.now_ms())
        .await?
    {
        return Err(not_found(name));
    }
    state.heartbeat_wake.notify_one();
    Ok(info(&load(state, name).await?))
}

pub async fn enable(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, OgError> {
    set_enabled(&state, &name, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, OgError> {
    set_enabled(&state, &name, false).await
}

/// Ping: the heartbeat is alive; it is next due one interval from now. If it had expired, the
/// alert its expiry opened is closed (committed before the answer).
pub async fn ping(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, OgError> {
    let now = state.clock.now_ms();
    let Some(was_expired) = state.store.ping_heartbeat(&name, now).await? else {
        return Err(not_found(&name));
    };
    state.heartbeat_wake.notify_one();
    if was_expired {
        let h = load(&state, &name).await?;
        state.writer.write(close_op(&h.name, now)).await?;
    }
    Ok(envelope(
        StatusCode::ACCEPTED,
        obj(json!({"result": "PONG - Heartbeat received"})),
    ))
}
