//! OpsGenie's response envelope: every body is a JSON object with `requestId` and `took`,
//! errors included (the Python SDK crashes otherwise).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub id: String,
    pub started: Instant,
}

impl RequestMeta {
    pub fn new() -> Self {
        RequestMeta {
            id: uuid::Uuid::now_v7().to_string(),
            started: Instant::now(),
        }
    }
}

impl Default for RequestMeta {
    fn default() -> Self {
        Self::new()
    }
}

tokio::task_local! {
    /// The current request's id and start, set by the envelope middleware.
    pub static META: RequestMeta;
}

pub fn current_meta() -> RequestMeta {
    META.try_with(|m| m.clone()).unwrap_or_default()
}

/// A JSON object response with `took` and `requestId` added.
pub fn envelope(status: StatusCode, mut body: Map<String, Value>) -> Response {
    let meta = current_meta();
    let took = (meta.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    body.insert("took".into(), json!(took));
    body.insert("requestId".into(), json!(meta.id));
    (status, axum::Json(Value::Object(body))).into_response()
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// An error in OpsGenie's shape: `{"message": …, "errors"?: {field: problem}, "took", "requestId"}`.
#[derive(Debug)]
pub struct OgError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Option<Map<String, Value>>,
}

pub const NOT_PROCESSABLE: &str = "Request body is not processable. Please check the errors.";

impl OgError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        OgError {
            status,
            message: message.into(),
            errors: None,
        }
    }

    /// 422 with per-field problems.
    pub fn fields(errors: Vec<(String, String)>) -> Self {
        OgError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: NOT_PROCESSABLE.into(),
            errors: Some(
                errors
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
        }
    }

    pub fn field(name: &str, problem: impl Into<String>) -> Self {
        Self::fields(vec![(name.to_string(), problem.into())])
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Could not authenticate: give a valid API key as 'Authorization: GenieKey <key>'",
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error; the request was not applied. Retry later.",
        )
    }

    pub fn from_status(status: StatusCode) -> Self {
        let msg = match status.as_u16() {
            404 => "Could not find the requested resource".to_string(),
            405 => "Method not allowed on this resource".to_string(),
            413 => format!(
                "Request body is too large (limit {} bytes)",
                super::super::MAX_BODY
            ),
            415 => "Content-Type must be application/json".to_string(),
            _ => status.canonical_reason().unwrap_or("Error").to_string(),
        };
        Self::new(status, msg)
    }

    pub fn into_response_now(self) -> Response {
        let mut body = Map::new();
        body.insert("message".into(), Value::String(self.message));
        if let Some(e) = self.errors {
            body.insert("errors".into(), Value::Object(e));
        }
        envelope(self.status, body)
    }
}

impl IntoResponse for OgError {
    fn into_response(self) -> Response {
        self.into_response_now()
    }
}

impl From<klaxon_store::StoreError> for OgError {
    fn from(e: klaxon_store::StoreError) -> Self {
        tracing::error!(error = %e, "storage error");
        OgError::internal()
    }
}

impl From<crate::engine::writer::WriteError> for OgError {
    fn from(e: crate::engine::writer::WriteError) -> Self {
        tracing::error!(error = %e, "write error");
        OgError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The request could not be committed; it was not applied. Retry later.",
        )
    }
}

pub async fn not_found() -> OgError {
    OgError::from_status(StatusCode::NOT_FOUND)
}

/// A JSON object request body; an empty body is `{}`.
pub fn json_object(
    raw: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Map<String, Value>, OgError> {
    let bytes = raw.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OgError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            OgError::bad_request(format!("Could not read request body: {r}"))
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OgError::bad_request("Request body must be a JSON object")),
        Err(e) => Err(OgError::bad_request(format!(
            "Request body is not valid JSON: {e}"
        ))),
    }
}
