//! Reading schedule, rotation and override bodies in OpsGenie's shapes. Every problem is
//! reported against its field (`rotations[1].timeRestriction`), all of them at once, in the
//! 422 shape; the schedule maths decides what is valid.

use super::super::error::OgError;
use crate::app::AppState;
use klaxon_core::schedule::{
    ClockTime, Participant, Restriction, Rotation, RotationKind, RotationSpec, ScheduleError,
    ScheduleMode, WeekdayWindow,
};
use klaxon_store::{RotationFields, StoredRotation, StoredSchedule};
use serde_json::{Map, Value};

/// Problems found so far, by field path.
#[derive(Default)]
pub(super) struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push((field.into(), problem.into()));
    }

    /// Fails with a 422 listing every problem, or passes when there is none.
    pub fn check(&mut self) -> Result<(), OgError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(OgError::fields(std::mem::take(&mut self.0)))
        }
    }
}

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(super) use crate::http::opsgenie::error::json_object as body;

/// Typed reads of one JSON object, recording problems under `prefix`. A missing key and
/// `null` both read as absent.
pub(super) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub prefix: String,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>, prefix: impl Into<String>) -> Self {
        Obj {
            map,
            prefix: prefix.into(),
        }
    }

    pub fn field(&self, key: &str) -> String {
        path(&self.prefix, key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str, p: &mut Problems) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                p.add(self.field(key), "should be a string");
                None
            }
        }
    }

    pub fn bool(&self, key: &str, p: &mut Problems) -> Option<bool> {
        match self.value(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" || s == "false" => Some(s == "true"),
            _ => {
                p.add(self.field(key), "should be true or false");
                None
            }
        }
    }

    /// A whole number in `range`; numeric strings are accepted (form-built clients send them).
    pub fn int(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        p: &mut Problems,
    ) -> Option<i64> {
        let v = self.value(key)?;
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n.filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                p.add(
                    self.field(key),
                    format!(
                        "should be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    pub fn instant(&self, key: &str, p: &mut Problems) -> Option<i64> {
        let s = self.str(key, p)?;
        match super::super::input::parse_instant(&s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                p.add(self.field(key), e);
                None
            }
        }
    }

    pub fn obj(&self, key: &str, p: &mut Problems) -> Option<&'a Map<String, Value>> {
        match self.value(key)? {
            Value::Object(m) => Some(m),
            _ => {
                p.add(self.field(key), "should be an object");
                None
            }
        }
    }

    pub fn list(&self, key: &str, p: &mut Problems) -> Option<&'a Vec<Value>> {
        match self.value(key)? {
            Value::Array(items) => Some(items),
            _ => {
                p.add(self.field(key), "should be a list");
                None
            }
        }
    }

    /// The objects of a list, each with its own prefix (`rotations[2]`).
    pub fn objects(&self, key: &str, p: &mut Problems) -> Option<Vec<Obj<'a>>> {
        let items = self.list(key, p)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}[{i}]", self.field(key));
            match item {
                Value::Object(m) => out.push(Obj::new(m, at)),
                _ => p.add(at, "should be an object"),
            }
        }
        Some(out)
    }
}

/// A reference to a user (or nobody) as clients send it: `{type, id|username|name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UserKey {
    Nobody,
    /// Keys to try in order: the id first, then the username or name (COMPAT: an unknown id
    /// is resolved by name).
    User(Vec<String>),
}

/// Reads a participant or override user. Only users and `none` can be on call in Klaxon's
/// schedules; teams and escalations are refused with a message that says so.
pub(super) fn user_key(o: &Obj<'_>, p: &mut Problems) -> Option<UserKey> {
    let kind = o.str("type", p);
    let keys: Vec<String> = ["id", "username", "name"]
        .iter()
        .filter_map(|k| o.str(k, p))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    match kind.as_deref() {
        Some("none") => Some(UserKey::Nobody),
        Some("user") | None if !keys.is_empty() => Some(UserKey::User(keys)),
        Some("user") | None => {
            p.add(
                o.field("username"),
                "name the user with username or id, or use {\"type\":\"none\"} for nobody",
            );
            None
        }
        Some(other) => {
            p.add(
                o.field("type"),
                format!(
                    "type {other:?} is not supported here: use user (with username or id) or none"
                ),
            );
            None
        }
    }
}

