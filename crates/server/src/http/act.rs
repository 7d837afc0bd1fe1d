//! Acting on an alert from a message, without signing in:
//!
//! - `GET /act/{token}` shows what the signed link does and a button; `POST /act/{token}`
//!   does it (mail scanners and chat unfurlers fetch links, so a GET never acts). ntfy's
//!   "Acknowledge" action POSTs directly.
//! - `POST /api/integrations/twilio/sms`: a reply "ack 12" / "close 12" from a number that is
//!   one of a user's SMS contacts acts on alert #12 as that user.
//! - `GET|POST /api/integrations/twilio/voice/{token}`: TwiML for a paging call, "press 1 to
//!   acknowledge, 2 to close"; the keypress comes back to `…/gather`.
//!
//! Twilio requests are checked against `X-Twilio-Signature` when `notify.twilio` is set.

use crate::app::AppState;
use crate::engine::links::{LinkAction, LinkClaim};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{ActionRequest, Identifier, Outcome, WriteKind, WriteOp};
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/act/{token}", get(confirm).post(act))
        .route("/api/integrations/twilio/sms", post(sms_reply))
        .route(
            "/api/integrations/twilio/voice/{token}",
            get(voice).post(voice),
        )
        .route(
            "/api/integrations/twilio/voice/{token}/gather",
            post(gather),
        )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t} · Klaxon</title><style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
         button{{font-size:1.1rem;padding:.7rem 1.4rem;border:0;border-radius:6px;background:#b00020;color:#fff;cursor:pointer}}\
         @media (prefers-color-scheme:dark){{body{{background:#111;color:#eee}}}}</style></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    );
    (status, Html(html)).into_response()
}

fn link_error(e: crate::engine::links::LinkError) -> Response {
    let status = match e {
        crate::engine::links::LinkError::Expired => StatusCode::GONE,
        crate::engine::links::LinkError::Invalid => StatusCode::BAD_REQUEST,
    };
    page(
        status,
        "Link not usable",
        &format!("<p>{}</p>", esc(&e.to_string())),
    )
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let claim = match state.links.verify(&token, state.clock.now_ms()) {
        Ok(c) => c,
        Err(e) => return link_error(e),
    };
    let alert = state
        .store
        .get_alert(&Identifier::Id(claim.alert_id.clone()), &Default::default())
        .await;
    let Ok(Some(alert)) = alert else {
        return page(
            StatusCode::NOT_FOUND,
            "Alert not found",
            "<p>The alert no longer exists.</p>",
        );
    };
    page(
        StatusCode::OK,
        &format!("{} alert #{}", claim.action.verb(), alert.tiny_id),
        &format!(
            "<p><strong>[{}] {}</strong></p><p>Status: {}{}</p>\
             <form method=\"post\"><button type=\"submit\">{} as {}</button></form>",
            alert.priority.as_str(),
            esc(&alert.message),
            alert.status.as_str(),
            if alert.acknowledged {
                ", acknowledged"
            } else {
                ""
            },
            claim.action.verb(),
            esc(&claim.user)
        ),
    )
}

/// Applies the claim's action through the writer, as the user the link was sent to.
async fn apply(state: &AppState, claim: &LinkClaim, via: &str) -> Result<Outcome, String> {
    let action = match claim.action {
        LinkAction::Ack => Action::Acknowledge,
        LinkAction::Close => Action::Close,
    };
    let op = WriteOp {
        request_id: uuid::Uuid::now_v7().to_string(),
        integration_id: String::new(),
        integration_name: via.to_string(),
        integration_type: via.to_string(),
        team_id: None,
        actor: Actor {
            user: claim.user.clone(),
            via: via.to_string(),
            source: via.to_lowercase(),
        },
        now: state.clock.now_ms(),
        kind: WriteKind::Act {
            target: Identifier::Id(claim.alert_id.clone()),
            action: ActionRequest::Ready(action),
            note: None,
        },
    };
    state.writer.write(op).await.map_err(|e| e.to_string())
}

async fn act(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let claim = match state.links.verify(&token, state.clock.now_ms()) {
        Ok(c) => c,
        Err(e) => return link_error(e),
    };
    match apply(&state, &claim, "Link").await {
        Ok(o) if o.success => page(
            StatusCode::OK,
            &format!("{} done", claim.action.verb()),
            &format!("<p>{}.</p>", esc(&o.status)),
        ),
        Ok(o) => page(
            StatusCode::CONFLICT,
            "Nothing to do",
            &format!("<p>{}.</p>", esc(&o.status)),
        ),
        Err(e) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            &format!("<p>{}</p>", esc(&e)),
        ),
    }
}

fn twiml(body: &str) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>"),
    )
        .into_response()
}

/// Twilio's request signature: base64(HMAC-SHA1(auth token, URL + each POST parameter's name
/// and value, sorted by name)).
fn twilio_signature_ok(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    params: &BTreeMap<String, String>,
) -> bool {
    let channels = state.channels.get();
    let Some(t) = &channels.config().twilio else {
        return true;
    };
    let Some(sig) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut data = format!("{}{path}", state.links.base_url());
    for (k, v) in params {
        data.push_str(k);
        data.push_str(v);
    }
    let mut m =
        Hmac::<sha1::Sha1>::new_from_slice(t.auth_token.as_bytes()).expect("any key length");
    m.update(data.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    expected == sig
}

fn form(body: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

async fn sms_reply(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let params = form(&body);
    if !twilio_signature_ok(&state, &headers, "/api/integrations/twilio/sms", &params) {
        return (StatusCode::FORBIDDEN, twiml("")).into_response();
    }
    let from = params.get("From").cloned().unwrap_or_default();
    let text = params.get("Body").cloned().unwrap_or_default();
    let mut words = text.split_whitespace();
    let verb = words.next().unwrap_or("").to_lowercase();
    let tiny = words
        .next()
        .and_then(|w| w.trim_start_matches('#').parse::<i64>().ok());
    let action = match verb.as_str() {
        "ack" | "acknowledge" => LinkAction::Ack,
        "close" | "resolve" => LinkAction::Close,
        _ => {
            return twiml(
                "<Message>Reply \"ack N\" or \"close N\" with the alert number.</Message>",
            )
        }
    };
    let Some(tiny) = tiny else {
        return twiml("<Message>Which alert? Reply \"ack N\" with the alert number.</Message>");
    };
    let user = match state.store.user_by_contact("sms", &from).await {
        Ok(Some(u)) => u,
        Ok(None) => return twiml("<Message>This number is not a Klaxon contact.</Message>"),
        Err(_) => return twiml("<Message>Klaxon could not look that up; try again.</Message>"),
    };
    let alert = match state
        .store
        .get_alert(&Identifier::Tiny(tiny), &Default::default())
        .await
    {
        Ok(Some(a)) => a,
        _ => return twiml(&format!("<Message>Alert #{tiny} not found.</Message>")),
    };
    let claim = LinkClaim {
        alert_id: alert.id,
        action,
        user,
        expires_at: i64::MAX,
    };
    match apply(&state, &claim, "SMS").await {
        Ok(o) if o.success => twiml(&format!(
            "<Message>{} #{tiny}: done.</Message>",
            action.verb()
        )),
        Ok(o) => twiml(&format!("<Message>#{tiny}: {}</Message>", esc(&o.status))),
        Err(_) => twiml("<Message>Klaxon could not do that now; try again.</Message>"),
    }
}

async fn voice(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let claim = match state.links.verify(&token, state.clock.now_ms()) {
        Ok(c) => c,
        Err(_) => return twiml("<Say>This page is no longer valid. Goodbye.</Say><Hangup/>"),
    };
    let alert = state
        .store
        .get_alert(&Identifier::Id(claim.alert_id.clone()), &Default::default())
        .await;
    let Ok(Some(alert)) = alert else {
        return twiml("<Say>The alert no longer exists. Goodbye.</Say><Hangup/>");
    };
    twiml(&format!(
        "<Gather numDigits=\"1\" action=\"/api/integrations/twilio/voice/{token}/gather\" method=\"POST\" timeout=\"10\">\
         <Say>Klaxon alert number {}, priority {}. {}. Press 1 to acknowledge. Press 2 to close.</Say></Gather>\
         <Say>No answer received. Goodbye.</Say>",
        alert.tiny_id,
        alert.priority.as_str().trim_start_matches('P'),
        esc(&alert.message)
    ))
}

async fn gather(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let params = form(&body);
    let path = format!("/api/integrations/twilio/voice/{token}/gather");
    if !twilio_signature_ok(&state, &headers, &path, &params) {
        return (StatusCode::FORBIDDEN, twiml("")).into_response();
    }
    let Ok(mut claim) = state.links.verify(&token, state.clock.now_ms()) else {
        return twiml("<Say>This page is no longer valid. Goodbye.</Say><Hangup/>");
    };
    claim.action = match params.get("Digits").map(String::as_str) {
        Some("1") => LinkAction::Ack,
        Some("2") => LinkAction::Close,
        _ => return twiml("<Say>Nothing done. Goodbye.</Say><Hangup/>"),
    };
    match apply(&state, &claim, "Voice").await {
        Ok(o) if o.success => twiml(&format!(
            "<Say>The alert is {}. Goodbye.</Say><Hangup/>",
            if claim.action == LinkAction::Ack {
                "acknowledged"
            } else {
                "closed"
            }
        )),
        _ => twiml("<Say>Klaxon could not do that. Goodbye.</Say><Hangup/>"),
    }
}
