//! My profile: the signed-in person's contact methods (add, remove, "send me a test page"),
//! notification rules (add, edit, remove) and personal calendar-feed link.
//!
//! Contacts and rules go through the same store functions as OpsGenie's
//! `/v2/users/{id}/contacts` and `/notification-rules`, so the same checks apply (addresses per
//! kind, a rule's steps must name the user's contacts, a contact in use cannot be removed). A
//! user declared in the config file has their contacts and rules there: the page shows them as
//! "managed in config" and offers no edits (the handlers refuse them too).
//!
//! A test page is a real outbox delivery without an alert (rendered by
//! [`crate::engine::render::test_payload`]), sent by the outbox worker like any page; the page
//! lists the latest ones with their state, refreshed while one is still on its way.

use super::page::{self, csrf_input, shell, when, Section};
use super::session::Viewer;
use super::{base_url, FormData, UiError};
use crate::app::AppState;
use crate::engine::render::{test_payload, TestPage};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use klaxon_core::alert::Priority;
use klaxon_core::notification::{
    ContactKind, ContactMethod, ContactSpec, Criteria, NotificationRule, Step, TagMatch, Throttle,
};
use klaxon_store::{DeliveryRecord, NewDelivery, StoreError, StoredNotificationRule, StoredUser};
use maud::{html, Markup};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/profile", get(profile_page))
        .route("/ui/profile/tests", get(tests_fragment))
        .route("/ui/profile/contacts", post(add_contact))
        .route("/ui/profile/contacts/{id}/delete", post(delete_contact))
        .route("/ui/profile/contacts/{id}/test", post(send_test))
        .route("/ui/profile/rules", post(add_rule))
        .route("/ui/profile/rules/{id}", post(update_rule))
        .route("/ui/profile/rules/{id}/delete", post(delete_rule))
        .route("/ui/profile/calendar", post(new_calendar_link))
        .route("/ui/profile/calendar/delete", post(revoke_calendar_link))
}

const KINDS: [(ContactKind, &str, &str); 6] = [
    (ContactKind::Email, "E-mail", "alice@example.com"),
    (ContactKind::Sms, "SMS", "+491701234567"),
    (ContactKind::Voice, "Voice call", "+491701234567"),
    (
        ContactKind::Mobile,
        "Push (ntfy)",
        "alice-phone or https://ntfy.example.com/alice",
    ),
    (
        ContactKind::Slack,
        "Slack",
        "https://hooks.slack.com/services/…",
    ),
    (ContactKind::Webhook, "Webhook", "https://example.com/page"),
];
/// Test pages listed on the profile.
const RECENT_TESTS: i64 = 10;
/// One test page per contact per this long, so a button cannot be used to flood a phone.
const TEST_COOLDOWN_MS: i64 = 60_000;
/// Steps a rule form offers (one more than the rule has, at least three).
const MIN_STEP_ROWS: usize = 3;

fn kind_label(k: ContactKind) -> &'static str {
    KINDS
        .iter()
        .find(|(x, _, _)| *x == k)
        .map_or("?", |(_, l, _)| l)
}

type Params = Query<HashMap<String, String>>;

fn back(key: &str, msg: &str, anchor: &str) -> Response {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, msg)
        .finish();
    Redirect::to(&format!("/ui/profile?{q}#{anchor}")).into_response()
}

/// The viewer's directory record (for `managed`).
async fn me(state: &AppState, viewer: &Viewer) -> Result<Option<StoredUser>, UiError> {
    Ok(state.store.user_by_name_or_id(&viewer.user.id).await?)
}

/// The viewer's record if their contacts and rules may change here, else the page to show.
async fn editable(
    state: &AppState,
    viewer: &Viewer,
) -> Result<Result<StoredUser, Response>, UiError> {
    let Some(u) = me(state, viewer).await? else {
        return Ok(Err(page::error_page(
            StatusCode::NOT_FOUND,
            Some(viewer),
            "Your user no longer exists.",
        )));
    };
    if u.managed {
        return Ok(Err(page::error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Your contact methods and notification rules are managed in the config file; change them there.",
        )));
    }
    Ok(Ok(u))
}

