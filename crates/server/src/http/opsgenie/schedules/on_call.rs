//! Who is on call: `on-calls` (one schedule or all), `next-on-calls` and `timeline`.
//!
//! A disabled schedule puts nobody on call (its on-calls are empty), but its timeline still
//! shows what it would do, so it can be checked before it is enabled.

use super::super::error::OgError;
use super::super::Caller;
use super::render::{self, Names};
use super::{build_schedule, find_schedule, instant, ok, Params};
use crate::app::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Months, TimeDelta, Utc};
use klaxon_core::schedule::Schedule;
use klaxon_core::time::format_iso;
use klaxon_store::{Store, StoreError, StoredOverride, StoredSchedule, StoredTimeOff, UserRef};
use serde_json::json;
use std::collections::HashMap;

/// How far `next-on-calls` may look: the schedule maths looks at most ten years ahead.
const NEXT_HORIZON_MS: i64 = 10 * 366 * 24 * 3_600_000;
/// The longest timeline one request may ask for.
const MAX_TIMELINE_DAYS: i64 = 2 * 366;

/// A schedule ready for questions about one window, with usernames for its user ids.
pub(crate) struct Prepared {
    pub schedule: Schedule,
    pub names: Names,
}

/// Usernames of everyone a schedule, its overrides and time off can put on call.
fn names(s: &StoredSchedule, overrides: &[StoredOverride], time_off: &[StoredTimeOff]) -> Names {
    let users = s
        .rotations
        .iter()
        .flat_map(|r| r.participants.iter().flatten())
        .chain(overrides.iter().filter_map(|o| o.user.as_ref()))
        .chain(
            time_off
                .iter()
                .flat_map(|t| std::iter::once(&t.user).chain(&t.replacement)),
        );
    users.map(|u| (u.id.clone(), u.username.clone())).collect()
}

fn prepared(
    s: &StoredSchedule,
    overrides: &[StoredOverride],
    time_off: &[StoredTimeOff],
) -> Result<Prepared, StoreError> {
    let schedule = build_schedule(s, overrides, time_off)
        .map_err(|e| StoreError::Corrupt(format!("schedule {:?}: {e}", s.id)))?;
    Ok(Prepared {
        schedule,
        names: names(s, overrides, time_off),
    })
}

/// Reads the overrides and time off that matter in `[from, to)` and builds the schedule.
pub(crate) async fn prepare(
    store: &Store,
    s: &StoredSchedule,
    from: i64,
    to: i64,
) -> Result<Prepared, StoreError> {
    let overrides = store.schedule_overrides(Some(&s.id), Some(from)).await?;
    let time_off = store.time_off_between(from, to, None).await?;
    prepared(s, &overrides, &time_off)
}

/// Who is on call in `s` at `at` (unix ms), overrides and time off applied, in rotation
/// order; nobody for a disabled schedule. For the escalation engine and the API alike.
pub async fn on_call_users(
    store: &Store,
    s: &StoredSchedule,
    at: i64,
) -> Result<Vec<UserRef>, StoreError> {
    if !s.enabled {
        return Ok(vec![]);
    }
    let p = prepare(store, s, at, at.saturating_add(1)).await?;
    let t = instant(at).map_err(StoreError::Invalid)?;
    Ok(p.schedule
        .on_call_at(t)
        .into_iter()
        .map(|id| UserRef {
            username: render::name_of(&id, &p.names),
            id,
        })
        .collect())
}

/// `date` (default now). A `+` in an offset that arrived as a space is accepted.
pub(super) fn date(state: &AppState, params: &Params) -> Result<i64, OgError> {
    match params.get("date").filter(|d| !d.trim().is_empty()) {
        None => Ok(state.clock.now_ms()),
        Some(d) => super::super::input::parse_instant(d).map_err(|e| OgError::field("date", e)),
    }
}

fn flat(params: &Params) -> bool {
    params
        .get("flat")
        .is_some_and(|f| f.eq_ignore_ascii_case("true"))
}

fn at(ms: i64) -> Result<DateTime<Utc>, OgError> {
    instant(ms).map_err(|e| OgError::field("date", e))
}

/// Who is on call in one schedule at `date`: `onCallParticipants`, or with `flat=true`
/// `onCallRecipients` (usernames).
pub async fn on_calls(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let t = date(&state, &params)?;
    let users = on_call_users(&state.store, &s, t).await?;
    let names: Names = users
        .iter()
        .map(|u| (u.id.clone(), u.username.clone()))
        .collect();
    let ids: Vec<String> = users.into_iter().map(|u| u.id).collect();
    Ok(ok(
        json!({"data": render::on_call(&s, &ids, &names, flat(&params))}),
    ))
}

