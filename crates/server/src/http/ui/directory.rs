//! Escalation policies and teams: lists and pages for everyone signed in (rules with their
//! delays and recipients; members and routing rules), and for admins forms to create and edit
//! those not declared in the config file (those show "managed in config").
//!
//! Writes go through the same store functions as OpsGenie's `/v2/escalations` and `/v2/teams`
//! (a new team also gets `<team>_schedule`, `<team>_escalation` and its default routing rule,
//! as through the API), so the same checks apply and a refused change writes nothing.

use super::page::{self, csrf_input, shell, Section};
use super::session::Viewer;
use super::{FormData, UiError};
use crate::app::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use klaxon_core::duration::Duration;
use klaxon_core::escalation::{
    Condition, EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient,
    RecipientKind, Repeat, TeamRole,
};
use klaxon_core::routing::{TargetKind, TeamRoutingRule};
use klaxon_store::{EscalationFields, StoreError, StoredEscalation, StoredTeam};
use maud::{html, Markup};
use serde_json::Value;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/escalations", get(escalations).post(create_escalation))
        .route(
            "/ui/escalations/{id}",
            get(escalation_page).post(update_escalation),
        )
        .route("/ui/escalations/{id}/delete", post(delete_escalation))
        .route("/ui/teams", get(teams).post(create_team))
        .route("/ui/teams/{id}", get(team_page).post(update_team))
        .route("/ui/teams/{id}/members", post(add_member))
        .route("/ui/teams/{id}/members/remove", post(remove_member))
}

type Params = Query<HashMap<String, String>>;

/// Rule rows an escalation form offers beyond the policy's own.
const SPARE_RULE_ROWS: usize = 2;
const CONDITIONS: [&str; 2] = ["if-not-acked", "if-not-closed"];
const NOTIFY_TYPES: [&str; 7] = [
    "default", "next", "previous", "all", "admins", "users", "random",
];

fn admins_only(viewer: &Viewer, what: &str) -> Option<Response> {
    (!viewer.is_admin()).then(|| {
        page::error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            &format!("Only admins change {what}."),
        )
    })
}

fn not_found(viewer: &Viewer, what: &str) -> Response {
    page::error_page(
        StatusCode::NOT_FOUND,
        Some(viewer),
        &format!("No such {what}."),
    )
}

fn managed(viewer: &Viewer, what: &str) -> Response {
    page::error_page(
        StatusCode::FORBIDDEN,
        Some(viewer),
        &format!("This {what} is managed in config; change it in the config file."),
    )
}

fn back(path: &str, key: &str, msg: &str) -> Response {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, msg)
        .finish();
    Redirect::to(&format!("{path}?{q}")).into_response()
}

fn flashes(params: &HashMap<String, String>) -> Markup {
    html! {
        @if let Some(f) = params.get("done") { p.flash role="status" { (f) } }
        @if let Some(f) = params.get("problem") { p.flash.error role="alert" { (f) } }
    }
}

/// A store refusal as a message for the person; anything else is a server error.
fn refusal(e: StoreError) -> Result<String, UiError> {
    match e {
        StoreError::Invalid(m) | StoreError::Conflict(m) => Ok(m),
        e => Err(e.into()),
    }
}

/// Names of users, teams and schedules by id, for showing recipients and targets.
struct Names {
    users: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    schedules: Vec<(String, String)>,
}

impl Names {
    async fn load(state: &AppState) -> Result<Names, UiError> {
        let (users, _) = state.store.list_users(0, 10_000).await?;
        Ok(Names {
            users: users.into_iter().map(|u| (u.id, u.username)).collect(),
            teams: state
                .store
                .list_teams()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            schedules: state
                .store
                .list_schedules()
                .await?
                .into_iter()
                .map(|s| (s.id, s.name))
                .collect(),
        })
    }

    fn list(&self, kind: RecipientKind) -> &[(String, String)] {
        match kind {
            RecipientKind::User => &self.users,
            RecipientKind::Team => &self.teams,
            RecipientKind::Schedule => &self.schedules,
        }
    }

