//! The page shell every screen shares (header, navigation, sign-out), and small rendering
//! helpers: times in the viewer's time zone, priority and state badges, error pages.

use super::session::{Viewer, CSRF_FIELD};
use super::ASSET_VERSION;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use klaxon_core::lifecycle::{Alert, Status};
use maud::{html, Markup, DOCTYPE};

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Alerts,
    OnCall,
    Escalations,
    Teams,
    Integrations,
    Profile,
    None,
}

pub fn shell(title: &str, viewer: Option<&Viewer>, section: Section, body: Markup) -> Markup {
    let nav = |href: &str, label: &str, s: Section| {
        html! {
            a href=(href) aria-current=[(section == s).then_some("page")] { (label) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Klaxon" }
                link rel="stylesheet" href={ "/ui/assets/" (*ASSET_VERSION) "/ui.css" };
                script src={ "/ui/assets/" (*ASSET_VERSION) "/htmx.min.js" } defer {}
                script src={ "/ui/assets/" (*ASSET_VERSION) "/ui.js" } defer {}
            }
            // htmx sends the CSRF token as a header on every request it makes.
            body hx-headers=[viewer.map(|v| format!(r#"{{"X-CSRF-Token":"{}"}}"#, v.csrf))] {
                a.skip href="#main" { "Skip to content" }
                @if let Some(v) = viewer {
                    header.top {
                        a.brand href="/ui/alerts" { "Klaxon" }
                        nav aria-label="Main" {
                            (nav("/ui/alerts", "Alerts", Section::Alerts))
                            (nav("/ui/oncall", "On call", Section::OnCall))
                            (nav("/ui/escalations", "Escalations", Section::Escalations))
                            (nav("/ui/teams", "Teams", Section::Teams))
                            @if v.is_admin() {
                                (nav("/ui/integrations", "Integrations", Section::Integrations))
                            }
                            (nav("/ui/profile", "Profile", Section::Profile))
                        }
                        div.me {
                            span title=(v.user.username) { (v.user.username) }
                            form method="post" action="/ui/logout" {
                                (csrf_input(v))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

pub fn csrf_input(v: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(v.csrf); }
}

pub fn page(markup: Markup) -> Response {
    let mut r = Html(markup.into_string()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    r
}

/// An HTML error page (never OpsGenie JSON: the envelope leaves HTML alone).
pub fn error_page(status: StatusCode, viewer: Option<&Viewer>, message: &str) -> Response {
    let body = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p.flash.error role="alert" { (message) }
        p { a href="/ui/alerts" { "Back to alerts" } }
    };
    let mut r = page(shell("Error", viewer, Section::None, body));
    *r.status_mut() = status;
    r
}

pub fn tz(v: &Viewer) -> chrono_tz::Tz {
    klaxon_core::schedule::parse_time_zone(&v.user.time_zone).unwrap_or(chrono_tz::UTC)
}

/// `2026-11-21 14:05` in the viewer's time zone, as a `<time>` with the exact instant.
pub fn when(v: &Viewer, ms: i64) -> Markup {
    let utc: DateTime<Utc> = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    let local = utc.with_timezone(&tz(v));
    html! {
        time datetime=(utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (local.format("%Y-%m-%d %H:%M"))
        }
    }
}

pub fn priority(p: &klaxon_core::alert::Priority) -> Markup {
    let s = p.to_string();
    html! { span class={ "prio " (s) } title={ "Priority " (s) } { (s) } }
}

/// The one word that says where an alert stands.
pub fn state(a: &Alert, now: i64) -> Markup {
    let (class, label) = if a.status == Status::Closed {
        ("closed", "closed")
    } else if a.snoozed && a.snoozed_until.is_some_and(|u| u > now) {
        ("snoozed", "snoozed")
    } else if a.acknowledged {
        ("acked", "acked")
    } else {
        ("open", "open")
    };
    html! { span class={ "state " (class) } { (label) } }
}

pub fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// A value that is a URL becomes a link (opened in a new tab, no referrer).
pub fn value(s: &str) -> Markup {
    if is_url(s) {
        html! { a href=(s) rel="noopener noreferrer" target="_blank" { (s) } }
    } else {
        html! { (s) }
    }
}
