//! PagerDuty's error shape: `{"status": "invalid event", "message": …, "errors": […]}`.
//! Alertmanager logs `message: errors` of a 400 and does not retry it; the Python client raises
//! with the body; both retry 5xx.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What PagerDuty answers for any event it refuses.
pub const INVALID_EVENT: &str = "Event object is invalid";

#[derive(Debug, thiserror::Error)]
pub enum PdError {
    /// The event is malformed or its routing key is unknown (PagerDuty answers 400 for both).
    #[error("invalid event: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("request body too large")]
    TooLarge,
    #[error("the event could not be committed")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl PdError {
    pub fn invalid(problem: impl Into<String>) -> Self {
        PdError::Invalid(vec![problem.into()])
    }
}

impl IntoResponse for PdError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            PdError::Invalid(errors) => (
                StatusCode::BAD_REQUEST,
                json!({"status": "invalid event", "message": INVALID_EVENT, "errors": errors}),
            ),
            PdError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"status": "invalid event", "message": "Request body is too large", "errors": [
                    format!("the event must be at most {} bytes", crate::http::MAX_BODY)
                ]}),
            ),
            PdError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "error", "message": "The event could not be committed; it was not applied. Retry later."}),
            ),
            PdError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"status": "error", "message": "Internal server error; the event was not applied. Retry later."}),
            ),
        };
        (status, axum::Json(body)).into_response()
    }
}

impl From<klaxon_store::StoreError> for PdError {
    fn from(e: klaxon_store::StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        PdError::Internal
    }
}

impl From<crate::engine::writer::WriteError> for PdError {
    fn from(e: crate::engine::writer::WriteError) -> Self {
        tracing::error!(error = %e, "write error");
        PdError::Unavailable
    }
}