/// Who is on call in every schedule at `date`, by schedule name.
pub async fn all_on_calls(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let t = date(&state, &params)?;
    let when = at(t)?;
    let schedules = state.store.list_schedules().await?;
    let overrides = state.store.schedule_overrides(None, Some(t)).await?;
    let time_off = state
        .store
        .time_off_between(t, t.saturating_add(1), None)
        .await?;
    let mut by_schedule: HashMap<&str, Vec<StoredOverride>> = HashMap::new();
    for o in &overrides {
        by_schedule
            .entry(o.schedule_id.as_str())
            .or_default()
            .push(o.clone());
    }
    let mut data = Vec::with_capacity(schedules.len());
    for s in &schedules {
        let mine = by_schedule
            .get(s.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let p = prepared(s, mine, &time_off)?;
        let users = if s.enabled {
            p.schedule.on_call_at(when)
        } else {
            vec![]
        };
        data.push(render::on_call(s, &users, &p.names, flat(&params)));
    }
    Ok(ok(json!({ "data": data })))
}

/// The first change after `date` to someone else on call, and who that is.
pub async fn next_on_calls(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let t = date(&state, &params)?;
    let p = prepare(&state.store, &s, t, t.saturating_add(NEXT_HORIZON_MS)).await?;
    let users = match p.schedule.next_on_call_after(at(t)?) {
        Some((_, users)) if s.enabled => users,
        _ => vec![],
    };
    Ok(ok(
        json!({"data": render::next_on_call(&s, &users, &p.names, flat(&params))}),
    ))
}

/// The window of a timeline (and of an iCal feed): from `date` for `interval` ×
/// `intervalUnit` (days | weeks | months). `default_start` and `default_days` apply when
/// `date` or `interval` are absent.
pub(super) fn window(
    params: &Params,
    default_start: i64,
    default_interval: (i64, &str),
) -> Result<(i64, i64), OgError> {
    let from = match params.get("date").filter(|d| !d.trim().is_empty()) {
        None => default_start,
        Some(d) => super::super::input::parse_instant(d).map_err(|e| OgError::field("date", e))?,
    };
    let interval = match params.get("interval").filter(|i| !i.trim().is_empty()) {
        None => default_interval.0,
        Some(i) => i
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| OgError::field("interval", "should be a whole number of at least 1"))?,
    };
    let unit = params
        .get("intervalUnit")
        .map(String::as_str)
        .unwrap_or(default_interval.1);
    let start = at(from)?;
    let too_long = || {
        OgError::field(
            "interval",
            format!("asks for more than {MAX_TIMELINE_DAYS} days; ask for a shorter window"),
        )
    };
    let end = match unit {
        "days" | "weeks" => {
            let days = if unit == "weeks" {
                interval.saturating_mul(7)
            } else {
                interval
            };
            if days > MAX_TIMELINE_DAYS {
                return Err(too_long());
            }
            start.checked_add_signed(TimeDelta::days(days))
        }
        "months" => {
            let months = u32::try_from(interval)
                .ok()
                .filter(|m| *m <= 24)
                .ok_or_else(too_long)?;
            start.checked_add_months(Months::new(months))
        }
        _ => {
            return Err(OgError::field(
                "intervalUnit",
                "should be one of [ days, weeks, months ]",
            ))
        }
    };
    let end = end.ok_or_else(too_long)?;
    if (end - start).num_days() > MAX_TIMELINE_DAYS {
        return Err(too_long());
    }
    Ok((from, end.timestamp_millis()))
}

/// Who is on call over a window, as periods: `finalTimeline`, and with `expand=base`,
/// `expand=override` (comma-separated) the rotations alone and the overrides alone.
pub async fn timeline(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let (from, to) = window(&params, state.clock.now_ms(), (1, "weeks"))?;
    let p = prepare(&state.store, &s, from, to).await?;
    let (a, b) = (at(from)?, at(to)?);
    let expand: Vec<&str> = params
        .get("expand")
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let mut data = json!({
        "_parent": render::meta(&s),
        "startDate": format_iso(from),
        "endDate": format_iso(to),
        "finalTimeline": render::timeline(&s, &p.schedule.final_timeline(a, b), &p.names),
    });
    if let Some(m) = data.as_object_mut() {
        if expand.contains(&"base") {
            m.insert(
                "baseTimeline".into(),
                render::timeline(&s, &p.schedule.base_timeline(a, b), &p.names),
            );
        }
        if expand.contains(&"override") {
            m.insert(
                "overrideTimeline".into(),
                render::timeline(&s, &p.schedule.override_timeline(a, b), &p.names),
            );
        }
        if expand.contains(&"forwarding") {
            // Klaxon has no forwarding rules: nothing is ever forwarded.
            m.insert("forwardingTimeline".into(), json!({"rotations": []}));
        }
    }
    Ok(ok(
        json!({"data": data, "expandable": ["base", "forwarding", "override"]}),
    ))
}

/// Who is on call in `s` at `at`, who takes over at the next change, and who was on call
/// before the last change (looked for hour by hour up to 31 days back): what an escalation
/// rule with notifyType default, next and previous notifies. Nobody for a disabled schedule.
pub async fn on_call_sets(
    store: &Store,
    s: &StoredSchedule,
    at: i64,
) -> Result<[Vec<UserRef>; 3], StoreError> {
    if !s.enabled {
        return Ok([vec![], vec![], vec![]]);
    }
    const HOUR: i64 = 3_600_000;
    const BACK: i64 = 31 * 24 * HOUR;
    let p = prepare(
        store,
        s,
        at.saturating_sub(BACK),
        at.saturating_add(NEXT_HORIZON_MS),
    )
    .await?;
    let refs = |ids: Vec<String>| -> Vec<UserRef> {
        ids.into_iter()
            .map(|id| UserRef {
                username: render::name_of(&id, &p.names),
                id,
            })
            .collect()
    };
    let t = instant(at).map_err(StoreError::Invalid)?;
    let now = p.schedule.on_call_at(t);
    let next = p
        .schedule
        .next_on_call_after(t)
        .map(|(_, users)| users)
        .unwrap_or_default();
    let mut previous = Vec::new();
    let mut probe = at;
    while probe > at - BACK {
        probe -= HOUR;
        let users = p
            .schedule
            .on_call_at(instant(probe).map_err(StoreError::Invalid)?);
        if users != now {
            previous = users;
            break;
        }
    }
    Ok([refs(now), refs(next), refs(previous)])
}