    fn name(&self, kind: RecipientKind, id: &str) -> String {
        self.list(kind)
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn link(&self, r: &Recipient) -> Markup {
        let name = self.name(r.kind, &r.id);
        html! {
            @match r.kind {
                RecipientKind::User => { "user " strong { (name) } }
                RecipientKind::Team => { "team " a href={ "/ui/teams/" (r.id) } { strong { (name) } } }
                RecipientKind::Schedule => { "schedule " a href={ "/ui/oncall/" (r.id) } { strong { (name) } } }
            }
        }
    }
}

// ---------------------------------------------------------------- escalation policies

fn rule_line(names: &Names, r: &EscalationRule) -> Markup {
    html! {
        @if r.delay.as_millis() == 0 { "At once" } @else { "After " (r.delay.to_string()) }
        ", " (r.condition.as_str()) ": notify "
        @if r.notify_type != NotifyType::Default { (r.notify_type.as_str()) " of " }
        (names.link(&r.recipient))
    }
}

fn repeat_line(p: &EscalationPolicy) -> Markup {
    html! {
        @match p.repeat() {
            Some(r) if r.count > 0 || r.close_alert_after_all => {
                "Repeats " (r.count) " time(s), " (r.wait_interval.to_string()) " after the last rule"
                @if r.reset_recipient_states { ", un-acknowledging first" }
                @if r.close_alert_after_all { "; closes the alert after the last repeat" }
            }
            _ => { "Does not repeat" }
        }
    }
}

async fn escalations(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let list = state.store.list_escalations().await?;
    let names = Names::load(&state).await?;
    let body = html! {
        h1 { "Escalation policies" }
        (flashes(&params))
        @if list.is_empty() { p.muted { "No escalation policies yet." } }
        ul.cards {
            @for e in &list {
                li.panel {
                    a href={ "/ui/escalations/" (e.record.id) } { strong { (e.record.name) } }
                    @if let Some(t) = &e.team { span.muted { " · team " (t.name) } }
                    @if e.managed { span.muted { " · managed in config" } }
                    ol.steps {
                        @for r in e.record.policy.rules() { li { (rule_line(&names, r)) } }
                    }
                }
            }
        }
        @if viewer.is_admin() {
            details.panel {
                summary { "New escalation policy" }
                (escalation_form(&viewer, None, &names))
            }
        }
    };
    Ok(page::page(shell(
        "Escalation policies",
        Some(&viewer),
        Section::Escalations,
        body,
    )))
}

async fn escalation_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let Some(e) = state.store.escalation(&id).await? else {
        return Ok(not_found(&viewer, "escalation policy"));
    };
    let names = Names::load(&state).await?;
    let body = html! {
        p { a href="/ui/escalations" { "← Escalation policies" } }
        h1 { (e.record.name) }
        p.muted {
            @if let Some(t) = &e.team { "Team " a href={ "/ui/teams/" (t.id) } { (t.name) } " · " }
            @if e.managed { "managed in config" } @else { "created in Klaxon" }
        }
        @if !e.description.is_empty() { p { (e.description) } }
        (flashes(&params))
        h2 { "Rules" }
        @if e.record.policy.rules().is_empty() { p.muted { "No rules: nobody is notified." } }
        ol.timeline #rules {
            @for r in e.record.policy.rules() { li { (rule_line(&names, r)) } }
        }
        p { (repeat_line(&e.record.policy)) }
        @if viewer.is_admin() && !e.managed {
            h2 { "Edit" }
            (escalation_form(&viewer, Some(&e), &names))
            form method="post" action={ "/ui/escalations/" (e.record.id) "/delete" } {
                (csrf_input(&viewer))
                button.danger type="submit" { "Delete this policy" }
            }
        }
    };
    Ok(page::page(shell(
        &e.record.name,
        Some(&viewer),
        Section::Escalations,
        body,
    )))
}

