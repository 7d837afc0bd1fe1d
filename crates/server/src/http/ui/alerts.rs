//! The alert list (search, quick filters, sort, keyset paging, live refresh, bulk actions)
//! and the alert page (details, timeline, notes, recipients, actions).
//!
//! Every action goes through the same writer as the OpsGenie API, as a [`WriteOp`] whose actor
//! is the signed-in person `via Web`, so the timeline tells who did what from where.

use super::page::{self, csrf_input, shell, when, Section};
use super::session::Viewer;
use super::{FormData, UiError};
use crate::app::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use klaxon_core::alert::{ResponderKind, ResponderRef};
use klaxon_core::lifecycle::{Action, Actor, Alert, Status};
use klaxon_core::query::{Field, Op, Query as Search, Term};
use klaxon_store::{
    ActionRequest, Cursor, Identifier, LogPage, UiAlertQuery, UiSort, WriteKind, WriteOp,
};
use maud::{html, Markup};
use std::collections::HashMap;

/// Alerts per page.
pub const PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/alerts", get(list_page))
        .route("/ui/alerts/list", get(list_fragment))
        .route("/ui/alerts/bulk", post(bulk))
        .route("/ui/alerts/{tiny}", get(alert_page))
        .route("/ui/alerts/{tiny}/timeline", get(timeline_fragment))
        .route("/ui/alerts/{tiny}/act", post(act))
}

type Params = Query<HashMap<String, String>>;

/// The quick filters, in the order the chips show them.
const FILTERS: [(&str, &str); 4] = [
    ("open", "Open"),
    ("unacked", "Unacked"),
    ("mine", "Mine"),
    ("p12", "P1–P2"),
];

/// What the list shows: search text, quick filters, order and position.
struct ListView {
    q: String,
    filters: Vec<&'static str>,
    sort: UiSort,
    after: Option<String>,
}

impl ListView {
    fn from_params(p: &HashMap<String, String>) -> ListView {
        // No `f` at all means the default view, open alerts; `f=` means no quick filter.
        let filters = match p.get("f") {
            None => vec!["open"],
            Some(f) => FILTERS
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| f.split(',').any(|x| x == *k))
                .collect(),
        };
        ListView {
            q: p.get("q").cloned().unwrap_or_default(),
            filters,
            sort: p
                .get("sort")
                .and_then(|s| UiSort::parse(s))
                .unwrap_or_default(),
            after: p.get("after").filter(|a| !a.is_empty()).cloned(),
        }
    }

    /// The query string of this view with some changes.
    fn href(&self, base: &str, filters: &[&str], after: Option<&str>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        s.append_pair("f", &filters.join(","));
        if self.sort != UiSort::default() {
            s.append_pair("sort", self.sort.as_str());
        }
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        format!("{base}?{}", s.finish())
    }

    fn toggled(&self, key: &'static str) -> Vec<&'static str> {
        let mut f: Vec<&'static str> = self.filters.clone();
        if let Some(i) = f.iter().position(|k| *k == key) {
            f.remove(i);
        } else {
            f.push(key);
        }
        f
    }

    /// The search and the quick filters as one query tree.
    fn search(&self, viewer: &Viewer) -> Result<Search, String> {
        let typed = klaxon_core::query::parse(&self.q).map_err(|e| e.to_string())?;
        let term = |field, op, value: &str| {
            Search::Term(Term {
                field,
                op,
                value: value.to_string(),
            })
        };
        let mut all = vec![typed];
        for f in &self.filters {
            all.push(match *f {
                "open" => term(Field::Status, Op::Eq, "open"),
                "unacked" => term(Field::Acknowledged, Op::Eq, "false"),
                "mine" => term(Field::Owner, Op::Eq, &viewer.user.username),
                _ => term(Field::Priority, Op::Le, "P2"),
            });
        }
        Ok(Search::And(all))
    }
}

async fn load_list(
    state: &AppState,
    viewer: &Viewer,
    view: &ListView,
) -> Result<Result<(Vec<Alert>, Option<String>), String>, UiError> {
    let query = match view.search(viewer) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    let after = match &view.after {
        None => None,
        Some(a) => match Cursor::decode(a) {
            Some(c) => Some(c),
            None => {
                return Ok(Err(
                    "The page link is not valid; start from the first page.".into(),
                ))
            }
        },
    };
    let mut alerts = match state
        .store
        .ui_list_alerts(&UiAlertQuery {
            query,
            visibility: viewer.visibility(),
            sort: view.sort,
            after,
            limit: PAGE + 1,
        })
        .await
    {
        Ok(a) => a,
        Err(klaxon_store::StoreError::Invalid(m)) => return Ok(Err(m)),
        Err(e) => return Err(e.into()),
    };
    let next = if alerts.len() as i64 > PAGE {
        alerts.truncate(PAGE as usize);
        alerts.last().map(|a| view.sort.cursor_after(a).encode())
    } else {
        None
    };
    Ok(Ok((alerts, next)))
}

