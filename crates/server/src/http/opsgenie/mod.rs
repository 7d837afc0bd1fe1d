//! The OpsGenie REST API. Clients change only their base URL: paths, bodies, status codes and
//! the response envelope follow OpsGenie (see shared/COMPAT.md).

pub mod alerts;
pub mod directory;
pub mod error;
pub mod heartbeats;
mod input;
pub mod maintenance;
mod render;
pub mod schedules;

use crate::app::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::Router;
use error::OgError;
use klaxon_store::{Integration, Scope};

pub fn router() -> Router<AppState> {
    use alerts::*;
    Router::new()
        .route("/v2/alerts", post(create).get(list))
        .route("/v2/alerts/count", get(count))
        .route("/v2/alerts/requests/{request_id}", get(request_status))
        .route("/v2/alerts/{identifier}", get(get_one).delete(delete))
        .route("/v2/alerts/{identifier}/close", post(close))
        .route("/v2/alerts/{identifier}/acknowledge", post(acknowledge))
        .route("/v2/alerts/{identifier}/unacknowledge", post(unacknowledge))
        .route("/v2/alerts/{identifier}/snooze", post(snooze))
        .route("/v2/alerts/{identifier}/escalate", post(escalate))
        .route("/v2/alerts/{identifier}/assign", post(assign))
        .route("/v2/alerts/{identifier}/responders", post(add_responder))
        .route("/v2/alerts/{identifier}/teams", post(add_team))
        .route(
            "/v2/alerts/{identifier}/actions/{action}",
            post(custom_action),
        )
        .route(
            "/v2/alerts/{identifier}/notes",
            post(add_note).get(list_notes),
        )
        .route("/v2/alerts/{identifier}/logs", get(list_logs))
        .route("/v2/alerts/{identifier}/recipients", get(list_recipients))
        .route(
            "/v2/alerts/{identifier}/tags",
            post(add_tags).delete(remove_tags),
        )
        .route(
            "/v2/alerts/{identifier}/details",
            post(add_details).delete(remove_details),
        )
        .route("/v2/alerts/{identifier}/message", put(update_message))
        .route(
            "/v2/alerts/{identifier}/description",
            put(update_description),
        )
        .route("/v2/alerts/{identifier}/priority", put(update_priority))
        .merge(schedules::router())
        .merge(heartbeats::router())
        .merge(maintenance::router())
        .merge(directory::router())
}

/// The integration behind the request's API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub integration: Integration,
    pub ip: Option<std::net::IpAddr>,
}

impl Caller {
    pub fn scope(&self) -> Scope {
        Scope {
            team_id: self.integration.team_id.clone(),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = OgError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OgError> {
        let key = crate::http::auth::key_from_request(parts).ok_or_else(OgError::unauthorized)?;
        let integration = crate::http::auth::authenticate(state, &key)
            .await?
            .ok_or_else(OgError::unauthorized)?;
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Caller { integration, ip })
    }
}
