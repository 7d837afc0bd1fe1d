//! OpsGenie maintenance windows (`/v1/maintenance`): while one is in force, escalations of
//! alerts from its integrations (and escalation policies named by its `policy` rules) notify
//! nobody; the alert's timeline says so. Klaxon reads a rule's `policy` entity as an
//! escalation policy id (OpsGenie's alert policies do not exist here).
//!
//! `time.type`: `for-5-minutes`, `for-30-minutes`, `for-1-hour`, `indefinitely` (until
//! cancelled) or `schedule` (`startDate`, `endDate`).

use super::error::{envelope, obj, OgError};
use super::input::{self, parse_instant};
use super::Caller;
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use klaxon_core::time::format_iso;
use klaxon_store::Maintenance;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/maintenance", get(list).post(create))
        .route("/v1/maintenance/{id}", get(get_one).delete(delete))
        .route("/v1/maintenance/{id}/cancel", post(cancel))
}

fn status(m: &Maintenance, now: i64) -> &'static str {
    if m.cancelled_at.is_some() {
        "cancelled"
    } else if m.start_at > now {
        "planned"
    } else if m.end_at.is_some_and(|e| e <= now) {
        "past"
    } else {
        "active"
    }
}

fn render(m: &Maintenance, now: i64) -> Value {
    let mut time = json!({"type": m.time_type, "startDate": format_iso(m.start_at)});
    if let Some(e) = m.end_at {
        time["endDate"] = Value::String(format_iso(e));
    }
    json!({
        "id": m.id,
        "status": status(m, now),
        "description": m.description,
        "time": time,
        "rules": serde_json::from_str::<Value>(&m.rules).unwrap_or(json!([])),
    })
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OgError> {
    if caller.integration.team_id.is_some() {
        return Err(OgError::new(
            StatusCode::FORBIDDEN,
            "Only global keys may create maintenance windows",
        ));
    }
    let mut b = input::parse(body)?;
    let now = state.clock.now_ms();
    let description = b.opt_str("description").unwrap_or_default();
    let time = b.take("time").unwrap_or(Value::Null);
    let rules = b.take("rules").unwrap_or(Value::Null);
    b.check()?;
    let kind = time.get("type").and_then(Value::as_str).unwrap_or("");
    let date = |k: &str| -> Result<Option<i64>, OgError> {
        match time.get(k).and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => parse_instant(s)
                .map(Some)
                .map_err(|e| OgError::field(&format!("time.{k}"), e)),
        }
    };
    let (start, end) = match kind {
        "for-5-minutes" => (now, Some(now + 5 * 60_000)),
        "for-30-minutes" => (now, Some(now + 30 * 60_000)),
        "for-1-hour" => (now, Some(now + 60 * 60_000)),
        "indefinitely" => (now, None),
        "schedule" => {
            let start = date("startDate")?
                .ok_or_else(|| OgError::field("time.startDate", "is required for type schedule"))?;
            let end = date("endDate")?
                .ok_or_else(|| OgError::field("time.endDate", "is required for type schedule"))?;
            if end <= start {
                return Err(OgError::field(
                    "time.endDate",
                    "must be after time.startDate",
                ));
            }
            (start, Some(end))
        }
        _ => return Err(OgError::field(
            "time.type",
            "should be one of [for-5-minutes, for-30-minutes, for-1-hour, indefinitely, schedule]",
        )),
    };
    let Some(list) = rules.as_array().filter(|l| !l.is_empty()) else {
        return Err(OgError::field(
            "rules",
            "at least one rule {state, entity: {id, type}} is required",
        ));
    };
    let mut clean = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let state_ = r.get("state").and_then(Value::as_str).unwrap_or("disabled");
        if !matches!(state_, "enabled" | "disabled") {
            return Err(OgError::field(
                &format!("rules[{i}].state"),
                "should be one of [enabled, disabled]",
            ));
        }
        let entity = r.get("entity").cloned().unwrap_or(Value::Null);
        let id = entity
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let kind = entity.get("type").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() {
            return Err(OgError::field(
                &format!("rules[{i}].entity.id"),
                "is required",
            ));
        }
        if !matches!(kind, "integration" | "policy") {
            return Err(OgError::field(
                &format!("rules[{i}].entity.type"),
                "should be one of [integration, policy]",
            ));
        }
        clean.push(json!({"state": state_, "entity": {"id": id, "type": kind}}));
    }
    let m = Maintenance {
        id: uuid::Uuid::now_v7().to_string(),
        description,
        time_type: kind.to_string(),
        start_at: start,
        end_at: end,
        rules: Value::Array(clean).to_string(),
        cancelled_at: None,
        created_at: now,
    };
    state.store.create_maintenance(&m).await?;
    Ok(envelope(
        StatusCode::CREATED,
        obj(json!({"result": "Created", "data": render(&m, now)})),
    ))
}

async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, OgError> {
    let now = state.clock.now_ms();
    let which = q.get("type").map(String::as_str).unwrap_or("all");
    let all = state.store.list_maintenance().await?;
    let data: Vec<Value> = all
        .iter()
        .filter(|m| match which {
            "past" => matches!(status(m, now), "past" | "cancelled"),
            "non-expired" => matches!(status(m, now), "active" | "planned"),
            _ => true,
        })
        .map(|m| render(m, now))
        .collect();
    Ok(envelope(StatusCode::OK, obj(json!({"data": data}))))
}

async fn find(state: &AppState, id: &str) -> Result<Maintenance, OgError> {
    state
        .store
        .maintenance(id)
        .await?
        .ok_or_else(|| OgError::not_found(format!("Maintenance with id [{id}] does not exist")))
}

async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, OgError> {
    let m = find(&state, &id).await?;
    Ok(envelope(
        StatusCode::OK,
        obj(json!({"data": render(&m, state.clock.now_ms())})),
    ))
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, OgError> {
    if caller.integration.team_id.is_some() {
        return Err(OgError::new(
            StatusCode::FORBIDDEN,
            "Only global keys may cancel maintenance windows",
        ));
    }
    find(&state, &id).await?;
    state
        .store
        .cancel_maintenance(&id, state.clock.now_ms())
        .await?;
    Ok(envelope(
        StatusCode::OK,
        obj(json!({"result": "Cancelled"})),
    ))
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, OgError> {
    if caller.integration.team_id.is_some() {
        return Err(OgError::new(
            StatusCode::FORBIDDEN,
            "Only global keys may delete maintenance windows",
        ));
    }
    find(&state, &id).await?;
    state.store.delete_maintenance(&id).await?;
    Ok(envelope(StatusCode::OK, obj(json!({"result": "Deleted"}))))
}