fn list_markup(
    state: &AppState,
    viewer: &Viewer,
    view: &ListView,
    loaded: &Result<(Vec<Alert>, Option<String>), String>,
) -> Markup {
    let now = state.clock.now_ms();
    html! {
        @match loaded {
            Err(problem) => {
                p.flash.error role="alert" { "Search problem: " (problem) }
            }
            Ok((alerts, next)) => {
                @if alerts.is_empty() {
                    p.muted { "No alerts match." }
                } @else {
                    ul.alerts aria-label="Alerts" {
                        @for a in alerts {
                            li data-tiny=(a.tiny_id) {
                                @if viewer.can_act() {
                                    input type="checkbox" name="alert" value=(a.tiny_id)
                                        id={ "sel-" (a.tiny_id) } aria-label={ "Select alert #" (a.tiny_id) };
                                } @else { span {} }
                                (page::priority(&a.priority))
                                div.msg {
                                    a href={ "/ui/alerts/" (a.tiny_id) } { (a.message) }
                                    div.meta {
                                        (page::state(a, now))
                                        span { "#" (a.tiny_id) }
                                        @if a.count > 1 { span { "×" (a.count) } }
                                        @if !a.owner.is_empty() { span { "owner " (a.owner) } }
                                        @for t in a.tags.iter().take(5) { span.tag { (t) } }
                                    }
                                }
                                div.when { (when(viewer, a.created_at)) }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if view.after.is_some() {
                        a.button href=(view.href("/ui/alerts", &view.filters, None)) { "First page" }
                    } @else { span {} }
                    @if let Some(n) = next {
                        a.button href=(view.href("/ui/alerts", &view.filters, Some(n))) rel="next" { "Next page" }
                    }
                }
            }
        }
    }
}

async fn list_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let view = ListView::from_params(&params);
    let loaded = load_list(&state, &viewer, &view).await?;
    let flash = params.get("done").cloned();
    let body = html! {
        h1 { "Alerts" }
        @if let Some(f) = flash {
            p.flash role="status" { (f) }
        }
        form.search method="get" action="/ui/alerts" role="search" {
            label.sr-only for="q" { "Search alerts" }
            input type="search" id="q" name="q" value=(view.q)
                placeholder="status:open AND priority:P1 AND tag:db";
            input type="hidden" name="f" value=(view.filters.join(","));
            label.sr-only for="sort" { "Sort" }
            select id="sort" name="sort" {
                @for (s, label) in [(UiSort::Newest, "Newest"), (UiSort::Oldest, "Oldest"), (UiSort::Priority, "Priority"), (UiSort::LastOccurred, "Last occurred")] {
                    option value=(s.as_str()) selected[view.sort == s] { (label) }
                }
            }
            button type="submit" { "Search" }
        }
        div.chips role="group" aria-label="Quick filters" {
            @for (key, label) in FILTERS {
                a.chip href=(view.href("/ui/alerts", &view.toggled(key), None))
                    aria-pressed=(if view.filters.contains(&key) { "true" } else { "false" }) { (label) }
            }
        }
        form #bulk method="post" action="/ui/alerts/bulk" {
            (csrf_input(&viewer))
            input type="hidden" name="back" value=(view.href("/ui/alerts", &view.filters, view.after.as_deref()));
            div.bulk {
                @if viewer.can_act() {
                    button type="submit" name="action" value="ack" { "Acknowledge selected" }
                    button type="submit" name="action" value="close" { "Close selected" }
                }
                span #live-status .live aria-live="polite" {}
            }
            // Only the first page refreshes by itself: a later page would shift under the reader.
            div #alert-list data-live=[view.after.is_none().then(|| view.href("/ui/alerts/list", &view.filters, None))] {
                (list_markup(&state, &viewer, &view, &loaded))
            }
        }
    };
    Ok(page::page(shell(
        "Alerts",
        Some(&viewer),
        Section::Alerts,
        body,
    )))
}

async fn list_fragment(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let view = ListView::from_params(&params);
    let loaded = load_list(&state, &viewer, &view).await?;
    Ok(page::page(list_markup(&state, &viewer, &view, &loaded)))
}