/// Resolves a user key to the user's id, recording an unknown user as a problem.
pub(super) async fn resolve_user(
    state: &AppState,
    key: &UserKey,
    field: &str,
    p: &mut Problems,
) -> Result<Option<Option<String>>, OgError> {
    let UserKey::User(keys) = key else {
        return Ok(Some(None));
    };
    for k in keys {
        if let Some(u) = state.store.schedule_user(k).await? {
            return Ok(Some(Some(u.id)));
        }
    }
    p.add(
        field,
        format!(
            "user {:?} does not exist",
            keys.last().cloned().unwrap_or_default()
        ),
    );
    Ok(None)
}

fn parse_kind(s: &str) -> Option<RotationKind> {
    s.parse().ok()
}

fn parse_mode(s: &str) -> Option<ScheduleMode> {
    s.parse().ok()
}

pub(super) fn mode(o: &Obj<'_>, p: &mut Problems) -> Option<ScheduleMode> {
    let s = o.str("mode", p)?;
    let m = parse_mode(&s);
    if m.is_none() {
        p.add(o.field("mode"), "should be one of [ cumulative, layered ]");
    }
    m
}

fn clock(o: &Obj<'_>, hour: &str, minute: &str, p: &mut Problems) -> Option<ClockTime> {
    let h = o.int(hour, 0..=24, p);
    let m = if o.has(minute) {
        o.int(minute, 0..=59, p)
    } else {
        Some(0)
    };
    if !o.has(hour) {
        p.add(o.field(hour), "is required");
    }
    match ClockTime::new(u32::try_from(h?).ok()?, u32::try_from(m?).ok()?) {
        Ok(t) => Some(t),
        Err(e) => {
            p.add(o.field(hour), e.to_string());
            None
        }
    }
}

fn weekday(o: &Obj<'_>, key: &str, p: &mut Problems) -> Option<chrono::Weekday> {
    let s = o.str(key, p);
    if s.is_none() && !o.has(key) {
        p.add(o.field(key), "is required");
    }
    match s?.trim().parse() {
        Ok(d) => Some(d),
        Err(_) => {
            p.add(o.field(key), "should be a day of the week such as monday");
            None
        }
    }
}

/// OpsGenie's `timeRestriction`: `{type: time-of-day, restriction: {startHour, startMin,
/// endHour, endMin}}` or `{type: weekday-and-time-of-day, restrictions: [{startDay, …, endDay,
/// …}]}`. Hours run 0–24.
fn restriction(o: &Obj<'_>, p: &mut Problems) -> Option<Restriction> {
    match o.str("type", p).as_deref() {
        Some("time-of-day") => {
            let Some(r) = o.obj("restriction", p) else {
                p.add(o.field("restriction"), "is required for time-of-day");
                return None;
            };
            let r = Obj::new(r, o.field("restriction"));
            let start = clock(&r, "startHour", "startMin", p);
            let end = clock(&r, "endHour", "endMin", p);
            Some(Restriction::TimeOfDay {
                start: start?,
                end: end?,
            })
        }
        Some("weekday-and-time-of-day") => {
            let Some(items) = o.objects("restrictions", p) else {
                p.add(
                    o.field("restrictions"),
                    "is required for weekday-and-time-of-day",
                );
                return None;
            };
            let mut windows = Vec::with_capacity(items.len());
            let mut complete = true;
            for w in &items {
                // Every part is read before any is given up on, so all problems are reported.
                let parts = (
                    weekday(w, "startDay", p),
                    clock(w, "startHour", "startMin", p),
                    weekday(w, "endDay", p),
                    clock(w, "endHour", "endMin", p),
                );
                match parts {
                    (Some(start_day), Some(start), Some(end_day), Some(end)) => {
                        windows.push(WeekdayWindow {
                            start_day,
                            start,
                            end_day,
                            end,
                        })
                    }
                    _ => complete = false,
                }
            }
            complete.then_some(Restriction::WeekdayAndTimeOfDay(windows))
        }
        _ => {
            p.add(
                o.field("type"),
                "should be one of [ time-of-day, weekday-and-time-of-day ]",
            );
            None
        }
    }
}