fn escalation_form(viewer: &Viewer, e: Option<&StoredEscalation>, names: &Names) -> Markup {
    let action = match e {
        Some(e) => format!("/ui/escalations/{}", e.record.id),
        None => "/ui/escalations".into(),
    };
    let rules: Vec<&EscalationRule> = e
        .map(|e| e.record.policy.rules().iter().collect())
        .unwrap_or_default();
    let repeat = e.and_then(|e| e.record.policy.repeat().copied());
    let team_id = e.and_then(|e| e.team.as_ref().map(|t| t.id.clone()));
    let p = e.map_or("new".to_string(), |e| format!("e{}", e.record.id));
    html! {
        form method="post" action=(action) {
            (csrf_input(viewer))
            label for={ (p) "-name" } { "Name" }
            input id={ (p) "-name" } type="text" name="name" required maxlength="100"
                value=(e.map(|e| e.record.name.as_str()).unwrap_or(""));
            label for={ (p) "-desc" } { "Description" }
            input id={ (p) "-desc" } type="text" name="description" maxlength="500"
                value=(e.map(|e| e.description.as_str()).unwrap_or(""));
            label for={ (p) "-team" } { "Team" }
            select id={ (p) "-team" } name="team" {
                option value="" { "none" }
                @for (id, name) in &names.teams {
                    option value=(id) selected[team_id.as_deref() == Some(id.as_str())] { (name) }
                }
            }
            fieldset {
                legend { "Rules: after how long (0s, 5m…), if the alert is still…, notify whom" }
                @for i in 0..rules.len() + SPARE_RULE_ROWS {
                    @let r = rules.get(i);
                    div.rule-row {
                        span.n { "Rule " (i + 1) }
                        input type="text" name="delay" size="5" aria-label={ "Rule " (i + 1) " delay" }
                            value=(r.map(|r| r.delay.to_string()).unwrap_or_default());
                        select name="condition" aria-label={ "Rule " (i + 1) " condition" } {
                            @for c in CONDITIONS { option value=(c) selected[r.is_some_and(|r| r.condition.as_str() == c)] { (c) } }
                        }
                        select name="notify_type" aria-label={ "Rule " (i + 1) " notify type" } {
                            @for t in NOTIFY_TYPES { option value=(t) selected[r.is_some_and(|r| r.notify_type.as_str() == t)] { (t) } }
                        }
                        select name="recipient" aria-label={ "Rule " (i + 1) " recipient" } {
                            option value="" { "— no rule —" }
                            @for (kind, label) in [(RecipientKind::Schedule, "Schedules"), (RecipientKind::Team, "Teams"), (RecipientKind::User, "Users")] {
                                optgroup label=(label) {
                                    @for (id, name) in names.list(kind) {
                                        option value={ (kind.as_str()) ":" (id) }
                                            selected[r.is_some_and(|r| r.recipient.kind == kind && r.recipient.id == *id)] { (name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            label for={ (p) "-repeat" } { "Repeat how many times (0–20)" }
            input id={ (p) "-repeat" } type="text" inputmode="numeric" name="repeat_count" size="3"
                value=(repeat.map_or(0, |r| r.count));
            label for={ (p) "-wait" } { "…waiting this long after the last rule" }
            input id={ (p) "-wait" } type="text" name="repeat_wait" size="5"
                value=(repeat.map(|r| r.wait_interval.to_string()).unwrap_or_else(|| "10m".into()));
            p { button.primary type="submit" { @if e.is_some() { "Save policy" } @else { "Create policy" } } }
        }
    }
}

/// The policy a form describes; a message says what to fix.
fn escalation_from(form: &FormData) -> Result<EscalationFields, String> {
    let name = form.get("name").unwrap_or("").trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("Give the policy a name of 1 to 100 characters.".into());
    }
    let (delays, conditions, types, recipients) = (
        form.all("delay"),
        form.all("condition"),
        form.all("notify_type"),
        form.all("recipient"),
    );
    let mut rules = vec![];
    for (i, recipient) in recipients.iter().enumerate() {
        if recipient.is_empty() {
            continue;
        }
        let n = i + 1;
        let (kind, id) = recipient
            .split_once(':')
            .ok_or_else(|| format!("rule {n}: choose a recipient"))?;
        let delay = delays.get(i).map(|d| d.trim()).filter(|d| !d.is_empty());
        rules.push(EscalationRule {
            condition: conditions
                .get(i)
                .copied()
                .unwrap_or("if-not-acked")
                .parse::<Condition>()
                .map_err(|e| format!("rule {n}: {e}"))?,
            notify_type: types
                .get(i)
                .copied()
                .unwrap_or("default")
                .parse::<NotifyType>()
                .map_err(|e| format!("rule {n}: {e}"))?,
            delay: match delay {
                Some(d) => d.parse().map_err(|e| format!("rule {n}: {e}"))?,
                None => Duration::default(),
            },
            recipient: Recipient {
                kind: kind
                    .parse::<RecipientKind>()
                    .map_err(|e| format!("rule {n}: {e}"))?,
                id: id.to_string(),
            },
        });
    }
    let count: u32 = form
        .get("repeat_count")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("0")
        .parse()
        .map_err(|_| "Repeat count: write a whole number from 0 to 20.".to_string())?;
    let repeat = if count > 0 {
        Some(Repeat {
            wait_interval: form
                .get("repeat_wait")
                .unwrap_or("")
                .parse()
                .map_err(|e| format!("repeat: {e}"))?,
            count,
            reset_recipient_states: false,
            close_alert_after_all: false,
        })
    } else {
        None
    };
    let policy =
        EscalationPolicy::new(EscalationSpec { rules, repeat }).map_err(|e| e.to_string())?;
    Ok(EscalationFields {
        name,
        description: form.get("description").unwrap_or("").trim().to_string(),
        team: form
            .get("team")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        policy,
    })
}

async fn create_escalation(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer, "escalation policies") {
        return Ok(r);
    }
    let f = match escalation_from(&FormData::parse(&body)) {
        Ok(f) => f,
        Err(m) => return Ok(back("/ui/escalations", "problem", &m)),
    };
    match state
        .store
        .create_escalation(&f, state.clock.now_ms())
        .await
    {
        Ok(id) => Ok(back(
            &format!("/ui/escalations/{id}"),
            "done",
            &format!("Escalation policy {:?} created.", f.name),
        )),
        Err(e) => Ok(back("/ui/escalations", "problem", &refusal(e)?)),
    }
}

async fn update_escalation(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer, "escalation policies") {
        return Ok(r);
    }
    let Some(e) = state.store.escalation(&id).await? else {
        return Ok(not_found(&viewer, "escalation policy"));
    };
    if e.managed {
        return Ok(managed(&viewer, "escalation policy"));
    }
    let here = format!("/ui/escalations/{}", e.record.id);
    let f = match escalation_from(&FormData::parse(&body)) {
        Ok(f) => f,
        Err(m) => return Ok(back(&here, "problem", &m)),
    };
    match state
        .store
        .update_escalation(&e.record.id, &f, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(back(&here, "done", "Saved.")),
        Err(err) => Ok(back(&here, "problem", &refusal(err)?)),
    }
}

async fn delete_escalation(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer, "escalation policies") {
        return Ok(r);
    }
    let Some(e) = state.store.escalation(&id).await? else {
        return Ok(not_found(&viewer, "escalation policy"));
    };
    if e.managed {
        return Ok(managed(&viewer, "escalation policy"));
    }
    state.store.delete_escalation(&e.record.id).await?;
    Ok(back(
        "/ui/escalations",
        "done",
        &format!("Escalation policy {:?} deleted.", e.record.name),
    ))
}

// ---------------------------------------------------------------- teams

fn role_str(r: TeamRole) -> &'static str {
    match r {
        TeamRole::Admin => "admin",
        TeamRole::User => "user",
    }
}

/// A routing rule's conditions in words, from its JSON form (`field [not] operation value`).
fn criteria_text(r: &TeamRoutingRule) -> String {
    let v = serde_json::to_value(&r.criteria).unwrap_or(Value::Null);
    let kind = v["type"].as_str().unwrap_or("match-all");
    let conditions: Vec<String> = v["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let field = match c["key"].as_str() {
                        Some(k) => format!("{}.{k}", c["field"].as_str().unwrap_or("?")),
                        None => c["field"].as_str().unwrap_or("?").to_string(),
                    };
                    format!(
                        "{field}{} {} {:?}",
                        if c["not"].as_bool() == Some(true) {
                            " not"
                        } else {
                            ""
                        },
                        c["operation"].as_str().unwrap_or("?"),
                        c["expectedValue"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    match kind {
        "match-all" => "every alert".into(),
        "match-any-condition" => format!("any of: {}", conditions.join("; ")),
        _ => format!("all of: {}", conditions.join("; ")),
    }
}

fn target_link(r: &TeamRoutingRule) -> Markup {
    let name = r
        .notify
        .name
        .clone()
        .or(r.notify.id.clone())
        .unwrap_or_default();
    html! {
        @match (r.notify.kind, &r.notify.id) {
            (TargetKind::Escalation, Some(id)) => { "escalation " a href={ "/ui/escalations/" (id) } { (name) } }
            (TargetKind::Schedule, Some(id)) => { "schedule " a href={ "/ui/oncall/" (id) } { (name) } }
            _ => { span.muted { "nobody (routed to the team only)" } }
        }
    }
}

async fn teams(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let list = state.store.list_teams().await?;
    let body = html! {
        h1 { "Teams" }
        (flashes(&params))
        @if list.is_empty() { p.muted { "No teams yet." } }
        ul.cards {
            @for t in &list {
                li.panel {
                    a href={ "/ui/teams/" (t.id) } { strong { (t.name) } }
                    span.muted { " · " (t.members.len()) " member(s)" @if t.managed { " · managed in config" } }
                    @if !t.description.is_empty() { div { (t.description) } }
                }
            }
        }
        @if viewer.is_admin() {
            details.panel {
                summary { "New team" }
                form method="post" action="/ui/teams" {
                    (csrf_input(&viewer))
                    label for="team-name" { "Name" }
                    input #team-name type="text" name="name" required maxlength="100";
                    label for="team-desc" { "Description" }
                    input #team-desc type="text" name="description" maxlength="500";
                    p.muted { "Like OpsGenie, Klaxon also creates the team's schedule, escalation policy and default routing rule." }
                    p { button.primary type="submit" { "Create team" } }
                }
            }
        }
    };
    Ok(page::page(shell(
        "Teams",
        Some(&viewer),
        Section::Teams,
        body,
    )))
}

async fn team_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, UiError> {
    let Some(t) = state.store.team_by_name_or_id(&id).await? else {
        return Ok(not_found(&viewer, "team"));
    };
    let routing = state.store.team_routing_rules(&t.id).await?;
    let escalations: Vec<StoredEscalation> = state
        .store
        .list_escalations()
        .await?
        .into_iter()
        .filter(|e| e.team.as_ref().is_some_and(|x| x.id == t.id))
        .collect();
    let schedules: Vec<_> = state
        .store
        .list_schedules()
        .await?
        .into_iter()
        .filter(|s| s.team.as_ref().is_some_and(|x| x.id == t.id))
        .collect();
    let editable = viewer.is_admin() && !t.managed;
    let users = if editable {
        state.store.ui_usernames().await?
    } else {
        vec![]
    };
    let here = format!("/ui/teams/{}", t.id);
    let body = html! {
        p { a href="/ui/teams" { "← Teams" } }
        h1 { (t.name) }
        p.muted { @if t.managed { "managed in config" } @else { "created in Klaxon" } }
        @if !t.description.is_empty() { p { (t.description) } }
        (flashes(&params))
        div.cols {
            div {
                h2 { "Members" }
                @if t.members.is_empty() { p.muted { "No members." } }
                ul.members #members {
                    @for m in &t.members {
                        li {
                            strong { (m.user.username) } span.muted { " · " (role_str(m.role)) }
                            @if editable {
                                form.inline method="post" action={ (here) "/members/remove" } {
                                    (csrf_input(&viewer))
                                    input type="hidden" name="user" value=(m.user.id);
                                    button.danger type="submit" aria-label={ "Remove " (m.user.username) } { "Remove" }
                                }
                            }
                        }
                    }
                }
                @if editable {
                    form method="post" action={ (here) "/members" } {
                        (csrf_input(&viewer))
                        label for="mem-user" { "Add a member" }
                        select #mem-user name="user" {
                            @for (u, _) in &users {
                                @if !t.members.iter().any(|m| m.user.username == *u) { option value=(u) { (u) } }
                            }
                        }
                        label for="mem-role" { "Role" }
                        select #mem-role name="role" { option value="user" { "user" } option value="admin" { "admin" } }
                        p { button type="submit" { "Add member" } }
                    }
                }
                h2 { "Routing rules" }
                p.muted { "The first rule that matches an alert for this team decides whom it notifies." }
                @if routing.is_empty() { p.muted { "No routing rules: alerts for this team notify nobody." } }
                ol.timeline #routing {
                    @for r in &routing {
                        li {
                            strong { (r.name) } @if r.is_default { span.muted { " (default)" } }
                            div { "When " (criteria_text(r)) " → " (target_link(r)) }
                            @if let Some(tr) = &r.time_restriction {
                                div.muted { "only " (serde_json::to_string(tr).unwrap_or_default())
                                    @if let Some(z) = &r.time_zone { " (" (z.name()) ")" } }
                            }
                        }
                    }
                }
            }
            div {
                h2 { "Escalation policies" }
                @if escalations.is_empty() { p.muted { "None." } }
                ul { @for e in &escalations { li { a href={ "/ui/escalations/" (e.record.id) } { (e.record.name) } } } }
                h2 { "Schedules" }
                @if schedules.is_empty() { p.muted { "None." } }
                ul { @for s in &schedules { li { a href={ "/ui/oncall/" (s.id) } { (s.name) } } } }
                @if editable {
                    h2 { "Edit" }
                    form method="post" action=(here) {
                        (csrf_input(&viewer))
                        label for="team-name" { "Name" }
                        input #team-name type="text" name="name" required maxlength="100" value=(t.name);
                        label for="team-desc" { "Description" }
                        input #team-desc type="text" name="description" maxlength="500" value=(t.description);
                        p { button.primary type="submit" { "Save team" } }
                    }
                }
            }
        }
    };
    Ok(page::page(shell(
        &t.name,
        Some(&viewer),
        Section::Teams,
        body,
    )))
}

fn team_name(form: &FormData) -> Result<String, &'static str> {
    let name = form.get("name").unwrap_or("").trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("Give the team a name of 1 to 100 characters.");
    }
    Ok(name)
}

async fn create_team(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer, "teams") {
        return Ok(r);
    }
    let form = FormData::parse(&body);
    let name = match team_name(&form) {
        Ok(n) => n,
        Err(m) => return Ok(back("/ui/teams", "problem", m)),
    };
    let description = form.get("description").unwrap_or("").trim().to_string();
    let now = state.clock.now_ms();
    let id = match state.store.create_team(&name, &description, &[], now).await {
        Ok(id) => id,
        Err(e) => return Ok(back("/ui/teams", "problem", &refusal(e)?)),
    };
    if let Err(e) =
        crate::http::opsgenie::directory::create_team_defaults(&state, &id, &name, now).await
    {
        tracing::error!(error = %e.message, team = %name, "creating a team's default schedule and escalation failed");
        return Ok(back(
            &format!("/ui/teams/{id}"),
            "problem",
            "The team was created, but its default schedule, escalation policy or routing rule could not be; the error was logged.",
        ));
    }
    Ok(back(
        &format!("/ui/teams/{id}"),
        "done",
        &format!(
            "Team {name:?} created with its schedule, escalation policy and default routing rule."
        ),
    ))
}

