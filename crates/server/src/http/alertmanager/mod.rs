//! The Alertmanager API v2 (`/api/v2/…`): Prometheus (`alerting.alertmanagers`) and amtool
//! talk to Klaxon as to an Alertmanager. Alerts, groups and silences are stored (see
//! `klaxon_store::AmAlert`); the groups become Klaxon alerts through the flush worker
//! (`engine::alertmanager`).
//!
//! Errors have Alertmanager's shapes: 400 with a JSON string for rule violations, 400
//! `{"code":400,"message":…}` for a body that does not parse, 422 `{"code":6xx,"message":…}`
//! for schema violations (a required field missing). Keys: `Authorization: Bearer <key>`
//! (Prometheus' and amtool's `authorization:`), `GenieKey`, Basic with the key as password, or
//! `?apiKey=`; without one 401, unless `alertmanager.allow_anonymous_loopback` lets a client on
//! the loopback interface in.

pub mod alerts;
pub mod silences;
pub mod status;

use crate::app::AppState;
use crate::http::auth::{authenticate, key_from_request};
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v2/alerts", get(alerts::list).post(alerts::post))
        .route("/api/v2/alerts/groups", get(alerts::groups))
        .route("/api/v2/silences", get(silences::list).post(silences::post))
        .route(
            "/api/v2/silence/{id}",
            get(silences::get_one).delete(silences::delete),
        )
        .route("/api/v2/status", get(status::status))
        .route("/api/v2/receivers", get(status::receivers))
}

/// An error in one of Alertmanager's shapes.
#[derive(Debug)]
pub enum AmError {
    Unauthorized,
    /// 400 with a JSON string body (Alertmanager's own validation).
    Invalid(String),
    /// 400 `{"code":400,"message":…}`: the body did not parse.
    Parse(String),
    /// 422 `{"code":…,"message":…}`: the body broke the API schema.
    Schema(u16, String),
    NotFound(String),
    Internal,
}

impl IntoResponse for AmError {
    fn into_response(self) -> Response {
        let json =
            |status: StatusCode, v: serde_json::Value| (status, axum::Json(v)).into_response();
        match self {
            AmError::Unauthorized => json(
                StatusCode::UNAUTHORIZED,
                serde_json::Value::String(
                    "no valid Klaxon integration key: send 'Authorization: Bearer <key>' \
                     (Prometheus and amtool: an authorization block with credentials)"
                        .into(),
                ),
            ),
            AmError::Invalid(m) => json(StatusCode::BAD_REQUEST, serde_json::Value::String(m)),
            AmError::Parse(m) => json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"code": 400, "message": m}),
            ),
            AmError::Schema(code, m) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"code": code, "message": m}),
            ),
            AmError::NotFound(m) => json(StatusCode::NOT_FOUND, serde_json::Value::String(m)),
            AmError::Internal => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::Value::String(
                    "internal error; nothing was changed, retry later".into(),
                ),
            ),
        }
    }
}

impl From<klaxon_store::StoreError> for AmError {
    fn from(e: klaxon_store::StoreError) -> Self {
        tracing::error!(error = %e, "alertmanager api: storage error");
        AmError::Internal
    }
}

impl From<crate::engine::writer::WriteError> for AmError {
    fn from(e: crate::engine::writer::WriteError) -> Self {
        tracing::error!(error = %e, "alertmanager api: write error");
        AmError::Internal
    }
}

impl From<anyhow::Error> for AmError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "alertmanager api: error");
        AmError::Internal
    }
}

/// Lets the request through with a valid integration key, or from loopback when the config
/// allows anonymous local clients.
pub async fn authorize(state: &AppState, parts: &Parts) -> Result<(), AmError> {
    if let Some(key) = key_from_request(parts) {
        if authenticate(state, &key).await?.is_some() {
            return Ok(());
        }
        return Err(AmError::Unauthorized);
    }
    let loopback = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
    if loopback && state.am.get().allow_anonymous_loopback {
        Ok(())
    } else {
        Err(AmError::Unauthorized)
    }
}

/// Alertmanager's time format: RFC 3339 UTC with milliseconds.
pub fn render_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`) is "not set".
pub fn parse_time(s: &str) -> Result<Option<i64>, String> {
    use chrono::Datelike;
    let t = DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("parsing time {s:?} as RFC 3339: {e}"))?;
    Ok((t.year() > 1).then_some(t.timestamp_millis()))
}

/// The `filter` parameters of a query as matchers (`a="b"`, `a=~"x.*"`, or `{…}` lists).
pub fn parse_filters(
    query: &[(String, String)],
) -> Result<Vec<klaxon_core::alertmanager::Matcher>, AmError> {
    let mut out = Vec::new();
    for (_, f) in query.iter().filter(|(k, _)| k == "filter") {
        let ms = klaxon_core::alertmanager::Matchers::parse(f)
            .map_err(|_| AmError::Invalid(format!("bad matcher format: {f}")))?;
        out.extend(ms.into_vec());
    }
    Ok(out)
}

/// Query pairs of a request, repeated keys kept.
pub fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A boolean query parameter (`true`/`false`), `default` when absent.
pub fn bool_param(query: &[(String, String)], name: &str, default: bool) -> Result<bool, AmError> {
    match query.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.as_str() {
            "true" | "1" | "" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(AmError::Parse(format!(
                "{name} in query must be of type boolean: {other:?}"
            ))),
        },
    }
}
