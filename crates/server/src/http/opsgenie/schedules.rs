//! The OpsGenie Schedule API (`/v2/schedules`: schedules, rotations, overrides, who is on call,
//! timelines, iCal) and Klaxon's time off (`/v2/time-off`).
//!
//! Schedules are stored rows; every question about them ("who is on call at T") is answered by
//! `klaxon_core::schedule` from a [`Schedule`] built here from those rows, with time off
//! applied. Inside that maths users and rotations are named by their ids, which never change;
//! usernames and rotation names are put back when rendering.
//!
//! Identifiers: `{identifier}` is an id or, with `identifierType=name` (or
//! `scheduleIdentifierType=name`), a name; an id that matches no schedule is tried as a name,
//! so clients that lost an id still find the schedule.
//!
//! Schedules declared in the config file (`managed`) are read-only here (403); overrides may
//! still be added to them, since swaps are day-to-day work.

mod crud;
mod ical;
mod on_call;
mod parse;
mod render;
mod time_off;

pub use time_off::{calendar_feed_url, new_calendar_token, segment as path_segment};

pub(crate) use on_call::prepare;
pub use on_call::{on_call_sets, on_call_users};

use super::error::{envelope, obj, OgError};
use crate::app::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use klaxon_core::schedule::{
    parse_time_zone, Override, Participant, Rotation, RotationSpec, Schedule, TimeOff,
};
use klaxon_store::{StoreError, StoredOverride, StoredSchedule, StoredTimeOff};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    use crud::*;
    Router::new()
        .route("/v2/schedules", get(list).post(create))
        .route("/v2/schedules/on-calls", get(on_call::all_on_calls))
        .route("/v2/schedules/on-calls/{user}", get(ical::user_feed))
        .route(
            "/v2/schedules/on-calls/{user}/calendar-token",
            post(time_off::create_calendar_token).delete(time_off::delete_calendar_token),
        )
        .route(
            "/v2/schedules/{identifier}",
            get(get_one_or_ics).patch(update).delete(delete),
        )
        .route(
            "/v2/schedules/{identifier}/rotations",
            get(list_rotations).post(add_rotation),
        )
        .route(
            "/v2/schedules/{identifier}/rotations/{rotation}",
            get(get_rotation)
                .patch(update_rotation)
                .put(update_rotation)
                .delete(delete_rotation),
        )
        .route(
            "/v2/schedules/{identifier}/overrides",
            get(list_overrides).post(create_override),
        )
        .route(
            "/v2/schedules/{identifier}/overrides/{alias}",
            get(get_override)
                .put(update_override)
                .patch(update_override)
                .delete(delete_override),
        )
        .route(
            "/v2/schedules/{identifier}/on-calls",
            get(on_call::on_calls),
        )
        .route(
            "/v2/schedules/{identifier}/next-on-calls",
            get(on_call::next_on_calls),
        )
        .route(
            "/v2/schedules/{identifier}/timeline",
            get(on_call::timeline),
        )
        .route("/v2/time-off", get(time_off::list).post(time_off::create))
        .route(
            "/v2/time-off/{id}",
            get(time_off::get_one)
                .patch(time_off::update)
                .delete(time_off::delete),
        )
}

type Params = HashMap<String, String>;

fn ok(v: Value) -> Response {
    envelope(StatusCode::OK, obj(v))
}

fn created(data: Value) -> Response {
    envelope(StatusCode::CREATED, obj(json!({ "data": data })))
}

fn deleted() -> Response {
    ok(json!({"result": "Deleted"}))
}

/// A store refusal (taken name, unknown user) as a 422 on `field`; anything else is a 500.
fn refused(field: &'static str) -> impl Fn(StoreError) -> OgError {
    move |e| match e {
        StoreError::Invalid(message) => OgError::field(field, message),
        other => OgError::from(other),
    }
}