/// A store refusal as a message for the person; anything else is a server error.
fn refusal(e: StoreError) -> Result<String, UiError> {
    match e {
        StoreError::Invalid(m) | StoreError::Conflict(m) => Ok(m),
        e => Err(e.into()),
    }
}

// ---------------------------------------------------------------- page

async fn profile_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, UiError> {
    let Some(user) = me(&state, &viewer).await? else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "Your user no longer exists.",
        ));
    };
    let contacts = state.store.contact_methods(&user.id).await?;
    let rules = state.store.notification_rules(&user.id).await?;
    let tests = state
        .store
        .ui_test_deliveries(&user.id, RECENT_TESTS)
        .await?;
    let calendar_since = state.store.ui_calendar_token_since(&user.id).await?;
    let editable = !user.managed && viewer.can_act();
    let feed = format!(
        "{}{}/v2/schedules/on-calls/{}.ics",
        base_url(&state, &headers),
        state.opsgenie_prefix,
        crate::http::opsgenie::schedules::path_segment(&user.username)
    );
    let body = html! {
        h1 { "My profile" }
        p.muted {
            (user.username)
            @if !user.full_name.is_empty() { " · " (user.full_name) }
            " · role " (user.role) " · time zone " (user.time_zone)
        }
        @if let Some(f) = params.get("done") { p.flash role="status" { (f) } }
        @if let Some(f) = params.get("problem") { p.flash.error role="alert" { (f) } }
        @if user.managed {
            p.panel #managed {
                strong { "Managed in config. " }
                "Your contact methods and notification rules are declared in Klaxon's config file; change them there. You can still send yourself test pages."
            }
        }
        div.cols {
            div {
                h2 #contacts { "Contact methods" }
                (contacts_table(&viewer, &contacts, editable, user.managed))
                @if editable { (contact_form(&viewer)) }
                h2 #rules { "Notification rules" }
                @if rules.is_empty() {
                    p.muted { "No notification rules: when you are paged, nothing is sent to you." }
                }
                @for r in &rules { (rule_panel(&viewer, r, &contacts, editable, user.managed)) }
                @if editable && !contacts.is_empty() {
                    details.panel {
                        summary { "Add a notification rule" }
                        (rule_form(&viewer, None, &contacts))
                    }
                }
            }
            div {
                h2 #tests { "Test pages" }
                (tests_list(&viewer, &tests))
                h2 #calendar { "Calendar feed" }
                p { "Subscribe to your on-call shifts from every schedule in Google Calendar, Outlook or Apple Calendar." }
                @match calendar_since {
                    Some(t) => p.muted { "You made a calendar link on " (when(&viewer, t)) ". Klaxon keeps only a hash of it; make a new one if you lost it (the old link stops working)." },
                    None => p.muted { "You have no calendar link yet." },
                }
                p.muted { "Feed address (the link adds your token): " code { (feed) } }
                @if viewer.can_act() {
                    div.actions {
                        form method="post" action="/ui/profile/calendar" {
                            (csrf_input(&viewer))
                            button.primary type="submit" { @if calendar_since.is_some() { "Make a new calendar link" } @else { "Make my calendar link" } }
                        }
                        @if calendar_since.is_some() {
                            form method="post" action="/ui/profile/calendar/delete" {
                                (csrf_input(&viewer))
                                button.danger type="submit" { "Revoke the link" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::page(shell(
        "My profile",
        Some(&viewer),
        Section::Profile,
        body,
    )))
}

fn contacts_table(
    viewer: &Viewer,
    contacts: &[ContactMethod],
    editable: bool,
    managed: bool,
) -> Markup {
    html! {
        @if contacts.is_empty() {
            p.muted { "No contact methods yet." }
        } @else {
            ul.contacts {
                @for c in contacts {
                    li data-contact=(c.id()) {
                        div.what {
                            strong { (kind_label(c.kind())) }
                            @if !c.enabled() { " " span.muted { "(disabled)" } }
                            div.addr { (c.to()) }
                        }
                        div.actions {
                            @if viewer.can_act() {
                                form method="post" action={ "/ui/profile/contacts/" (c.id()) "/test" } {
                                    (csrf_input(viewer))
                                    button type="submit" { "Send me a test page" }
                                }
                            }
                            @if editable {
                                form method="post" action={ "/ui/profile/contacts/" (c.id()) "/delete" } {
                                    (csrf_input(viewer))
                                    button.danger type="submit" aria-label={ "Remove " (c.to()) } { "Remove" }
                                }
                            } @else if managed {
                                span.muted { "managed in config" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn contact_form(viewer: &Viewer) -> Markup {
    html! {
        details.panel open[false] {
            summary { "Add a contact method" }
            form method="post" action="/ui/profile/contacts" {
                (csrf_input(viewer))
                label for="ct-kind" { "Kind" }
                select #ct-kind name="method" {
                    @for (k, label, _) in KINDS { option value=(k.as_str()) { (label) } }
                }
                label for="ct-to" { "Address" }
                input #ct-to type="text" name="to" required maxlength="500" autocomplete="off"
                    placeholder="e-mail, +E.164 number, ntfy topic or URL";
                p.muted { @for (_, label, ex) in KINDS { (label) ": " (ex) br; } }
                p { button.primary type="submit" { "Add contact method" } }
            }
        }
    }
}

fn criteria_text(c: &Criteria) -> String {
    let mut parts = vec![];
    if !c.priorities.is_empty() {
        parts.push(
            c.priorities
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("/"),
        );
    }
    if !c.tags.is_empty() {
        let how = match c.tag_match {
            TagMatch::Any => "any of",
            TagMatch::All => "all of",
        };
        parts.push(format!("tags {how} {}", c.tags.join(", ")));
    }
    if parts.is_empty() {
        "every alert".into()
    } else {
        parts.join(", ")
    }
}

fn rule_panel(
    viewer: &Viewer,
    r: &StoredNotificationRule,
    contacts: &[ContactMethod],
    editable: bool,
    managed: bool,
) -> Markup {
    let contact = |id: &str| {
        contacts
            .iter()
            .find(|c| c.id() == id)
            .map(|c| format!("{} {}", kind_label(c.kind()), c.to()))
            .unwrap_or_else(|| id.to_string())
    };
    html! {
        div.panel.rule data-rule=(r.rule.name) {
            strong { (r.rule.name) }
            span.muted { " · " (criteria_text(&r.rule.criteria)) @if !r.rule.enabled { " · disabled" } }
            ol.steps {
                @for s in &r.rule.steps {
                    li {
                        "after " (s.send_after) ": " (contact(&s.contact))
                        @if !s.enabled { span.muted { " (disabled)" } }
                    }
                }
            }
            @if let Some(l) = r.rule.loop_after { div.muted { "repeats " (l) " after the last step until acknowledged" } }
            @if editable {
                details {
                    summary { "Edit" }
                    (rule_form(viewer, Some(r), contacts))
                    form method="post" action={ "/ui/profile/rules/" (r.id) "/delete" } {
                        (csrf_input(viewer))
                        button.danger type="submit" { "Delete this rule" }
                    }
                }
            } @else if managed {
                div.muted { "managed in config" }
            }
        }
    }
}

fn rule_form(
    viewer: &Viewer,
    r: Option<&StoredNotificationRule>,
    contacts: &[ContactMethod],
) -> Markup {
    let (action, prefix) = match r {
        Some(r) => (format!("/ui/profile/rules/{}", r.id), format!("r{}", r.id)),
        None => ("/ui/profile/rules".to_string(), "new".to_string()),
    };
    let rule = r.map(|r| &r.rule);
    let steps: Vec<&Step> = rule.map(|r| r.steps.iter().collect()).unwrap_or_default();
    let rows = (steps.len() + 1).max(MIN_STEP_ROWS);
    let has_prio =
        |p: &str| rule.is_some_and(|r| r.criteria.priorities.iter().any(|x| x.as_str() == p));
    html! {
        form method="post" action=(action) {
            (csrf_input(viewer))
            label for={ (prefix) "-name" } { "Name" }
            input id={ (prefix) "-name" } type="text" name="name" required maxlength="100"
                value=(rule.map(|r| r.name.as_str()).unwrap_or(""));
            fieldset {
                legend { "Priorities (none ticked: every alert)" }
                @for p in ["P1", "P2", "P3", "P4", "P5"] {
                    label.inline { input type="checkbox" name="priority" value=(p) checked[has_prio(p)]; " " (p) }
                }
            }
            label for={ (prefix) "-tags" } { "Only alerts with any of these tags (comma-separated, optional)" }
            input id={ (prefix) "-tags" } type="text" name="tags" maxlength="500"
                value=(rule.map(|r| r.criteria.tags.join(", ")).unwrap_or_default());
            fieldset {
                legend { "Steps: which contact, how long after being paged (0s, 1m, 5m…)" }
                @for i in 0..rows {
                    @let s = steps.get(i);
                    div.step {
                        select name="step_contact" aria-label={ "Step " (i + 1) " contact" } {
                            option value="" { "—" }
                            @for c in contacts {
                                option value=(c.id()) selected[s.is_some_and(|s| s.contact == c.id())] { (kind_label(c.kind())) " " (c.to()) }
                            }
                        }
                        input type="text" name="step_after" aria-label={ "Step " (i + 1) " after" } size="6"
                            value=(s.map(|s| s.send_after.to_string()).unwrap_or_else(|| if i == 0 { "0s".into() } else { String::new() }));
                    }
                }
            }
            label for={ (prefix) "-loop" } { "Repeat after the last step (optional, e.g. 10m)" }
            input id={ (prefix) "-loop" } type="text" name="loop_after" size="6"
                value=(rule.and_then(|r| r.loop_after).map(|l| l.to_string()).unwrap_or_default());
            label.inline { input type="checkbox" name="enabled" value="true" checked[rule.is_none_or(|r| r.enabled)]; " Enabled" }
            p { button.primary type="submit" { @if r.is_some() { "Save rule" } @else { "Add rule" } } }
        }
    }
}

fn tests_list(viewer: &Viewer, tests: &[DeliveryRecord]) -> Markup {
    let busy = tests
        .iter()
        .any(|t| matches!(t.state.as_str(), "pending" | "sending" | "retrying"));
    html! {
        // While a test page is on its way the list refreshes itself (htmx); without
        // JavaScript a reload shows the same.
        div #test-pages hx-get=[busy.then_some("/ui/profile/tests")] hx-trigger=[busy.then_some("every 1s")] hx-swap="outerHTML" {
            @if tests.is_empty() {
                p.muted { "No test pages yet: use “Send me a test page” on a contact method." }
            } @else {
                ol.timeline {
                    @for t in tests {
                        li data-state=(t.state) {
                            (when(viewer, t.created_at))
                            strong { (t.channel) } " to " (t.target) ": "
                            span class={ "delivery " (t.state) } { (t.state) }
                            @if t.attempts > 1 { span.muted { " after " (t.attempts) " attempts" } }
                            @if let Some(s) = t.sent_at { span.muted.sent-at { " at " (when(viewer, s)) } }
                            @if !t.last_error.is_empty() { div.muted { (t.last_error) } }
                        }
                    }
                }
            }
        }
    }
}

async fn tests_fragment(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, UiError> {
    let tests = state
        .store
        .ui_test_deliveries(&viewer.user.id, RECENT_TESTS)
        .await?;
    Ok(page::page(tests_list(&viewer, &tests)))
}

// ---------------------------------------------------------------- contacts

async fn add_contact(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let user = match editable(&state, &viewer).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let form = FormData::parse(&body);
    let kind = match form.get("method").unwrap_or("").parse::<ContactKind>() {
        Ok(k) => k,
        Err(e) => return Ok(back("problem", &e.to_string(), "contacts")),
    };
    let contact = match ContactMethod::new(ContactSpec {
        id: uuid::Uuid::now_v7().to_string(),
        kind,
        to: form.get("to").unwrap_or("").to_string(),
        enabled: true,
    }) {
        Ok(c) => c,
        Err(e) => return Ok(back("problem", &e.to_string(), "contacts")),
    };
    match state
        .store
        .create_contact_method(&user.id, &contact, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(back(
            "done",
            &format!("Added {} {}.", kind_label(kind), contact.to()),
            "contacts",
        )),
        Err(e) => Ok(back("problem", &refusal(e)?, "contacts")),
    }
}

async fn delete_contact(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let user = match editable(&state, &viewer).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    match state
        .store
        .delete_contact_method(&user.id, &id, state.clock.now_ms())
        .await
    {
        Ok(Some(true)) => Ok(back("done", "Contact method removed.", "contacts")),
        Ok(_) => Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "You have no such contact method.",
        )),
        Err(e) => Ok(back("problem", &refusal(e)?, "contacts")),
    }
}

/// "Send me a test page": one delivery in the outbox, sent by the outbox worker.
async fn send_test(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let Some(user) = me(&state, &viewer).await? else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "Your user no longer exists.",
        ));
    };
    let Some(contact) = state
        .store
        .contact_methods(&user.id)
        .await?
        .into_iter()
        .find(|c| c.id() == id)
    else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "You have no such contact method.",
        ));
    };
    let now = state.clock.now_ms();
    let target = contact.to().to_string();
    let recent = state
        .store
        .ui_test_deliveries(&user.id, RECENT_TESTS)
        .await?;
    if recent
        .iter()
        .any(|t| t.target == target && t.created_at > now - TEST_COOLDOWN_MS)
    {
        return Ok(back(
            "problem",
            "A test page went to this contact less than a minute ago; wait a moment before sending another.",
            "tests",
        ));
    }
    let key = format!("test/{}/{}/{}", user.id, contact.id(), uuid::Uuid::now_v7());
    let profile_url = format!("{}/ui/profile", base_url(&state, &headers));
    let (channel, payload) = test_payload(
        contact.kind(),
        &target,
        &TestPage {
            username: &user.username,
            at: now,
            profile_url: &profile_url,
            key: &key,
        },
    );
    // SMS and calls count against the same per-number limit as real pages.
    if contact.kind().is_throttled() {
        let sent = state
            .store
            .recent_sends(channel, &target, now - Throttle::PHONE.window_ms())
            .await?;
        let t = Throttle::PHONE.schedule(&sent, now);
        if t > now {
            return Ok(back(
                "problem",
                &format!(
                    "Too many messages went to {target} lately; try again after {}.",
                    klaxon_core::time::format_iso(t)
                ),
                "tests",
            ));
        }
    }
    state
        .store
        .enqueue_deliveries(
            &[NewDelivery {
                key,
                alert_id: None,
                user_id: Some(user.id.clone()),
                username: user.username.clone(),
                contact: contact.id().to_string(),
                channel: channel.to_string(),
                target: target.clone(),
                payload: payload.to_string(),
                due_at: now,
            }],
            now,
        )
        .await?;
    state.outbox_wake.notify_one();
    Ok(back(
        "done",
        &format!(
            "Test page queued for {} {target}.",
            kind_label(contact.kind())
        ),
        "tests",
    ))
}

// ---------------------------------------------------------------- notification rules

/// A rule from the form; a message says what to fix.
fn rule_from(form: &FormData) -> Result<NotificationRule, String> {
    let name = form.get("name").unwrap_or("").trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("Give the rule a name of 1 to 100 characters.".into());
    }
    let mut priorities = vec![];
    for p in form.all("priority") {
        priorities.push(
            p.parse::<Priority>()
                .map_err(|e| format!("priority: {e}"))?,
        );
    }
    let tags: Vec<String> = form
        .get("tags")
        .unwrap_or("")
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let (contacts, afters) = (form.all("step_contact"), form.all("step_after"));
    let mut steps = vec![];
    for (i, contact) in contacts.iter().enumerate() {
        if contact.is_empty() {
            continue;
        }
        let after = afters.get(i).map(|a| a.trim()).unwrap_or("");
        let after = if after.is_empty() { "0s" } else { after };
        steps.push(Step {
            send_after: after.parse().map_err(|e| format!("step {}: {e}", i + 1))?,
            contact: contact.to_string(),
            enabled: true,
        });
    }
    if steps.is_empty() {
        return Err("Choose a contact method for at least one step.".into());
    }
    let loop_after = match form
        .get("loop_after")
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(l) => Some(l.parse().map_err(|e| format!("repeat: {e}"))?),
        None => None,
    };
    Ok(NotificationRule {
        name,
        criteria: Criteria {
            priorities,
            tags,
            tag_match: TagMatch::Any,
        },
        steps,
        loop_after,
        enabled: form.get("enabled") == Some("true"),
    })
}

async fn add_rule(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let user = match editable(&state, &viewer).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let rule = match rule_from(&FormData::parse(&body)) {
        Ok(r) => r,
        Err(m) => return Ok(back("problem", &m, "rules")),
    };
    match state
        .store
        .create_notification_rule(&user.id, &rule, None, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(back(
            "done",
            &format!("Rule {:?} added.", rule.name),
            "rules",
        )),
        Err(e) => Ok(back("problem", &refusal(e)?, "rules")),
    }
}

async fn update_rule(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let user = match editable(&state, &viewer).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let rule = match rule_from(&FormData::parse(&body)) {
        Ok(r) => r,
        Err(m) => return Ok(back("problem", &m, "rules")),
    };
    match state
        .store
        .update_notification_rule(&user.id, &id, &rule, None, state.clock.now_ms())
        .await
    {
        Ok(Some(true)) => Ok(back(
            "done",
            &format!("Rule {:?} saved.", rule.name),
            "rules",
        )),
        Ok(_) => Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "You have no such notification rule.",
        )),
        Err(e) => Ok(back("problem", &refusal(e)?, "rules")),
    }
}

async fn delete_rule(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let user = match editable(&state, &viewer).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    match state
        .store
        .delete_notification_rule(&user.id, &id, state.clock.now_ms())
        .await
    {
        Ok(Some(true)) => Ok(back("done", "Rule deleted.", "rules")),
        Ok(_) => Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "You have no such notification rule.",
        )),
        Err(e) => Ok(back("problem", &refusal(e)?, "rules")),
    }
}