/// The team if the viewer may change it, else the page to show.
async fn writable_team(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<Result<StoredTeam, Response>, UiError> {
    if let Some(r) = admins_only(viewer, "teams") {
        return Ok(Err(r));
    }
    let Some(t) = state.store.team_by_name_or_id(id).await? else {
        return Ok(Err(not_found(viewer, "team")));
    };
    if t.managed {
        return Ok(Err(managed(viewer, "team")));
    }
    Ok(Ok(t))
}

async fn update_team(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let t = match writable_team(&state, &viewer, &id).await? {
        Ok(t) => t,
        Err(r) => return Ok(r),
    };
    let here = format!("/ui/teams/{}", t.id);
    let form = FormData::parse(&body);
    let name = match team_name(&form) {
        Ok(n) => n,
        Err(m) => return Ok(back(&here, "problem", m)),
    };
    let description = form.get("description").unwrap_or("").trim().to_string();
    match state
        .store
        .update_team(&t.id, &name, &description, None)
        .await
    {
        Ok(_) => Ok(back(&here, "done", "Saved.")),
        Err(e) => Ok(back(&here, "problem", &refusal(e)?)),
    }
}

async fn add_member(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let t = match writable_team(&state, &viewer, &id).await? {
        Ok(t) => t,
        Err(r) => return Ok(r),
    };
    let here = format!("/ui/teams/{}", t.id);
    let form = FormData::parse(&body);
    let user = form.get("user").unwrap_or("").trim().to_string();
    let role = match form.get("role") {
        Some("admin") => TeamRole::Admin,
        _ => TeamRole::User,
    };
    if user.is_empty() {
        return Ok(back(&here, "problem", "Choose a user to add."));
    }
    match state.store.add_team_member(&t.id, &user, role).await {
        Ok(_) => Ok(back(&here, "done", &format!("{user} added."))),
        Err(e) => Ok(back(&here, "problem", &refusal(e)?)),
    }
}

async fn remove_member(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    let t = match writable_team(&state, &viewer, &id).await? {
        Ok(t) => t,
        Err(r) => return Ok(r),
    };
    let here = format!("/ui/teams/{}", t.id);
    let user = FormData::parse(&body).get("user").unwrap_or("").to_string();
    if state.store.remove_team_member(&t.id, &user).await? {
        Ok(back(&here, "done", "Member removed."))
    } else {
        Ok(back(&here, "problem", "That user is not a member."))
    }
}