/// The schedule a path names (see the module docs for identifier types).
async fn find_schedule(
    state: &AppState,
    raw: &str,
    params: &Params,
) -> Result<StoredSchedule, OgError> {
    let kind = params
        .get("scheduleIdentifierType")
        .or_else(|| params.get("identifierType"))
        .map(String::as_str)
        .unwrap_or("id");
    let found = match kind {
        "id" => match state.store.schedule_by_id(raw).await? {
            Some(s) => Some(s),
            None => state.store.schedule_by_name(raw).await?,
        },
        "name" => state.store.schedule_by_name(raw).await?,
        _ => {
            return Err(OgError::field(
                "identifierType",
                "should be one of [ id, name ]",
            ))
        }
    };
    found.ok_or_else(|| {
        OgError::not_found(format!(
            "No schedule exists with {kind} {raw:?}; list them with GET /v2/schedules"
        ))
    })
}

/// Refuses to change a schedule that the config file declares.
fn writable(s: &StoredSchedule) -> Result<(), OgError> {
    if s.managed {
        Err(OgError::new(
            StatusCode::FORBIDDEN,
            format!(
                "Schedule {:?} is declared in the config file and is read-only through the API: \
                 change it there and restart (or reload) Klaxon. Overrides can still be added through the API.",
                s.name
            ),
        ))
    } else {
        Ok(())
    }
}

fn instant(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| format!("instant {ms} is out of range"))
}

fn user_participant(id: Option<&str>) -> Participant {
    id.map_or(Participant::None, Participant::user)
}

/// The schedule maths for stored rows, rotations and users named by id. Overrides whose
/// rotations are all gone are skipped (the store trims them, this guards a race), as is time
/// off the maths refuses (it was checked on write).
pub(crate) fn build_schedule(
    s: &StoredSchedule,
    overrides: &[StoredOverride],
    time_off: &[StoredTimeOff],
) -> Result<Schedule, String> {
    let tz = parse_time_zone(&s.time_zone).map_err(|e| e.to_string())?;
    let rotations = s
        .rotations
        .iter()
        .map(|r| {
            Rotation::new(RotationSpec {
                name: r.id.clone(),
                kind: r.kind,
                length: r.length,
                start: instant(r.start)?,
                end: r.end.map(instant).transpose()?,
                participants: r
                    .participants
                    .iter()
                    .map(|p| user_participant(p.as_ref().map(|u| u.id.as_str())))
                    .collect(),
                restriction: r.restriction.clone(),
            })
            .map_err(|e| format!("rotation {:?}: {e}", r.name))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut kept = Vec::with_capacity(overrides.len());
    for o in overrides.iter().filter(|o| o.schedule_id == s.id) {
        let targets: Vec<String> = o
            .rotation_ids
            .iter()
            .filter(|id| s.rotations.iter().any(|r| &r.id == *id))
            .cloned()
            .collect();
        if targets.is_empty() && !o.rotation_ids.is_empty() {
            continue;
        }
        let user = user_participant(o.user.as_ref().map(|u| u.id.as_str()));
        kept.push(
            Override::new(user, instant(o.start)?, instant(o.end)?, Some(targets))
                .map_err(|e| format!("override {:?}: {e}", o.alias))?,
        );
    }
    let away = time_off
        .iter()
        .filter_map(|t| {
            let (start, end) = (instant(t.start).ok()?, instant(t.end).ok()?);
            let replacement = t.replacement.as_ref().map(|u| u.id.clone());
            TimeOff::new(t.user.id.clone(), start, end, replacement).ok()
        })
        .collect();
    Schedule::new(tz, s.mode, rotations, kept)
        .map(|schedule| schedule.with_time_off(away))
        .map_err(|e| e.to_string())
}

/// Stored data the maths refuses is a server-side problem, never the caller's.
fn broken(s: &StoredSchedule) -> impl FnOnce(String) -> OgError + '_ {
    move |e| {
        tracing::error!(schedule = %s.id, error = %e, "stored schedule is invalid");
        OgError::internal()
    }
}