// ---------------------------------------------------------------- calendar link

/// Makes (or replaces) the viewer's calendar token and shows the link once, in the answer to
/// the POST (so it is in no URL or history entry), as the Schedule API's calendar-token call.
async fn new_calendar_link(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let token = crate::http::opsgenie::schedules::new_calendar_token();
    state
        .store
        .set_calendar_token(
            &viewer.user.id,
            &crate::keys::hash_key(&token),
            state.clock.now_ms(),
        )
        .await?;
    let url = crate::http::opsgenie::schedules::calendar_feed_url(
        &base_url(&state, &headers),
        &state.opsgenie_prefix,
        &viewer.user.username,
        &token,
    );
    let body = html! {
        p { a href="/ui/profile" { "← My profile" } }
        h1 { "Your calendar link" }
        p.flash role="status" { "Copy this link now: Klaxon keeps only a hash of it and cannot show it again. Any older link stopped working." }
        pre.panel { code #calendar-url { (url) } }
        p { "Add it in your calendar app as a subscription (“From URL” in Google Calendar, “Subscribe to calendar” in Outlook and Apple Calendar). It lists your shifts from 30 days back to 90 days ahead." }
    };
    Ok(page::page(shell(
        "Calendar link",
        Some(&viewer),
        Section::Profile,
        body,
    )))
}

async fn revoke_calendar_link(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, UiError> {
    if state.store.delete_calendar_token(&viewer.user.id).await? {
        Ok(back(
            "done",
            "Calendar link revoked: calendars subscribed to it stop updating.",
            "calendar",
        ))
    } else {
        Ok(back("problem", "You have no calendar link.", "calendar"))
    }
}
