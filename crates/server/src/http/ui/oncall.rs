//! On call: who is on call now and next in every schedule; a schedule's final timeline as a
//! week or a month, its layers (rotations) and overrides; "take this shift", a new override,
//! and time off. The answers come from the same schedule maths as the OpsGenie Schedule API.

use super::page::{self, csrf_input, shell, Section};
use super::session::Viewer;
use super::{FormData, UiError};
use crate::app::AppState;
use crate::http::opsgenie::schedules::prepare;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use klaxon_core::schedule::{parse_time_zone, Period};
use klaxon_store::{OverrideFields, StoredSchedule, TimeOffFields};
use maud::{html, Markup};
use std::collections::HashMap;

/// How far "next on call" looks ahead.
const NEXT_HORIZON_MS: i64 = 90 * 24 * 3_600_000;
/// Upcoming shifts offered for taking over.
const UPCOMING_MS: i64 = 14 * 24 * 3_600_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/oncall", get(overview))
        .route("/ui/oncall/{id}", get(schedule_page))
        .route("/ui/oncall/{id}/override", post(create_override))
        .route("/ui/oncall/{id}/time-off", post(create_time_off))
}

fn zone(s: &StoredSchedule) -> Tz {
    parse_time_zone(&s.time_zone).unwrap_or(chrono_tz::UTC)
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn name(names: &HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_string())
}

fn local(tz: &Tz, t: DateTime<Utc>, fmt: &str) -> String {
    t.with_timezone(tz).format(fmt).to_string()
}

