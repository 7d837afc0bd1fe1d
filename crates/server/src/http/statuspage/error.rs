//! Statuspage's error shape: a JSON object with `error` (what Statuspage sends) and `message`
//! (what the official client's `ErrorEntity` model reads), and the HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use klaxon_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct SpError {
    pub status: StatusCode,
    pub message: String,
}

impl SpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        SpError {
            status,
            message: message.into(),
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Could not authenticate: send Authorization: OAuth <a global Klaxon integration key>",
        )
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<StoreError> for SpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(m) => SpError::invalid(m),
            other => {
                tracing::error!(error = %other, "statuspage API: store error");
                SpError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
            }
        }
    }
}

impl IntoResponse for SpError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error": self.message, "message": self.message})),
        )
            .into_response()
    }
}

pub type SpResult<T> = Result<T, SpError>;
