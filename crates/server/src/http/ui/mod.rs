//! The web UI for responders and admins, under `/ui`: server-rendered pages (maud templates
//! compiled into the binary), a vendored htmx for partial updates, no JavaScript build.
//!
//! Every route except the sign-in page and the static assets goes through [`guard`]: it
//! refuses cross-site state changes (Sec-Fetch-Site, Origin), finds the session, and checks the
//! session's CSRF token on every POST. A handler therefore only runs for a signed-in person,
//! whose [`Viewer`] it takes from the request's extensions.

pub mod accounts;
mod alerts;
mod directory;
mod integrations;
mod live;
mod oncall;
mod page;
mod profile;
pub mod session;

pub use live::LiveAlerts;

use crate::app::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maud::html;
use page::{error_page, Section};
use session::{Viewer, CSRF_FIELD, CSRF_HEADER, LOGIN_COOKIE};
use std::sync::LazyLock;

const HTMX: &str = include_str!("assets/htmx-2.0.11.min.js");
const CSS: &str = include_str!("assets/ui.css");
const JS: &str = include_str!("assets/ui.js");

/// Part of every asset URL: a digest of the assets, so they can be cached for a year and a
/// new binary still serves its own.
static ASSET_VERSION: LazyLock<String> = LazyLock::new(|| {
    let digest = crate::keys::hash_key(&format!("{HTMX}{CSS}{JS}"));
    digest[..12].to_string()
});

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/ui", get(|| async { Redirect::to("/ui/alerts") }))
        .route("/ui/login", get(login_page).post(login))
        .route("/ui/logout", post(logout))
        .route("/ui/assets/{version}/{file}", get(asset))
        .route("/ui/events", get(live::events))
        .merge(alerts::router())
        .merge(oncall::router())
        .merge(integrations::router())
        .merge(profile::router())
        .merge(directory::router())
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// An error a page handler could not recover from: logged, shown as a plain 500 page.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Store(#[from] klaxon_store::StoreError),
    #[error(transparent)]
    Write(#[from] crate::engine::writer::WriteError),
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "web UI request failed");
        error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "Something went wrong on the server; the error was logged.",
        )
    }
}

/// Form fields in order (repeated names kept, as checkboxes send them).
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn is_public(path: &str) -> bool {
    path == "/ui/login" || path.starts_with("/ui/assets/") || path == "/" || path == "/ui"
}

/// Where clients reach this server: `public_url`, else the host the browser used.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    state.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost:8080");
        format!("http://{host}")
    })
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A local path to return to after signing in; anything else (another host, `//x`) is
/// dropped, so the sign-in page cannot be used to send people elsewhere.
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with("/ui/") && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

/// Sign-in, same-origin and CSRF checks in front of every UI route; security headers on
/// every UI response.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = guarded(&state, req, next).await;
    let h = resp.headers_mut();
    for (k, v) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        h.insert(k, v.parse().expect("static header"));
    }
    resp
}

