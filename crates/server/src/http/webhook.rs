//! The generic webhook integration (`POST /api/integrations/webhook`): any JSON body, read
//! through the integration's field mapping (`mapping:`, JSON pointers; see
//! [`klaxon_core::webhook`]). A body opens an alert (or counts up the open one with its alias)
//! through the same write as an OpsGenie create, so routing rules, escalations and
//! notifications apply; a status value from `close_values` / `acknowledge_values` closes or
//! acknowledges the alert its alias names.
//!
//! The key comes as `Authorization: Bearer <key>`, `GenieKey <key>`, Basic (key as password) or
//! `?apiKey=<key>`. Answers: 202 once the write is committed, with the alias (a close or
//! acknowledge of an alias that names no open alert is committed as a failed outcome and still
//! answers 202, as PagerDuty does); 400 for a body that is not JSON or lacks what the mapping
//! requires (nothing is written); 401 without a valid key; 5xx when the write failed.

use crate::app::AppState;
use crate::http::hook::{self, HookError};
use crate::http::ingest::{self, Details, RequestIds};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use klaxon_core::alert::{limits, truncate_chars, Priority};
use klaxon_core::lifecycle::Action;
use klaxon_core::webhook::{WebhookAction, WebhookEvent};
use klaxon_store::{ActionRequest, Identifier, NewAlert, WriteKind};
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/integrations/webhook", post(receive))
}

pub async fn receive(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, HookError> {
    let started = std::time::Instant::now();
    let (integration, bytes) = hook::authenticated_body(&state, &parts, body).await?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| HookError::Malformed(format!("Request body is not valid JSON: {e}")))?;
    let mappings = state.mappings.get();
    let mapping = mappings.get(&integration.name);
    let event = mapping
        .webhook
        .extract(&value)
        .map_err(HookError::Malformed)?;

    let client = ingest::client_ip(&parts);
    let (alias, kind, source) = match event {
        WebhookEvent::Create(a) => {
            let alias = a
                .alias
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let priority = a
                .priority
                .as_deref()
                .and_then(|p| mapping.priority_for(p))
                .or(integration.default_priority)
                .unwrap_or(Priority::P3);
            let (message, description) =
                ingest::message_and_description(&a.message, &a.description);
            let mut details = Details::default();
            for (k, v) in &a.details {
                details.add(k, v);
            }
            // Without a source in the body, the client's address (as an OpsGenie create).
            let source = match a.source.trim() {
                "" => client.clone(),
                s => s.to_string(),
            };
            let new = NewAlert {
                alias: alias.clone(),
                message,
                description,
                priority,
                source: truncate_chars(&source, limits::SOURCE),
                entity: truncate_chars(a.entity.trim(), limits::ENTITY),
                tags: ingest::tags(a.tags.iter().map(String::as_str), &integration.default_tags),
                details: details.into_map(),
                actions: vec![],
                responders: vec![],
                visible_to: vec![],
                note: None,
            };
            (alias, WriteKind::Create(Box::new(new)), source)
        }
        WebhookEvent::Act { action, alias } => {
            let action = match action {
                WebhookAction::Close => Action::Close,
                WebhookAction::Acknowledge => Action::Acknowledge,
            };
            let kind = WriteKind::Act {
                target: Identifier::Alias(alias.clone()),
                action: ActionRequest::Ready(action),
                note: None,
            };
            (alias, kind, client)
        }
    };
    let is_create = matches!(kind, WriteKind::Create(_));
    let request_id = RequestIds::new().take();
    let actor = ingest::actor(&integration, "Webhook", &source);
    let op = ingest::write_op(&state, &integration, request_id.clone(), actor, kind);
    let outcome = state.writer.write(op).await?;
    if !is_create {
        state.metrics.alert_actions.fetch_add(1, Relaxed);
    } else if outcome.deduplicated {
        state.metrics.alerts_deduplicated.fetch_add(1, Relaxed);
    } else {
        state.metrics.alerts_created.fetch_add(1, Relaxed);
    }
    state.metrics.ingest_latency(started.elapsed());
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "status": "success",
            "result": if outcome.success { "Request processed" } else { "Request failed" },
            "message": outcome.status,
            "alias": alias,
            "alertId": outcome.alert_id,
            "requestId": request_id,
        })),
    )
        .into_response())
}