async fn overview(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, UiError> {
    let now = state.clock.now_ms();
    let schedules = state.store.list_schedules().await?;
    let mut rows = Vec::with_capacity(schedules.len());
    for s in &schedules {
        let p = prepare(&state.store, s, now, now + NEXT_HORIZON_MS).await?;
        let (current, next) = if s.enabled {
            (
                p.schedule.on_call_at(utc(now)),
                p.schedule.next_on_call_after(utc(now)),
            )
        } else {
            (vec![], None)
        };
        let current: Vec<String> = current.iter().map(|u| name(&p.names, u)).collect();
        let next = next.map(|(at, users)| {
            (
                at,
                users.iter().map(|u| name(&p.names, u)).collect::<Vec<_>>(),
            )
        });
        rows.push((s, current, next));
    }
    let body = html! {
        h1 { "On call" }
        @if rows.is_empty() {
            p.muted { "No schedules yet. Declare them in the config file or create them through the Schedule API." }
        } @else {
            table.grid {
                thead { tr { th { "Schedule" } th { "On call now" } th { "Next" } } }
                tbody {
                    @for (s, current, next) in &rows {
                        tr {
                            td {
                                a href={ "/ui/oncall/" (s.id) } { (s.name) }
                                @if let Some(t) = &s.team { div.muted { (t.name) } }
                                @if !s.enabled { div.muted { "disabled" } }
                            }
                            td.oncall-now {
                                @if current.is_empty() { span.muted { "nobody" } }
                                @for u in current { div { strong { (u) } } }
                            }
                            td {
                                @match next {
                                    Some((at, users)) => {
                                        div { @if users.is_empty() { "nobody" } @else { (users.join(", ")) } }
                                        div.muted { "from " (page::when(&viewer, at.timestamp_millis())) }
                                    }
                                    None => { span.muted { "no change ahead" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::page(shell(
        "On call",
        Some(&viewer),
        Section::OnCall,
        body,
    )))
}

/// The days a view shows, in the schedule's zone: a week from Monday, or the weeks that cover
/// a month.
fn view_days(view: &str, date: NaiveDate) -> Vec<NaiveDate> {
    let monday = |d: NaiveDate| d - Duration::days(d.weekday().num_days_from_monday() as i64);
    let (first, count) = if view == "month" {
        let first_of_month = date.with_day(1).unwrap_or(date);
        let next_month = first_of_month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first_of_month);
        let start = monday(first_of_month);
        let last = next_month - Duration::days(1);
        let end = monday(last) + Duration::days(7);
        (start, (end - start).num_days())
    } else {
        (monday(date), 7)
    };
    (0..count).map(|i| first + Duration::days(i)).collect()
}

fn midnight(tz: &Tz, d: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
}

/// A `datetime-local` value read in the schedule's zone.
fn parse_local(tz: &Tz, s: &str) -> Option<i64> {
    let ndt = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M").ok()?;
    tz.from_local_datetime(&ndt)
        .earliest()
        .map(|t| t.timestamp_millis())
}

fn calendar(
    tz: &Tz,
    days: &[NaiveDate],
    periods: &[Period],
    names: &HashMap<String, String>,
    today: NaiveDate,
    view: &str,
) -> Markup {
    html! {
        div class={ "cal " (view) } role="list" aria-label="Final timeline" {
            @for d in days {
                @let (from, to) = (midnight(tz, *d), midnight(tz, *d + Duration::days(1)));
                div.day.today[*d == today] role="listitem" {
                    div.d { (d.format("%a %d %b")) }
                    @for p in periods.iter().filter(|p| p.start < to && p.end > from) {
                        @let (a, b) = (p.start.max(from), p.end.min(to));
                        span.shift.override[p.is_override] title={ (name(names, &p.user)) @if p.is_override { " (override)" } } {
                            (local(tz, a, "%H:%M")) "–" @if b == to { "24:00" } @else { (local(tz, b, "%H:%M")) } " " (name(names, &p.user))
                        }
                    }
                }
            }
        }
    }
}

async fn schedule_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let Some(s) = state.store.schedule_by_id(&id).await? else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "No such schedule.",
        ));
    };
    let tz = zone(&s);
    let now = state.clock.now_ms();
    let today = utc(now).with_timezone(&tz).date_naive();
    let view = if params.get("view").map(String::as_str) == Some("month") {
        "month"
    } else {
        "week"
    };
    let date = params
        .get("date")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let days = view_days(view, date);
    let (from, to) = (
        midnight(&tz, days[0]),
        midnight(&tz, *days.last().unwrap_or(&date) + Duration::days(1)),
    );
    let horizon = to.timestamp_millis().max(now + UPCOMING_MS);
    let p = prepare(&state.store, &s, from.timestamp_millis().min(now), horizon).await?;
    let periods = p.schedule.final_timeline(from, to);
    let upcoming: Vec<Period> = p
        .schedule
        .final_timeline(utc(now), utc(now + UPCOMING_MS))
        .into_iter()
        .take(12)
        .collect();
    let overrides = state
        .store
        .schedule_overrides(Some(&s.id), Some(now))
        .await?;
    let users = state.store.ui_usernames().await?;
    let (prev, next) = if view == "month" {
        let first = date.with_day(1).unwrap_or(date);
        (
            first
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(first),
            first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first),
        )
    } else {
        (date - Duration::days(7), date + Duration::days(7))
    };
    let link = |v: &str, d: NaiveDate| {
        format!("/ui/oncall/{}?view={v}&date={}", s.id, d.format("%Y-%m-%d"))
    };
    let flash = params.get("done").cloned();
    let problem = params.get("problem").cloned();
    let act_url = |what: &str| format!("/ui/oncall/{}/{what}", s.id);
    let dt_local = |ms: i64| local(&tz, utc(ms), "%Y-%m-%dT%H:%M");
    let body = html! {
        p { a href="/ui/oncall" { "← On call" } }
        h1 { (s.name) }
        p.muted {
            "Time zone " (s.time_zone)
            @if let Some(t) = &s.team { " · team " (t.name) }
            @if s.managed { " · managed in config (overrides and time off may still be added)" }
            @if !s.enabled { " · disabled" }
        }
        @if let Some(f) = flash { p.flash role="status" { (f) } }
        @if let Some(f) = problem { p.flash.error role="alert" { (f) } }
        nav.pager aria-label="Calendar" {
            span {
                a.button href=(link(view, prev)) { "← Previous" } " "
                a.button href=(link(view, today)) { "Today" } " "
                a.button href=(link(view, next)) { "Next →" }
            }
            span {
                a.chip href=(link("week", date)) aria-pressed=(if view == "week" { "true" } else { "false" }) { "Week" } " "
                a.chip href=(link("month", date)) aria-pressed=(if view == "month" { "true" } else { "false" }) { "Month" }
            }
        }
        (calendar(&tz, &days, &periods, &p.names, today, view))
        div.cols {
            div {
                h2 { "Upcoming shifts" }
                @if upcoming.is_empty() { p.muted { "Nobody is scheduled in the next two weeks." } }
                ol.timeline {
                    @for sh in &upcoming {
                        li {
                            strong { (name(&p.names, &sh.user)) }
                            @if sh.is_override { " (override)" }
                            " · " (local(&tz, sh.start, "%a %d %b %H:%M")) " – " (local(&tz, sh.end, "%a %d %b %H:%M"))
                            @if viewer.can_act() && name(&p.names, &sh.user) != viewer.user.username {
                                form method="post" action=(act_url("override")) {
                                    (csrf_input(&viewer))
                                    input type="hidden" name="user" value=(viewer.user.username);
                                    input type="hidden" name="start_ms" value=(sh.start.timestamp_millis());
                                    input type="hidden" name="end_ms" value=(sh.end.timestamp_millis());
                                    button type="submit" { "Take this shift" }
                                }
                            }
                        }
                    }
                }
                h2 { "Layers" }
                @if s.rotations.is_empty() { p.muted { "No rotations." } }
                @for (i, r) in s.rotations.iter().enumerate().rev() {
                    div.panel {
                        strong { (r.name) } span.muted { " · layer " (i + 1) " · " (format!("{:?}", r.kind).to_lowercase()) " × " (r.length) }
                        div {
                            @for (n, u) in r.participants.iter().enumerate() {
                                @if n > 0 { " → " }
                                @match u { Some(u) => { (u.username) } None => { span.muted { "nobody" } } }
                            }
                        }
                        div.muted { "from " (page::when(&viewer, r.start)) @if let Some(e) = r.end { " until " (page::when(&viewer, e)) } }
                    }
                }
                h2 { "Overrides" }
                @if overrides.is_empty() { p.muted { "No current or future overrides." } }
                ul {
                    @for o in &overrides {
                        li {
                            strong { @match &o.user { Some(u) => { (u.username) } None => { "nobody" } } }
                            " · " (local(&tz, utc(o.start), "%a %d %b %H:%M")) " – " (local(&tz, utc(o.end), "%a %d %b %H:%M"))
                            @if o.managed { span.muted { " (managed in config)" } }
                        }
                    }
                }
            }
            @if viewer.can_act() {
                div {
                    h2 { "Create an override" }
                    form method="post" action=(act_url("override")) {
                        (csrf_input(&viewer))
                        label for="ov-user" { "Who" }
                        select #ov-user name="user" {
                            @for (u, _) in &users { option value=(u) selected[*u == viewer.user.username] { (u) } }
                        }
                        label for="ov-start" { "Start (" (s.time_zone) ")" }
                        input #ov-start type="datetime-local" name="start" required value=(dt_local(now));
                        label for="ov-end" { "End" }
                        input #ov-end type="datetime-local" name="end" required value=(dt_local(now + 3_600_000));
                        p { button.primary type="submit" { "Create override" } }
                    }
                    h2 { "Time off" }
                    form method="post" action=(act_url("time-off")) {
                        (csrf_input(&viewer))
                        label for="to-user" { "Who" }
                        @if viewer.is_admin() {
                            select #to-user name="user" {
                                @for (u, _) in &users { option value=(u) selected[*u == viewer.user.username] { (u) } }
                            }
                        } @else {
                            input #to-user type="text" name="user" value=(viewer.user.username) readonly;
                        }
                        label for="to-start" { "From (" (s.time_zone) ")" }
                        input #to-start type="datetime-local" name="start" required;
                        label for="to-end" { "Until" }
                        input #to-end type="datetime-local" name="end" required;
                        label for="to-reason" { "Reason" }
                        input #to-reason type="text" name="reason" maxlength="200";
                        p { button type="submit" { "Add time off" } }
                    }
                }
            }
        }
    };
    Ok(page::page(shell(
        &s.name,
        Some(&viewer),
        Section::OnCall,
        body,
    )))
}

fn back(id: &str, key: &str, msg: &str) -> Response {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair(key, msg)
        .finish();
    Redirect::to(&format!("/ui/oncall/{id}?{q}")).into_response()
}

/// Start and end of a form: `start_ms`/`end_ms` (take this shift) or local `start`/`end`.
fn window(form: &FormData, tz: &Tz) -> Result<(i64, i64), &'static str> {
    let ms = |k: &str| form.get(k).and_then(|v| v.parse::<i64>().ok());
    let (start, end) = match (ms("start_ms"), ms("end_ms")) {
        (Some(a), Some(b)) => (a, b),
        _ => (
            form.get("start")
                .and_then(|v| parse_local(tz, v))
                .ok_or("Give a start date and time.")?,
            form.get("end")
                .and_then(|v| parse_local(tz, v))
                .ok_or("Give an end date and time.")?,
        ),
    };
    if end <= start {
        return Err("The end must be after the start.");
    }
    Ok((start, end))
}

async fn create_override(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if !viewer.can_act() {
        return Ok(page::error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "Stakeholders cannot change schedules.",
        ));
    }
    let Some(s) = state.store.schedule_by_id(&id).await? else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "No such schedule.",
        ));
    };
    let form = FormData::parse(&body);
    let (start, end) = match window(&form, &zone(&s)) {
        Ok(w) => w,
        Err(m) => return Ok(back(&s.id, "problem", m)),
    };
    let Some(user) = form.get("user").map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(back(&s.id, "problem", "Choose who takes the override."));
    };
    let fields = OverrideFields {
        alias: uuid::Uuid::new_v4().to_string(),
        user: Some(user.to_string()),
        start,
        end,
        rotations: vec![],
    };
    match state
        .store
        .create_schedule_override(&s.id, &fields, state.clock.now_ms())
        .await
    {
        Ok(Some(_)) => Ok(back(
            &s.id,
            "done",
            &format!("Override created: {user} is on call then."),
        )),
        Ok(None) => Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "No such schedule.",
        )),
        Err(klaxon_store::StoreError::Invalid(m)) => Ok(back(&s.id, "problem", &m)),
        Err(e) => Err(e.into()),
    }
}

async fn create_time_off(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if !viewer.can_act() {
        return Ok(page::error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "Stakeholders cannot change schedules.",
        ));
    }
    let Some(s) = state.store.schedule_by_id(&id).await? else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "No such schedule.",
        ));
    };
    let form = FormData::parse(&body);
    let (start, end) = match window(&form, &zone(&s)) {
        Ok(w) => w,
        Err(m) => return Ok(back(&s.id, "problem", m)),
    };
    let user = form.get("user").map(str::trim).unwrap_or("").to_string();
    // People book their own time off; admins book anyone's.
    if !viewer.is_admin() && !user.eq_ignore_ascii_case(&viewer.user.username) {
        return Ok(page::error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "Only admins book time off for others.",
        ));
    }
    let fields = TimeOffFields {
        user: user.clone(),
        replacement: None,
        start,
        end,
        reason: form.get("reason").unwrap_or("").chars().take(200).collect(),
    };
    match state
        .store
        .create_time_off(&fields, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(back(&s.id, "done", &format!("Time off added for {user}."))),
        Err(klaxon_store::StoreError::Invalid(m)) => Ok(back(&s.id, "problem", &m)),
        Err(e) => Err(e.into()),
    }
}
