//! Schedules, rotations, overrides, time off, on-calls and timelines in OpsGenie's JSON shapes
//! (`opsgenie-oas` definitions). Lists are always present, empty when there is nothing
//! (Terraform and the backup tool break on a missing `rotations`). Instants are UTC with
//! milliseconds and `Z`.

use chrono::Weekday;
use klaxon_core::schedule::{Period, Restriction};
use klaxon_core::time::format_iso;
use klaxon_store::{StoredOverride, StoredRotation, StoredSchedule, StoredTimeOff, UserRef};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// `_parent` and the create/update answers: `{id, name, enabled}`.
pub fn meta(s: &StoredSchedule) -> Value {
    json!({"id": s.id, "name": s.name, "enabled": s.enabled})
}

/// A schedule; `with_rotations: false` gives the list shape without `expand=rotation`, which
/// still carries `rotations: []`. `mode` and `managed` are Klaxon's additions.
pub fn schedule(s: &StoredSchedule, with_rotations: bool) -> Value {
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "timezone": s.time_zone,
        "enabled": s.enabled,
        "mode": s.mode.as_str(),
        "managed": s.managed,
        "rotations": if with_rotations {
            s.rotations.iter().map(rotation).collect::<Vec<_>>()
        } else {
            vec![]
        },
    });
    if let (Some(team), Some(m)) = (&s.team, v.as_object_mut()) {
        m.insert(
            "ownerTeam".into(),
            json!({"id": team.id, "name": team.name}),
        );
    }
    v
}

pub fn rotation(r: &StoredRotation) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("name".into(), json!(r.name));
    m.insert("startDate".into(), json!(format_iso(r.start)));
    if let Some(end) = r.end {
        m.insert("endDate".into(), json!(format_iso(end)));
    }
    m.insert("type".into(), json!(r.kind.as_str()));
    m.insert("length".into(), json!(r.length));
    m.insert(
        "participants".into(),
        Value::Array(
            r.participants
                .iter()
                .map(|p| match p {
                    Some(u) => json!({"type": "user", "id": u.id, "username": u.username}),
                    None => json!({"type": "none"}),
                })
                .collect(),
        ),
    );
    if let Some(restriction) = &r.restriction {
        m.insert("timeRestriction".into(), time_restriction(restriction));
    }
    Value::Object(m)
}

/// A rotation with its schedule, as `GET …/rotations/{id}` answers.
pub fn rotation_with_parent(s: &StoredSchedule, r: &StoredRotation) -> Value {
    let mut v = rotation(r);
    if let Some(m) = v.as_object_mut() {
        m.insert("_parent".into(), meta(s));
    }
    v
}

