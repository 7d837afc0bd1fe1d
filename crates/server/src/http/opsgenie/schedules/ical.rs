//! iCalendar (RFC 5545) feeds that Google Calendar, Outlook and Apple Calendar subscribe to:
//!
//! - `GET /v2/schedules/{identifier}.ics`: every period of the schedule's final timeline
//!   (one event per period, as the `timeline` endpoint lists them), summary
//!   `On call: <schedule> (<username>)`.
//! - `GET /v2/schedules/on-calls/{user}.ics`: one user's own shifts in every enabled schedule,
//!   summary `On call: <schedule>`; shifts that touch or overlap within a schedule (the same
//!   person in two rotations) are one event.
//!
//! Calendar apps cannot send headers, so both take `?token=…`, the user's calendar token
//! (`POST /v2/schedules/on-calls/{user}/calendar-token` makes one; a user's token opens their
//! own feed and the schedule feeds, which every user may read anyway). An API key works too,
//! in the header or as `?apiKey=`.
//!
//! The window is 30 days back (from midnight UTC, so event ids stay stable for a day) to 90
//! days ahead; `date`, `interval` and `intervalUnit` choose another, as for `timeline`.
//! Event UIDs are built from schedule, rotation, start and user, so a refresh updates events
//! instead of duplicating them.

use super::super::error::OgError;
use super::super::Caller;
use super::on_call::{self, Prepared};
use super::{find_schedule, instant, Params};
use crate::app::AppState;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use klaxon_core::schedule::Period;
use klaxon_store::{StoredOverride, UserRef};
use std::collections::HashMap;

const DAY_MS: i64 = 24 * 3_600_000;

/// One calendar event, times in unix ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Event {
    pub uid: String,
    pub start: i64,
    pub end: i64,
    pub summary: String,
    pub description: String,
}