/// The field a schedule maths error is about, to report it where the client can fix it.
pub(super) fn field_of(e: &ScheduleError) -> &'static str {
    use ScheduleError::*;
    match e {
        UnknownTimeZone(_) => "timezone",
        EndNotAfterStart { .. } => "endDate",
        OutOfRange { .. } => "startDate",
        HourOutOfRange(_) | MinuteOutOfRange(_) | PastEndOfDay(_) | BadClockTime(_)
        | EmptyRestriction(_) => "timeRestriction",
        EmptyParticipants(_) | EmptyParticipantName(_) => "participants",
        ZeroLength(_) => "length",
        EmptyRotationName | DuplicateRotation(_) => "name",
        UnknownRotation { .. } => "rotations",
        UnknownRotationKind(_) => "type",
        UnknownMode(_) => "mode",
        EmptyOverrideUser | EmptyTimeOffUser | SelfReplacement(_) => "user",
    }
}

/// A rotation as read from a body, before users are resolved. `None` fields were absent (a
/// partial update keeps what the rotation had).
#[derive(Default)]
pub(super) struct RotationDraft {
    pub name: Option<String>,
    pub kind: Option<RotationKind>,
    pub length: Option<u32>,
    pub start: Option<i64>,
    pub end: Option<Option<i64>>,
    pub participants: Option<Vec<UserKey>>,
    pub restriction: Option<Option<Restriction>>,
}

/// Reads a rotation (`type`, `length`, `startDate`, `endDate`, `participants`,
/// `timeRestriction`, `name`). With `full`, the fields a new rotation needs are required.
pub(super) fn rotation_draft(o: &Obj<'_>, full: bool, p: &mut Problems) -> RotationDraft {
    let mut d = RotationDraft {
        name: o
            .str("name", p)
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        ..RotationDraft::default()
    };
    if let Some(kind) = o.str("type", p) {
        d.kind = parse_kind(&kind);
        if d.kind.is_none() {
            p.add(
                o.field("type"),
                "should be one of [ hourly, daily, weekly ]",
            );
        }
    } else if full {
        p.add(
            o.field("type"),
            "is required: one of [ hourly, daily, weekly ]",
        );
    }
    d.length = o
        .int("length", 1..=i64::from(u16::MAX), p)
        .and_then(|n| u32::try_from(n).ok());
    d.start = o.instant("startDate", p);
    if full && d.start.is_none() && !o.has("startDate") {
        p.add(o.field("startDate"), "is required");
    }
    if o.has("endDate") {
        d.end = Some(o.instant("endDate", p));
    }
    if let Some(items) = o.objects("participants", p) {
        d.participants = Some(items.iter().filter_map(|u| user_key(u, p)).collect());
    } else if full && !o.has("participants") {
        p.add(
            o.field("participants"),
            "is required: list at least one user (or none)",
        );
    }
    if o.has("timeRestriction") {
        d.restriction = Some(match o.obj("timeRestriction", p) {
            Some(r) => restriction(&Obj::new(r, o.field("timeRestriction")), p),
            None => None,
        });
    }
    d
}

/// Turns a draft into a rotation to store: resolves users, fills what a partial update leaves
/// out from `base`, and lets the schedule maths check it. `default_name` names a rotation that
/// came without one.
pub(super) async fn finish_rotation(
    state: &AppState,
    d: RotationDraft,
    base: Option<&StoredRotation>,
    default_name: String,
    prefix: &str,
    p: &mut Problems,
) -> Result<Option<RotationFields>, OgError> {
    let participants = match d.participants {
        Some(keys) => {
            let mut ids = Vec::with_capacity(keys.len());
            let mut complete = true;
            for (i, k) in keys.iter().enumerate() {
                let field = format!("{}[{i}]", path(prefix, "participants"));
                match resolve_user(state, k, &field, p).await? {
                    Some(id) => ids.push(id),
                    None => complete = false,
                }
            }
            complete.then_some(ids)
        }
        None => base.map(|b| {
            b.participants
                .iter()
                .map(|u| u.as_ref().map(|u| u.id.clone()))
                .collect()
        }),
    };
    let name = d
        .name
        .or_else(|| base.map(|b| b.name.clone()))
        .unwrap_or(default_name);
    let (Some(kind), Some(start), Some(participants)) = (
        d.kind.or(base.map(|b| b.kind)),
        d.start.or(base.map(|b| b.start)),
        participants,
    ) else {
        return Ok(None);
    };
    let fields = RotationFields {
        name,
        kind,
        length: d.length.or(base.map(|b| b.length)).unwrap_or(1),
        start,
        end: d.end.unwrap_or(base.and_then(|b| b.end)),
        restriction: d
            .restriction
            .unwrap_or_else(|| base.and_then(|b| b.restriction.clone())),
        participants,
    };
    match check_rotation(&fields) {
        Ok(()) => Ok(Some(fields)),
        Err(e) => {
            p.add(path(prefix, field_of(&e)), e.to_string());
            Ok(None)
        }
    }
}