fn day(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

pub fn time_restriction(r: &Restriction) -> Value {
    match r {
        Restriction::TimeOfDay { start, end } => json!({
            "type": "time-of-day",
            "restriction": {
                "startHour": start.hour(), "startMin": start.minute(),
                "endHour": end.hour(), "endMin": end.minute(),
            },
        }),
        Restriction::WeekdayAndTimeOfDay(windows) => json!({
            "type": "weekday-and-time-of-day",
            "restrictions": windows.iter().map(|w| json!({
                "startDay": day(w.start_day), "startHour": w.start.hour(), "startMin": w.start.minute(),
                "endDay": day(w.end_day), "endHour": w.end.hour(), "endMin": w.end.minute(),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// An override user: `name` for OpsGenie's `TimelineRecipient`, `username` for clients that
/// send and read it that way.
fn override_user(u: Option<&UserRef>) -> Value {
    match u {
        Some(u) => json!({"type": "user", "id": u.id, "name": u.username, "username": u.username}),
        None => json!({"type": "none"}),
    }
}

pub fn schedule_override(s: &StoredSchedule, o: &StoredOverride) -> Value {
    json!({
        "_parent": meta(s),
        "alias": o.alias,
        "user": override_user(o.user.as_ref()),
        "startDate": format_iso(o.start),
        "endDate": format_iso(o.end),
        "rotations": o.rotation_ids.iter().filter_map(|id| {
            s.rotations.iter().find(|r| &r.id == id).map(|r| json!({"id": r.id, "name": r.name}))
        }).collect::<Vec<_>>(),
        "managed": o.managed,
    })
}

fn user_ref(u: &UserRef) -> Value {
    json!({"id": u.id, "username": u.username})
}

pub fn time_off(t: &StoredTimeOff) -> Value {
    json!({
        "id": t.id,
        "user": user_ref(&t.user),
        "replacement": t.replacement.as_ref().map(user_ref),
        "startDate": format_iso(t.start),
        "endDate": format_iso(t.end),
        "reason": t.reason,
        "managed": t.managed,
    })
}

/// Usernames of the user ids the schedule maths answers with.
pub type Names = HashMap<String, String>;

/// OpsGenie's on-call `Participant` for a user id.
pub fn participant(id: &str, names: &Names) -> Value {
    json!({"id": id, "name": names.get(id).cloned().unwrap_or_default(), "type": "user"})
}

pub fn name_of(id: &str, names: &Names) -> String {
    names.get(id).cloned().unwrap_or_default()
}

/// `GET …/on-calls`: nested participants, or with `flat` only their usernames.
pub fn on_call(s: &StoredSchedule, users: &[String], names: &Names, flat: bool) -> Value {
    if flat {
        json!({
            "_parent": meta(s),
            "onCallRecipients": users.iter().map(|u| name_of(u, names)).collect::<Vec<_>>(),
        })
    } else {
        json!({
            "_parent": meta(s),
            "onCallParticipants": users.iter().map(|u| participant(u, names)).collect::<Vec<_>>(),
        })
    }
}

/// `GET …/next-on-calls`, named as in `opsgenie-oas` (and so as the SDK reads it).
pub fn next_on_call(s: &StoredSchedule, users: &[String], names: &Names, flat: bool) -> Value {
    if flat {
        let list: Vec<String> = users.iter().map(|u| name_of(u, names)).collect();
        json!({
            "_parent": meta(s),
            "nextOnCallParticipants": list,
            "exactNextOnCallParticipants": list,
        })
    } else {
        let list: Vec<Value> = users.iter().map(|u| participant(u, names)).collect();
        json!({
            "_parent": meta(s),
            "nextOnCallRecipients": list,
            "exactNextOnCallRecipients": list,
        })
    }
}

/// Name of the timeline entry that holds overrides of the whole schedule, which belong to no
/// rotation.
pub const SCHEDULE_OVERRIDES: &str = "Schedule overrides";

/// A timeline (`finalTimeline`, `baseTimeline`, `overrideTimeline`): one entry per rotation in
/// layer order, each with its periods (possibly none), then one for schedule-wide overrides if
/// any fall in the window.
pub fn timeline(s: &StoredSchedule, periods: &[Period], names: &Names) -> Value {
    let entry = |id: &str, name: &str, order: usize, key: Option<&str>| {
        json!({
            "id": id,
            "name": name,
            "order": order as f64,
            "periods": periods.iter().filter(|p| p.rotation.as_deref() == key).map(|p| json!({
                "startDate": format_iso(p.start.timestamp_millis()),
                "endDate": format_iso(p.end.timestamp_millis()),
                "type": if p.is_override { "override" } else { "default" },
                "recipient": participant(&p.user, names),
            })).collect::<Vec<_>>(),
        })
    };
    let mut rotations: Vec<Value> = s
        .rotations
        .iter()
        .enumerate()
        .map(|(i, r)| entry(&r.id, &r.name, i + 1, Some(&r.id)))
        .collect();
    if periods.iter().any(|p| p.rotation.is_none()) {
        rotations.push(entry(
            "schedule-overrides",
            SCHEDULE_OVERRIDES,
            s.rotations.len() + 1,
            None,
        ));
    }
    json!({ "rotations": rotations })
}