/// A write by the signed-in person, through the shared writer.
fn web_op(
    state: &AppState,
    viewer: &Viewer,
    alert_id: &str,
    action: ActionRequest,
    note: Option<String>,
) -> WriteOp {
    WriteOp {
        request_id: uuid::Uuid::now_v7().to_string(),
        integration_id: String::new(),
        integration_name: "Web".into(),
        integration_type: "Web".into(),
        team_id: None,
        actor: Actor {
            user: viewer.user.username.clone(),
            via: "Web".into(),
            source: "UI".into(),
        },
        now: state.clock.now_ms(),
        kind: WriteKind::Act {
            target: Identifier::Id(alert_id.to_string()),
            action,
            note,
        },
    }
}

fn forbidden_for_stakeholder(viewer: &Viewer) -> Option<Response> {
    (!viewer.can_act()).then(|| {
        page::error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Stakeholders can follow alerts but not act on them.",
        )
    })
}

async fn bulk(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = forbidden_for_stakeholder(&viewer) {
        return Ok(r);
    }
    let form = FormData::parse(&body);
    let action = match form.get("action") {
        Some("ack") => Action::Acknowledge,
        Some("close") => Action::Close,
        _ => {
            return Ok(page::error_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&viewer),
                "Choose Acknowledge or Close.",
            ))
        }
    };
    let tinies: Vec<i64> = form
        .all("alert")
        .iter()
        .filter_map(|t| t.parse().ok())
        .take(super::alerts::PAGE as usize * 2)
        .collect();
    let visibility = viewer.visibility();
    let mut ops = Vec::new();
    for t in tinies {
        if let Some(a) = state.store.ui_alert(t, &visibility).await? {
            ops.push(web_op(
                &state,
                &viewer,
                &a.id,
                ActionRequest::Ready(action.clone()),
                None,
            ));
        }
    }
    // Sent together, the writes share one commit.
    let results =
        futures_util::future::join_all(ops.into_iter().map(|op| state.writer.write(op))).await;
    let mut done = 0;
    for r in results {
        if r?.success {
            done += 1;
        }
    }
    let verb = if matches!(action, Action::Close) {
        "Closed"
    } else {
        "Acknowledged"
    };
    let back = form
        .get("back")
        .filter(|b| b.starts_with("/ui/alerts?"))
        .unwrap_or("/ui/alerts?f=open");
    let msg = form_urlencoded::Serializer::new(String::new())
        .append_pair("done", &format!("{verb} {done} alert(s)."))
        .finish();
    Ok(Redirect::to(&format!("{back}&{msg}")).into_response())
}

async fn find(state: &AppState, viewer: &Viewer, tiny: &str) -> Result<Option<Alert>, UiError> {
    let Ok(t) = tiny.parse::<i64>() else {
        return Ok(None);
    };
    Ok(state.store.ui_alert(t, &viewer.visibility()).await?)
}

fn not_found(viewer: &Viewer) -> Response {
    page::error_page(
        StatusCode::NOT_FOUND,
        Some(viewer),
        "No such alert, or it belongs to a team you are not in.",
    )
}

/// The details key that holds the runbook, if one does and its value is a link.
fn runbook(a: &Alert) -> Option<&str> {
    a.details
        .iter()
        .find(|(k, v)| k.to_ascii_lowercase().contains("runbook") && page::is_url(v))
        .map(|(_, v)| v.as_str())
}

async fn timeline_markup(state: &AppState, viewer: &Viewer, a: &Alert) -> Result<Markup, UiError> {
    let page = LogPage {
        after: None,
        backwards: false,
        descending: true,
        limit: 100,
    };
    let logs = state.store.list_logs(&a.id, &page).await?;
    let notes = state.store.list_notes(&a.id, &page).await?;
    let recipients = state.store.list_recipients(&a.id).await?;
    Ok(html! {
        section aria-labelledby="h-recipients" {
            h2 #h-recipients { "Recipients" }
            @if recipients.is_empty() {
                p.muted { "Nobody has been notified yet." }
            } @else {
                table.grid {
                    thead { tr { th { "Who" } th { "State" } th { "How" } th { "Updated" } } }
                    tbody {
                        @for r in &recipients {
                            tr { td { (r.username) } td { (r.state) } td { (r.method) } td { (when(viewer, r.updated_at)) } }
                        }
                    }
                }
            }
        }
        section aria-labelledby="h-notes" {
            h2 #h-notes { "Notes" }
            @if notes.is_empty() { p.muted { "No notes." } }
            ol.timeline {
                @for n in &notes {
                    li { (when(viewer, n.created_at)) strong { (n.owner) } ": " (n.note) }
                }
            }
        }
        section aria-labelledby="h-timeline" {
            h2 #h-timeline { "Timeline" }
            ol.timeline #timeline {
                @for l in &logs {
                    li { (when(viewer, l.created_at)) (l.log) }
                }
            }
        }
    })
}