/// `YYYYMMDDTHHMMSSZ` (UTC, whole seconds).
fn ical_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no line is longer than 75 octets (continuations
/// start with a space, RFC 5545 §3.1), never splitting a UTF-8 character, ended with CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // The leading space of a continuation counts towards its 75 octets.
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A whole calendar.
pub(super) fn calendar(name: &str, events: &[Event], stamp: i64) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Klaxon//On-call schedules//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, line);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    let stamp = ical_time(stamp);
    for e in events {
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{}", escape(&e.uid)));
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(&mut out, &format!("DTSTART:{}", ical_time(e.start)));
        push_line(&mut out, &format!("DTEND:{}", ical_time(e.end)));
        push_line(&mut out, &format!("SUMMARY:{}", escape(&e.summary)));
        if !e.description.is_empty() {
            push_line(&mut out, &format!("DESCRIPTION:{}", escape(&e.description)));
        }
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

fn ics_response(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Who a calendar request is allowed as: the owner of `?token=`, or (`None`) an API key.
async fn authorize(
    state: &AppState,
    params: &Params,
    parts: &mut Parts,
) -> Result<Option<String>, OgError> {
    if let Some(token) = params.get("token").filter(|t| !t.is_empty()) {
        let hash = crate::keys::hash_key(token);
        return match state.store.calendar_token_user(&hash).await? {
            Some(user) => Ok(Some(user)),
            None => Err(OgError::new(
                StatusCode::UNAUTHORIZED,
                "This calendar link is not valid (the token was replaced or revoked): ask for a \
                 new one with POST /v2/schedules/on-calls/{user}/calendar-token",
            )),
        };
    }
    Caller::from_request_parts(parts, state).await?;
    Ok(None)
}

/// The feed window: see the module docs.
fn window(state: &AppState, params: &Params) -> Result<(i64, i64), OgError> {
    let now = state.clock.now_ms();
    let start = (now - 30 * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
    let (from, to) = on_call::window(params, start, (120, "days"))?;
    // iCalendar counts in whole seconds; so does the window, so events match the timeline.
    Ok((from.div_euclid(1000) * 1000, to.div_euclid(1000) * 1000))
}

fn period_bounds(p: &Period) -> (i64, i64) {
    (p.start.timestamp_millis(), p.end.timestamp_millis())
}

/// `GET /v2/schedules/{identifier}.ics`.
pub(super) async fn schedule_feed(
    state: &AppState,
    identifier: &str,
    params: &Params,
    parts: &mut Parts,
) -> Result<Response, OgError> {
    authorize(state, params, parts).await?;
    let s = find_schedule(state, identifier, params).await?;
    let (from, to) = window(state, params)?;
    let Prepared { schedule, names } = on_call::prepare(&state.store, &s, from, to).await?;
    let (a, b) = (
        instant(from).map_err(|e| OgError::field("date", e))?,
        instant(to).map_err(|e| OgError::field("date", e))?,
    );
    let rotation_name = |id: &str| {
        s.rotations
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    let events: Vec<Event> = schedule
        .final_timeline(a, b)
        .iter()
        .map(|p| {
            let (start, end) = period_bounds(p);
            let username = names.get(&p.user).cloned().unwrap_or_default();
            let layer = match &p.rotation {
                Some(id) => format!("Rotation: {}", rotation_name(id)),
                None => super::render::SCHEDULE_OVERRIDES.to_string(),
            };
            Event {
                uid: format!(
                    "{}-{}-{start}-{}@klaxon",
                    s.id,
                    p.rotation.as_deref().unwrap_or("overrides"),
                    p.user
                ),
                start,
                end,
                summary: format!("On call: {} ({username})", s.name),
                description: if p.is_override {
                    format!("{layer} (override)")
                } else {
                    layer
                },
            }
        })
        .collect();
    Ok(ics_response(calendar(
        &format!("On call: {}", s.name),
        &events,
        state.clock.now_ms(),
    )))
}

/// Periods of one user merged where they touch or overlap (they arrive sorted by start).
fn merged(periods: impl Iterator<Item = (i64, i64)>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (start, end) in periods {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// `GET /v2/schedules/on-calls/{user}.ics`: a user's own shifts in every enabled schedule.
pub async fn user_feed(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(params): Query<Params>,
    mut parts: Parts,
) -> Result<Response, OgError> {
    let Some(key) = raw.strip_suffix(".ics") else {
        return Err(OgError::not_found(format!(
            "Unknown resource {raw:?}: a user's calendar feed is /v2/schedules/on-calls/{raw}.ics"
        )));
    };
    let allowed = authorize(&state, &params, &mut parts).await?;
    let user: UserRef =
        state.store.schedule_user(key).await?.ok_or_else(|| {
            OgError::not_found(format!("No user exists with id or username {key:?}"))
        })?;
    if allowed.as_ref().is_some_and(|owner| *owner != user.id) {
        return Err(OgError::new(
            StatusCode::FORBIDDEN,
            "This calendar token belongs to another user: it opens only its owner's feed",
        ));
    }
    let (from, to) = window(&state, &params)?;
    let (a, b) = (
        instant(from).map_err(|e| OgError::field("date", e))?,
        instant(to).map_err(|e| OgError::field("date", e))?,
    );
    let schedules = state.store.list_schedules().await?;
    let overrides = state.store.schedule_overrides(None, Some(from)).await?;
    let time_off = state.store.time_off_between(from, to, None).await?;
    let mut by_schedule: HashMap<&str, Vec<StoredOverride>> = HashMap::new();
    for o in &overrides {
        by_schedule
            .entry(o.schedule_id.as_str())
            .or_default()
            .push(o.clone());
    }
    let mut events = Vec::new();
    for s in schedules.iter().filter(|s| s.enabled) {
        let mine = by_schedule
            .get(s.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let schedule = super::build_schedule(s, mine, &time_off).map_err(super::broken(s))?;
        let periods = schedule.final_timeline(a, b);
        let shifts = merged(
            periods
                .iter()
                .filter(|p| p.user == user.id)
                .map(period_bounds),
        );
        events.extend(shifts.into_iter().map(|(start, end)| Event {
            uid: format!("{}-{start}-{}@klaxon", s.id, user.id),
            start,
            end,
            summary: format!("On call: {}", s.name),
            description: format!("{} is on call in {}", user.username, s.name),
        }));
    }
    events.sort_by_key(|e| e.start);
    Ok(ics_response(calendar(
        &format!("On call: {}", user.username),
        &events,
        state.clock.now_ms(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(60));
        push_line(&mut out, &long);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.last(), Some(&""), "ends with CRLF");
        for l in &lines {
            assert!(l.len() <= 75, "{} octets: {l:?}", l.len());
        }
        assert!(lines[1].starts_with(' '));
        let unfolded: String = out.replace("\r\n ", "").trim_end().to_string();
        assert_eq!(unfolded, long);
    }

    #[test]
    fn text_is_escaped_and_times_are_utc() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        assert_eq!(ical_time(1_767_225_600_123), "20260101T000000Z");
        let cal = calendar(
            "On call: SRE",
            &[Event {
                uid: "u1@klaxon".into(),
                start: 0,
                end: 3_600_000,
                summary: "On call: SRE".into(),
                description: String::new(),
            }],
            0,
        );
        assert!(
            cal.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
            "{cal}"
        );
        assert!(cal.contains("\r\nDTSTART:19700101T000000Z\r\nDTEND:19700101T010000Z\r\n"));
        assert!(cal.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(
            !cal.replace("\r\n", "").contains('\n'),
            "bare LF in {cal:?}"
        );
    }

    #[test]
    fn a_users_touching_shifts_become_one_event() {
        assert_eq!(
            merged([(0, 10), (10, 20), (15, 18), (30, 40)].into_iter()),
            [(0, 20), (30, 40)]
        );
    }
}