async fn guarded(state: &AppState, req: Request, next: Next) -> Response {
    if let Err(why) = session::check_same_origin(state, req.method(), req.headers()) {
        return error_page(StatusCode::FORBIDDEN, None, &format!("Refused: {}.", why.0));
    }
    let path = req.uri().path().to_string();
    if is_public(&path) {
        return next.run(req).await;
    }
    let found = match session::session(state, req.headers()).await {
        Ok(f) => f,
        Err(e) => return UiError::from(e).into_response(),
    };
    let Some((s, token_hash)) = found else {
        let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
        if is_htmx(req.headers()) {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            r.headers_mut()
                .insert("hx-redirect", "/ui/login".parse().expect("static"));
            return r;
        }
        if is_read && path != "/ui/events" {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &target)
                .finish();
            return Redirect::to(&format!("/ui/login?{q}")).into_response();
        }
        return error_page(
            StatusCode::UNAUTHORIZED,
            None,
            "Sign in first: this needs a signed-in session.",
        );
    };
    let viewer = Viewer {
        user: s.user,
        csrf: s.csrf_token,
        token_hash,
    };
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    // Stakeholders follow along but change nothing; every handler checks too, this makes it
    // hold for routes added later.
    if !is_read && !viewer.can_act() && path != "/ui/logout" {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "Stakeholders can look but not change anything.",
        );
    }
    let req = if is_read {
        req
    } else {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, crate::http::MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return error_page(StatusCode::PAYLOAD_TOO_LARGE, Some(&viewer), "Too large.")
            }
        };
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| FormData::parse(&bytes).get(CSRF_FIELD).map(str::to_string))
            .unwrap_or_default();
        if !session::same_token(&sent, &viewer.csrf) {
            return error_page(
                StatusCode::FORBIDDEN,
                Some(&viewer),
                "Refused: the form's security token is missing or stale. Reload the page and try again.",
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    let mut req = req;
    req.extensions_mut().insert(viewer);
    next.run(req).await
}

async fn asset(Path((version, file)): Path<(String, String)>) -> Response {
    let (body, ctype) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "ui.js" => (JS, "text/javascript; charset=utf-8"),
        "ui.css" => (CSS, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    // An old version's URL gets today's asset, but must not be cached as if it were the old one.
    let cache = if version == *ASSET_VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------- sign-in

fn login_form(csrf: &str, next: &str, username: &str, problem: Option<&str>) -> maud::Markup {
    html! {
        div.login {
            h1 { "Sign in to Klaxon" }
            @if let Some(p) = problem {
                p.flash.error role="alert" id="login-error" { (p) }
            }
            form method="post" action="/ui/login" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(username)
                    autocomplete="username" autocapitalize="none" required autofocus;
                label for="password" { "Password" }
                input type="password" id="password" name="password"
                    autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
        }
    }
}

fn login_response(
    state: &AppState,
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    problem: Option<&str>,
) -> Response {
    let mut r = page::page(page::shell(
        "Sign in",
        None,
        Section::None,
        login_form(csrf, next, username, problem),
    ));
    *r.status_mut() = status;
    let cookie = session::set_cookie(state, LOGIN_COOKIE, csrf, 3600);
    if let Ok(v) = cookie.parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, UiError> {
    if session::session(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/ui/alerts").into_response());
    }
    let csrf = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_else(session::random_token);
    let next = q
        .get("next")
        .and_then(|n| safe_next(n))
        .unwrap_or("/ui/alerts");
    Ok(login_response(
        &state,
        StatusCode::OK,
        &csrf,
        next,
        "",
        None,
    ))
}

/// A hash to verify against when the username is unknown, so a wrong username takes as long
/// as a wrong password and the timing does not tell which usernames exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| session::hash_password("klaxon-dummy-password").unwrap_or_default());

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    let username = form.get("username").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("").to_string();
    let next = form
        .get("next")
        .and_then(safe_next)
        .unwrap_or("/ui/alerts")
        .to_string();
    let cookie_token = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let fresh = session::random_token();
    let sent = form.get(CSRF_FIELD).unwrap_or("");
    if !session::same_token(sent, &cookie_token) {
        return Ok(login_response(
            &state,
            StatusCode::FORBIDDEN,
            &fresh,
            &next,
            &username,
            Some("The sign-in form expired or came from another site. Please try again."),
        ));
    }
    let reply = |status, problem: &str| {
        login_response(
            &state,
            status,
            &cookie_token,
            &next,
            &username,
            Some(problem),
        )
    };
    if username.is_empty() || password.is_empty() {
        return Ok(reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your username and password.",
        ));
    }
    let now = state.clock.now_ms();
    let locked_until = state.store.login_locked_until(&username).await?;
    if locked_until > now {
        let secs = (locked_until - now + 999) / 1000;
        return Ok(reply(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed sign-ins for this username. Try again in {secs} s."),
        ));
    }
    let user = state.store.ui_user(&username).await?;
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let matches = tokio::task::spawn_blocking(move || session::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = match (user, matches) {
        (Some(u), true) if u.password_hash.is_some() => u,
        _ => {
            let (_, until) = state
                .store
                .record_login_failure(&username, now, session::lock_for)
                .await?;
            let msg = if until > now {
                format!(
                    "Wrong username or password. Too many failures: this username is locked for {} s.",
                    (until - now + 999) / 1000
                )
            } else {
                "Wrong username or password.".to_string()
            };
            return Ok(reply(StatusCode::UNAUTHORIZED, &msg));
        }
    };
    state.store.clear_login_failures(&username).await?;
    let token = session::random_token();
    state
        .store
        .create_ui_session(
            &session::token_hash(&token),
            &user.id,
            &session::random_token(),
            now,
            now + session::SESSION_TTL_MS,
        )
        .await?;
    let mut r = Redirect::to(&next).into_response();
    let h = r.headers_mut();
    for c in [
        session::set_cookie(
            &state,
            session::COOKIE,
            &token,
            session::SESSION_TTL_MS / 1000,
        ),
        session::set_cookie(&state, LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

async fn logout(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, UiError> {
    state
        .store
        .revoke_ui_session(&viewer.token_hash, state.clock.now_ms())
        .await?;
    let mut r = Redirect::to("/ui/login").into_response();
    if let Ok(v) = session::set_cookie(&state, session::COOKIE, "", 0).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}