async fn alert_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(tiny): Path<String>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let Some(a) = find(&state, &viewer, &tiny).await? else {
        return Ok(not_found(&viewer));
    };
    let now = state.clock.now_ms();
    let result = match params.get("req") {
        Some(r) => state.store.get_request(r).await?,
        None => None,
    };
    let users = if viewer.can_act() {
        state.store.ui_usernames().await?
    } else {
        vec![]
    };
    let open = a.status == Status::Open;
    let action = |value: &str, label: &str, primary: bool| {
        html! {
            form method="post" action={ "/ui/alerts/" (a.tiny_id) "/act" } {
                (csrf_input(&viewer))
                input type="hidden" name="action" value=(value);
                button.primary[primary] type="submit" { (label) }
            }
        }
    };
    let live_url = format!("/ui/alerts/{}/timeline", a.tiny_id);
    let body = html! {
        p { a href="/ui/alerts" { "← Alerts" } }
        @if let Some(r) = &result {
            @if r.success {
                p.flash role="status" { "Done: " (r.action) "." }
            } @else {
                p.flash.error role="alert" { (r.action) " did nothing: " (r.status) }
            }
        }
        h1 { (page::priority(&a.priority)) " " (a.message) }
        p.muted {
            (page::state(&a, now)) " · #" (a.tiny_id) " · created " (when(&viewer, a.created_at))
            @if a.count > 1 { " · occurred " (a.count) " times, last " (when(&viewer, a.last_occurred_at)) }
            @if !a.owner.is_empty() { " · owner " (a.owner) }
            @if let Some(by) = &a.acknowledged_by { " · acked by " (by) }
            @if let Some(by) = &a.closed_by { " · closed by " (by) }
            @if let (true, Some(u)) = (a.snoozed, a.snoozed_until) { " · snoozed until " (when(&viewer, u)) }
        }
        @if let Some(url) = runbook(&a) {
            a.runbook href=(url) rel="noopener noreferrer" target="_blank" { "Open runbook ↗" }
        }
        @if viewer.can_act() {
            div.actions role="group" aria-label="Actions" {
                @if open {
                    @if a.acknowledged {
                        (action("unack", "Unacknowledge", false))
                    } @else {
                        (action("ack", "Acknowledge", true))
                    }
                    (action("close", "Close", false))
                    form method="post" action={ "/ui/alerts/" (a.tiny_id) "/act" } {
                        (csrf_input(&viewer))
                        input type="hidden" name="action" value="snooze";
                        label.sr-only for="snooze-for" { "Snooze for" }
                        select #snooze-for name="minutes" {
                            option value="15" { "15 min" } option value="60" selected { "1 hour" }
                            option value="240" { "4 hours" } option value="1440" { "1 day" }
                        }
                        button type="submit" { "Snooze" }
                    }
                    form method="post" action={ "/ui/alerts/" (a.tiny_id) "/act" } {
                        (csrf_input(&viewer))
                        input type="hidden" name="action" value="assign";
                        label.sr-only for="assign-to" { "Assign to" }
                        select #assign-to name="owner" {
                            @for (u, full) in &users {
                                option value=(u) selected[*u == viewer.user.username] {
                                    @if full.is_empty() { (u) } @else { (full) " (" (u) ")" }
                                }
                            }
                        }
                        button type="submit" { "Assign" }
                    }
                    form method="post" action={ "/ui/alerts/" (a.tiny_id) "/act" } {
                        (csrf_input(&viewer))
                        input type="hidden" name="action" value="escalate";
                        label.sr-only for="escalation" { "Escalation policy" }
                        input type="text" #escalation name="escalation" placeholder="escalation policy" required;
                        button type="submit" { "Escalate" }
                    }
                } @else {
                    p.muted { "This alert is closed." }
                }
            }
        }
        div.cols {
            div {
                @if !a.description.is_empty() {
                    h2 { "Description" }
                    div.panel { (a.description) }
                }
                @if !a.tags.is_empty() {
                    h2 { "Tags" }
                    p { @for t in &a.tags { span.tag { (t) } } }
                }
                @if !a.details.is_empty() {
                    h2 { "Details" }
                    dl.kv {
                        @for (k, v) in &a.details { dt { (k) } dd { (page::value(v)) } }
                    }
                }
                h2 { "About" }
                dl.kv {
                    dt { "Alias" } dd { (a.alias) }
                    @if !a.source.is_empty() { dt { "Source" } dd { (a.source) } }
                    @if !a.entity.is_empty() { dt { "Entity" } dd { (a.entity) } }
                    @if !a.integration_name.is_empty() { dt { "Integration" } dd { (a.integration_name) } }
                    @if !a.responders.is_empty() {
                        dt { "Responders" }
                        dd { @for r in &a.responders { span.tag { (r.kind.as_str()) ": " (if r.name.is_empty() { &r.id } else { &r.name }) } } }
                    }
                    @if !a.visible_to.is_empty() {
                        dt { "Visible to" }
                        dd { @for r in &a.visible_to { span.tag { (r.kind.as_str()) ": " (if r.name.is_empty() { &r.id } else { &r.name }) } } }
                    }
                }
                @if viewer.can_act() {
                    h2 { "Add a note" }
                    form method="post" action={ "/ui/alerts/" (a.tiny_id) "/act" } {
                        (csrf_input(&viewer))
                        input type="hidden" name="action" value="note";
                        label.sr-only for="note" { "Note" }
                        textarea #note name="note" required maxlength="25000" {}
                        button type="submit" { "Add note" }
                    }
                }
            }
            div #alert-live data-live=(live_url) {
                (timeline_markup(&state, &viewer, &a).await?)
            }
        }
    };
    Ok(page::page(shell(
        &a.message,
        Some(&viewer),
        Section::Alerts,
        body,
    )))
}

