//! What the JSON receivers outside the OpsGenie API share (the Alertmanager webhook and the
//! generic webhook): the integration key the way their clients send it, the body, and errors as
//! `{"status": "error", "message": …}`.

use crate::app::AppState;
use crate::http::auth::{authenticate, key_from_request};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use klaxon_store::Integration;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("no valid integration key")]
    Unauthorized,
    #[error("{0}")]
    Malformed(String),
    #[error("request body too large")]
    TooLarge,
    #[error("the request could not be committed")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            HookError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Could not authenticate: give a Klaxon integration key as 'Authorization: Bearer <key>' \
                 (Alertmanager: http_config.authorization.credentials), 'Authorization: GenieKey <key>', \
                 Basic auth with the key as password, or ?apiKey=<key>"
                    .to_string(),
            ),
            HookError::Malformed(m) => (StatusCode::BAD_REQUEST, m),
            HookError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request body is too large (limit {} bytes; Alertmanager: lower max_alerts in webhook_configs)",
                    crate::http::MAX_BODY
                ),
            ),
            HookError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The request could not be committed; it was not applied. Retry later.".to_string(),
            ),
            HookError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error; the request was not applied. Retry later.".to_string(),
            ),
        };
        (
            status,
            axum::Json(json!({"status": "error", "message": message})),
        )
            .into_response()
    }
}

impl From<klaxon_store::StoreError> for HookError {
    fn from(e: klaxon_store::StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        HookError::Internal
    }
}

impl From<crate::engine::writer::WriteError> for HookError {
    fn from(e: crate::engine::writer::WriteError) -> Self {
        tracing::error!(error = %e, "write error");
        HookError::Unavailable
    }
}

/// The integration the request's key names, and its body.
pub async fn authenticated_body(
    state: &AppState,
    parts: &Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Integration, Bytes), HookError> {
    let key = key_from_request(parts).ok_or(HookError::Unauthorized)?;
    let integration = authenticate(state, &key)
        .await?
        .ok_or(HookError::Unauthorized)?;
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HookError::TooLarge
        } else {
            HookError::Malformed(format!("Could not read request body: {r}"))
        }
    })?;
    Ok((integration, bytes))
}
