//! HTTP surfaces. Each module exposes its own `router()`; this one merges them and wraps them
//! in the layers every response needs.

/// Signed ack/close links and Twilio SMS replies and voice calls.
pub mod act;
/// The Alertmanager API v2 (`/api/v2/`): Prometheus and amtool talk to Klaxon directly.
pub mod alertmanager;
/// The Alertmanager webhook receiver (`/api/integrations/alertmanager`): one alert per group.
pub mod alertmanager_webhook;
/// API keys in the forms clients send them, checked against the store (with a short cache).
pub mod auth;
/// Liveness, readiness and Prometheus metrics.
pub mod health;
pub mod hook;
/// What the PagerDuty and webhook surfaces share: write ops for an integration, bounded details.
pub mod ingest;
/// The OpsGenie REST API (`/v2/alerts`, …), optionally under a path prefix.
pub mod opsgenie;
/// The PagerDuty Events API v2 (`/v2/enqueue`).
pub mod pagerduty;
/// Status pages: the Statuspage API v1 (`/v1/pages/…`) and the public page (`/status/{page}`).
pub mod statuspage;
/// The web UI (`/ui`): sign-in, alerts, on call.
pub mod ui;
/// The generic webhook integration (`/api/integrations/webhook`): any JSON, mapped by pointers.
pub mod webhook;

use crate::app::AppState;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let prefix = state.opsgenie_prefix.clone();
    let og = opsgenie::router();
    let api = if prefix.is_empty() {
        og
    } else {
        // Mounted under the prefix only: the prefix is how an operator tells clients apart.
        Router::new().nest(&prefix, og)
    };
    Router::new()
        .merge(health::router())
        .merge(api)
        .merge(pagerduty::router())
        .merge(alertmanager_webhook::router())
        .merge(webhook::router())
        .merge(ui::router(state.clone()))
        .merge(alertmanager::router())
        .merge(statuspage::router())
        .merge(act::router())
        .fallback(opsgenie::error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// Gives every request an id and a start time (for `requestId` and `took`), sets
/// `X-Request-Id`, counts the response, and turns any bodiless error (405 from the router, …)
/// into OpsGenie's JSON error shape so no client ever gets an empty error body.
async fn envelope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let meta = opsgenie::error::RequestMeta::new();
    let id = meta.id.clone();
    let resp = opsgenie::error::META
        .scope(meta.clone(), next.run(req))
        .await;
    let status = resp.status();
    let mut resp = if status.as_u16() >= 400 && is_bodiless(&resp) {
        drop(resp);
        opsgenie::error::META.sync_scope(meta, || {
            opsgenie::error::OgError::from_status(status).into_response_now()
        })
    } else {
        resp
    };
    state.metrics.request(resp.status().as_u16());
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// Marks an error response whose plain-text body is meant as it is (the `/-/` management
/// endpoints answer like Alertmanager's), so [`envelope`] leaves it alone.
#[derive(Clone, Copy)]
pub struct PlainError;

fn is_bodiless(resp: &Response) -> bool {
    use axum::body::HttpBody;
    if resp.extensions().get::<PlainError>().is_some() {
        return false;
    }
    // JSON errors are the API's own; HTML errors are the web UI's pages.
    resp.body().size_hint().exact() == Some(0)
        || !resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json") || v.contains("html") || v.contains("xml"))
}