async fn timeline_fragment(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(tiny): Path<String>,
) -> Result<Response, UiError> {
    let Some(a) = find(&state, &viewer, &tiny).await? else {
        return Ok(not_found(&viewer));
    };
    Ok(page::page(timeline_markup(&state, &viewer, &a).await?))
}

async fn act(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(tiny): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = forbidden_for_stakeholder(&viewer) {
        return Ok(r);
    }
    let Some(a) = find(&state, &viewer, &tiny).await? else {
        return Ok(not_found(&viewer));
    };
    let form = FormData::parse(&body);
    let bad = |m: &str| page::error_page(StatusCode::UNPROCESSABLE_ENTITY, Some(&viewer), m);
    let now = state.clock.now_ms();
    let mut note = None;
    let request = match form.get("action").unwrap_or("") {
        "ack" => ActionRequest::Ready(Action::Acknowledge),
        "unack" => ActionRequest::Ready(Action::Unacknowledge),
        "close" => ActionRequest::Ready(Action::Close),
        "snooze" => match form.get("minutes").and_then(|m| m.parse::<i64>().ok()) {
            Some(m) if (1..=7 * 24 * 60).contains(&m) => ActionRequest::Ready(Action::Snooze {
                end_time: now + m * 60_000,
            }),
            _ => return Ok(bad("Snooze for 1 minute to 7 days.")),
        },
        "assign" => match form.get("owner").map(str::trim).filter(|o| !o.is_empty()) {
            Some(o) => ActionRequest::Ready(Action::Assign {
                owner: o.to_string(),
            }),
            None => return Ok(bad("Choose whom to assign the alert to.")),
        },
        "escalate" => match form
            .get("escalation")
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            Some(name) => ActionRequest::Escalate(ResponderRef {
                kind: ResponderKind::Escalation,
                id: None,
                name: Some(name.to_string()),
                username: None,
            }),
            None => return Ok(bad("Name the escalation policy to escalate to.")),
        },
        "note" => match form.get("note").map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => {
                note = Some(klaxon_core::alert::truncate_chars(
                    n,
                    klaxon_core::alert::limits::NOTE,
                ));
                ActionRequest::Ready(Action::AddNote)
            }
            None => return Ok(bad("The note is empty.")),
        },
        _ => return Ok(bad("Unknown action.")),
    };
    let is_snooze = matches!(request, ActionRequest::Ready(Action::Snooze { .. }));
    let op = web_op(&state, &viewer, &a.id, request, note);
    let request_id = op.request_id.clone();
    let outcome = state.writer.write(op).await?;
    if is_snooze && outcome.success {
        state.snooze_wake.notify_one();
    }
    Ok(Redirect::to(&format!("/ui/alerts/{}?req={request_id}", a.tiny_id)).into_response())
}