/// What the schedule maths says about a rotation on its own.
fn check_rotation(f: &RotationFields) -> Result<(), ScheduleError> {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).ok_or(ScheduleError::OutOfRange {
            what: format!("rotation `{}`", f.name),
            at: chrono::DateTime::<chrono::Utc>::MAX_UTC,
        })
    };
    Rotation::new(RotationSpec {
        name: f.name.clone(),
        kind: f.kind,
        length: f.length,
        start: at(f.start)?,
        end: f.end.map(at).transpose()?,
        participants: f
            .participants
            .iter()
            .map(|u| u.as_deref().map_or(Participant::None, Participant::user))
            .collect(),
        restriction: f.restriction.clone(),
    })
    .map(|_| ())
}

/// A name for a rotation sent without one: `Rotation N`, the first N not taken.
pub(super) fn free_rotation_name(taken: &[String], from: usize) -> String {
    (from..)
        .map(|n| format!("Rotation {n}"))
        .find(|name| !taken.iter().any(|t| t.eq_ignore_ascii_case(name)))
        .unwrap_or_else(|| format!("Rotation {}", uuid::Uuid::new_v4()))
}

/// Reads the `rotations` of a schedule body, all new; names must be unique.
pub(super) async fn rotations(
    state: &AppState,
    o: &Obj<'_>,
    p: &mut Problems,
) -> Result<Option<Vec<RotationFields>>, OgError> {
    let Some(items) = o.objects("rotations", p) else {
        return Ok(None);
    };
    let mut taken: Vec<String> = items
        .iter()
        .filter_map(|r| {
            r.map
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let mut out = Vec::with_capacity(items.len());
    for (i, r) in items.iter().enumerate() {
        let draft = rotation_draft(r, true, p);
        let default_name = free_rotation_name(&taken, i + 1);
        taken.push(default_name.clone());
        if let Some(f) = finish_rotation(state, draft, None, default_name, &r.prefix, p).await? {
            if out
                .iter()
                .any(|o: &RotationFields| o.name.eq_ignore_ascii_case(&f.name))
            {
                p.add(
                    r.field("name"),
                    format!("two rotations are named {:?}: rotation names must be unique within a schedule", f.name),
                );
            }
            out.push(f);
        }
    }
    Ok(Some(out))
}

/// Resolves `[{id}|{name}]` to rotation ids of `s`.
pub(super) fn rotation_refs(
    s: &StoredSchedule,
    o: &Obj<'_>,
    p: &mut Problems,
) -> Option<Vec<String>> {
    let items = o.objects("rotations", p)?;
    let mut ids = Vec::with_capacity(items.len());
    for r in &items {
        let keys: Vec<String> = ["id", "name"].iter().filter_map(|k| r.str(k, p)).collect();
        let found = keys.iter().find_map(|k| {
            s.rotations
                .iter()
                .find(|x| x.id == *k)
                .or_else(|| s.rotations.iter().find(|x| x.name.eq_ignore_ascii_case(k)))
        });
        match found {
            Some(x) => {
                if !ids.contains(&x.id) {
                    ids.push(x.id.clone());
                }
            }
            None => p.add(
                r.prefix.clone(),
                format!(
                    "schedule {:?} has no rotation {:?}",
                    s.name,
                    keys.first().cloned().unwrap_or_default()
                ),
            ),
        }
    }
    Some(ids)
}
