//! Status pages over HTTP: the Statuspage API v1 (`/v1/pages/{page}/…`) and the public page
//! (`/status/{page}`, its Atom feed, badges and Statuspage's public `/api/v2/*.json`).

/// The Statuspage REST API v1.
pub mod api;
pub mod cache;
/// Statuspage's error shape.
pub mod error;
/// Request bodies and their checks.
pub mod input;
/// The public page, feed, badges and public JSON.
pub mod public;
/// Statuspage's JSON shapes.
pub mod render;

use crate::app::AppState;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::Router;
use error::{SpError, SpResult};
use klaxon_store::{StatusPage, StatusSubscriber};

pub fn router() -> Router<AppState> {
    Router::new().merge(api::router()).merge(public::router())
}

/// The `{page}` of a path, without Statuspage's optional `.json` suffix.
pub struct PageId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PageId {
    type Rejection = SpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> SpResult<Self> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| SpError::bad_request(e.to_string()))?;
        let page = params
            .into_iter()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v)
            .ok_or_else(|| SpError::bad_request("no page in the path"))?;
        Ok(PageId(
            page.strip_suffix(".json").unwrap_or(&page).to_string(),
        ))
    }
}

/// `public_url` from the config, else `http://<Host>`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.public_url {
        return u.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The public address of one incident.
pub fn shortlink(base: &str, page: &str, incident: &str) -> String {
    format!("{base}/status/{page}/incidents/{incident}")
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((l, d)) => !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace),
        None => false,
    }
}

/// Stores a subscriber after checking it: an e-mail address (confirmed through the link sent
/// to it, unless `skip_confirmation`) or a webhook endpoint (http or https URL).
pub async fn subscribe(
    state: &AppState,
    base: &str,
    page: &StatusPage,
    email: Option<String>,
    endpoint: Option<String>,
    skip_confirmation: bool,
) -> SpResult<StatusSubscriber> {
    let token = crate::keys::generate_key();
    let now = state.clock.now_ms();
    let sub = match (
        email.filter(|e| !e.trim().is_empty()),
        endpoint.filter(|e| !e.trim().is_empty()),
    ) {
        (Some(e), None) => {
            let e = e.trim();
            if !looks_like_email(e) {
                return Err(SpError::invalid(format!(
                    "email {e:?} is not an e-mail address"
                )));
            }
            let sub = state
                .store
                .create_status_subscriber(
                    &page.id,
                    "email",
                    Some(e),
                    None,
                    &token,
                    skip_confirmation,
                    now,
                )
                .await?;
            if !skip_confirmation {
                send_confirmation(state, base, page, &sub).await?;
            }
            sub
        }
        (None, Some(u)) => {
            let u = u.trim();
            if !(u.starts_with("http://") || u.starts_with("https://"))
                || u.contains(char::is_whitespace)
            {
                return Err(SpError::invalid(format!(
                    "endpoint {u:?} must be an http(s) URL"
                )));
            }
            state
                .store
                .create_status_subscriber(&page.id, "webhook", None, Some(u), &token, true, now)
                .await?
        }
        (Some(_), Some(_)) => return Err(SpError::invalid("give email or endpoint, not both")),
        (None, None) => return Err(SpError::invalid("email or endpoint can't be blank")),
    };
    Ok(sub)
}

/// The link that confirms an e-mail subscription.
pub fn confirm_link(base: &str, page: &str, token: &str) -> String {
    format!("{base}/status/{page}/subscriptions/confirm/{token}")
}

/// Sends the confirmation e-mail (through the outbox, like every message Klaxon sends).
pub async fn send_confirmation(
    state: &AppState,
    base: &str,
    page: &StatusPage,
    sub: &StatusSubscriber,
) -> SpResult<()> {
    crate::status::subscribers::enqueue_confirmation(
        &state.store,
        &state.outbox_wake,
        base,
        page,
        sub,
        state.clock.now_ms(),
    )
    .await?;
    Ok(())
}

/// Pages that own their own host name (`host:` in the config): a request for that host is
/// served the page's public side at the root (`/` → `/status/{page}`, `/api/v2/summary.json`
/// → `/status/{page}/api/v2/summary.json`, …). Applied before routing.
#[derive(Clone, Default)]
pub struct HostPages(std::sync::Arc<std::collections::HashMap<String, String>>);

impl HostPages {
    pub fn new(pages: &[klaxon_store::PageDecl]) -> HostPages {
        HostPages(std::sync::Arc::new(
            pages
                .iter()
                .filter_map(|p| Some((p.host.as_ref()?.to_ascii_lowercase(), p.id.clone())))
                .collect(),
        ))
    }

    /// The request with its path moved under `/status/{page}` when its host owns a page.
    pub fn rewrite(&self, mut req: axum::extract::Request) -> axum::extract::Request {
        if self.0.is_empty() {
            return req;
        }
        let host = req
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
        let Some(page) = host.and_then(|h| self.0.get(&h)) else {
            return req;
        };
        let path = req.uri().path();
        let public = path == "/"
            || ["/api/v2/", "/incidents/", "/badge/", "/subscriptions/"]
                .iter()
                .any(|p| path.starts_with(p))
            || matches!(path, "/feed.atom" | "/history.atom" | "/subscribe");
        if !public {
            return req;
        }
        let new_path = if path == "/" {
            format!("/status/{page}")
        } else {
            format!("/status/{page}{path}")
        };
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
        req
    }
}
