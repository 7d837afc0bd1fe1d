//! Schedules, rotations and overrides: create, read, update, delete.

use super::super::error::OgError;
use super::super::Caller;
use super::parse::{self, Obj, Problems, UserKey};
use super::{created, deleted, find_schedule, ok, refused, render, writable, Params};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use klaxon_core::schedule::{parse_time_zone, Override, Participant, ScheduleMode};
use klaxon_store::{
    OverrideFields, ScheduleFields, StoredOverride, StoredRotation, StoredSchedule,
};
use serde_json::json;

type RawBody = Result<Bytes, BytesRejection>;

// ---------------------------------------------------------------- schedules

/// The owner team: `{id}` or `{name}` (an unknown id is tried as a name); `null` for none.
async fn owner_team(
    state: &AppState,
    o: &Obj<'_>,
    p: &mut Problems,
) -> Result<Option<Option<String>>, OgError> {
    if !o.has("ownerTeam") {
        return Ok(None);
    }
    let Some(team) = o.obj("ownerTeam", p) else {
        return Ok(Some(None));
    };
    let t = Obj::new(team, "ownerTeam");
    let keys: Vec<String> = ["id", "name"].iter().filter_map(|k| t.str(k, p)).collect();
    for k in &keys {
        if let Some(found) = state.store.schedule_team(k).await? {
            return Ok(Some(Some(found.id)));
        }
    }
    p.add(
        "ownerTeam",
        match keys.last() {
            Some(k) => format!("team {k:?} does not exist"),
            None => "name the team with id or name".to_string(),
        },
    );
    Ok(None)
}

/// A schedule's own fields from a body; absent fields come from `base` (an update) or the
/// defaults (time zone UTC, enabled, cumulative).
async fn schedule_fields(
    state: &AppState,
    o: &Obj<'_>,
    base: Option<&StoredSchedule>,
    p: &mut Problems,
) -> Result<Option<ScheduleFields>, OgError> {
    let name = match o.str("name", p).map(|n| n.trim().to_string()) {
        Some(n) if !n.is_empty() => Some(n),
        Some(_) => {
            p.add("name", "Name can not be empty");
            None
        }
        None => match base {
            Some(b) => Some(b.name.clone()),
            None => {
                p.add("name", "is required");
                None
            }
        },
    };
    let time_zone = match o.str("timezone", p) {
        Some(tz) => match parse_time_zone(&tz) {
            Ok(_) => Some(tz.trim().to_string()),
            Err(e) => {
                p.add("timezone", e.to_string());
                None
            }
        },
        None => Some(base.map_or_else(|| "UTC".to_string(), |b| b.time_zone.clone())),
    };
    let mode = parse::mode(o, p)
        .or(base.map(|b| b.mode))
        .unwrap_or(ScheduleMode::Cumulative);
    let team = match owner_team(state, o, p).await? {
        Some(team) => team,
        None => base.and_then(|b| b.team.as_ref().map(|t| t.id.clone())),
    };
    let fields = ScheduleFields {
        name: name.unwrap_or_default(),
        description: o
            .str("description", p)
            .or(base.map(|b| b.description.clone()))
            .unwrap_or_default(),
        time_zone: time_zone.unwrap_or_default(),
        mode,
        enabled: o
            .bool("enabled", p)
            .or(base.map(|b| b.enabled))
            .unwrap_or(true),
        team,
    };
    Ok(Some(fields))
}

/// Lists schedules by name; with `expand=rotation` each carries its rotations (otherwise
/// `rotations: []`).
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let expand = params
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "rotation"));
    let all = state.store.list_schedules().await?;
    Ok(ok(json!({
        "data": all.iter().map(|s| render::schedule(s, expand)).collect::<Vec<_>>(),
        "expandable": ["rotation"],
    })))
}

/// Creates a schedule with its rotations; 201 `{data: {id, name, enabled}}`.
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller,
    body: RawBody,
) -> Result<Response, OgError> {
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let fields = schedule_fields(&state, &o, None, &mut p).await?;
    let rotations = parse::rotations(&state, &o, &mut p).await?;
    p.check()?;
    let (Some(fields), rotations) = (fields, rotations.unwrap_or_default()) else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let id = state
        .store
        .create_schedule(&fields, &rotations, state.clock.now_ms())
        .await
        .map_err(refused("name"))?;
    Ok(created(
        json!({"id": id, "name": fields.name, "enabled": fields.enabled}),
    ))
}

/// `GET /v2/schedules/{identifier}`, or the schedule's iCal feed when the identifier ends in
/// `.ics` (which may use a calendar token instead of an API key).
pub async fn get_one_or_ics(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    mut parts: Parts,
) -> Result<Response, OgError> {
    if let Some(name) = identifier.strip_suffix(".ics") {
        return super::ical::schedule_feed(&state, name, &params, &mut parts).await;
    }
    Caller::from_request_parts(&mut parts, &state).await?;
    let s = find_schedule(&state, &identifier, &params).await?;
    Ok(ok(json!({"data": render::schedule(&s, true)})))
}

/// Updates the fields given; `rotations`, when given, replaces all rotations (a rotation that
/// keeps its name keeps its id).
pub async fn update(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    body: RawBody,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    writable(&s)?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let fields = schedule_fields(&state, &o, Some(&s), &mut p).await?;
    let rotations = parse::rotations(&state, &o, &mut p).await?;
    p.check()?;
    let Some(fields) = fields else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let found = state
        .store
        .update_schedule(&s.id, &fields, rotations.as_deref(), state.clock.now_ms())
        .await
        .map_err(refused("name"))?;
    if !found {
        return Err(OgError::not_found("The schedule was deleted meanwhile"));
    }
    Ok(ok(
        json!({"data": {"id": s.id, "name": fields.name, "enabled": fields.enabled}}),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    writable(&s)?;
    state.store.delete_schedule(&s.id).await?;
    Ok(deleted())
}

// ---------------------------------------------------------------- rotations

fn find_rotation<'s>(s: &'s StoredSchedule, key: &str) -> Result<&'s StoredRotation, OgError> {
    s.rotations
        .iter()
        .find(|r| r.id == key)
        .or_else(|| {
            s.rotations
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(key))
        })
        .ok_or_else(|| {
            OgError::not_found(format!(
                "Schedule {:?} has no rotation with id or name {key:?}",
                s.name
            ))
        })
}

fn name_taken(s: &StoredSchedule, name: &str, except: Option<&str>, p: &mut Problems) {
    let clash = s
        .rotations
        .iter()
        .any(|r| r.name.eq_ignore_ascii_case(name) && Some(r.id.as_str()) != except);
    if clash {
        p.add(
            "name",
            format!(
                "schedule {:?} already has a rotation named {name:?}: rotation names must be unique within a schedule",
                s.name
            ),
        );
    }
}

pub async fn list_rotations(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    Ok(ok(
        json!({"data": s.rotations.iter().map(render::rotation).collect::<Vec<_>>()}),
    ))
}

/// Adds a rotation as the highest layer; 201 `{data: {id, name}}`.
pub async fn add_rotation(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    body: RawBody,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    writable(&s)?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let draft = parse::rotation_draft(&o, true, &mut p);
    let taken: Vec<String> = s.rotations.iter().map(|r| r.name.clone()).collect();
    let default_name = parse::free_rotation_name(&taken, s.rotations.len() + 1);
    let fields = parse::finish_rotation(&state, draft, None, default_name, "", &mut p).await?;
    if let Some(f) = &fields {
        name_taken(&s, &f.name, None, &mut p);
    }
    p.check()?;
    let Some(fields) = fields else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let id = state
        .store
        .add_rotation(&s.id, &fields, state.clock.now_ms())
        .await
        .map_err(refused("rotation"))?
        .ok_or_else(|| OgError::not_found("The schedule was deleted meanwhile"))?;
    Ok(created(json!({"id": id, "name": fields.name})))
}

pub async fn get_rotation(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, rotation)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let r = find_rotation(&s, &rotation)?;
    Ok(ok(json!({"data": render::rotation_with_parent(&s, r)})))
}

/// Updates the fields given (`PATCH`, also accepted as `PUT`); the rotation keeps its layer.
pub async fn update_rotation(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, rotation)): Path<(String, String)>,
    Query(params): Query<Params>,
    body: RawBody,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    writable(&s)?;
    let r = find_rotation(&s, &rotation)?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let draft = parse::rotation_draft(&o, false, &mut p);
    let fields = parse::finish_rotation(&state, draft, Some(r), r.name.clone(), "", &mut p).await?;
    if let Some(f) = &fields {
        name_taken(&s, &f.name, Some(&r.id), &mut p);
    }
    p.check()?;
    let Some(fields) = fields else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    state
        .store
        .update_rotation(&s.id, &r.id, &fields, state.clock.now_ms())
        .await
        .map_err(refused("rotation"))?;
    Ok(ok(json!({"data": {"id": r.id, "name": fields.name}})))
}

pub async fn delete_rotation(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, rotation)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    writable(&s)?;
    let r = find_rotation(&s, &rotation)?;
    state
        .store
        .delete_rotation(&s.id, &r.id, state.clock.now_ms())
        .await?;
    Ok(deleted())
}

// ---------------------------------------------------------------- overrides

fn find_override_in(
    s: &StoredSchedule,
    alias: &str,
    found: Option<StoredOverride>,
) -> Result<StoredOverride, OgError> {
    found.ok_or_else(|| {
        OgError::not_found(format!(
            "Schedule {:?} has no override with alias {alias:?}",
            s.name
        ))
    })
}

fn read_only_override(o: &StoredOverride) -> Result<(), OgError> {
    if o.managed {
        Err(OgError::new(
            axum::http::StatusCode::FORBIDDEN,
            format!(
                "Override {:?} is declared in the config file and is read-only through the API: \
                 change it there, or add an override of your own (the later one wins)",
                o.alias
            ),
        ))
    } else {
        Ok(())
    }
}

/// Reads an override body. With `full` (create, `PUT`), `user`, `startDate` and `endDate` are
/// required and absent `rotations` means the whole schedule; otherwise absent fields come
/// from `base`.
async fn override_fields(
    state: &AppState,
    s: &StoredSchedule,
    o: &Obj<'_>,
    base: Option<&StoredOverride>,
    full: bool,
    p: &mut Problems,
) -> Result<Option<OverrideFields>, OgError> {
    let alias = o
        .str("alias", p)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .or(base.map(|b| b.alias.clone()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let user_key = match o.obj("user", p) {
        Some(u) => parse::user_key(&Obj::new(u, "user"), p),
        None if full || base.is_none() => {
            p.add(
                "user",
                "is required: {\"type\":\"user\",\"username\":…} or {\"type\":\"none\"}",
            );
            None
        }
        None => base.map(|b| match &b.user {
            Some(u) => UserKey::User(vec![u.id.clone()]),
            None => UserKey::Nobody,
        }),
    };
    let user = match &user_key {
        Some(k) => parse::resolve_user(state, k, "user", p).await?,
        None => None,
    };
    let mut when = |key: &str, base: Option<i64>| match o.instant(key, p) {
        Some(t) => Some(t),
        None if o.has(key) => None,
        None if !full => base,
        None => {
            p.add(key, "is required");
            None
        }
    };
    let start = when("startDate", base.map(|b| b.start));
    let end = when("endDate", base.map(|b| b.end));
    let rotations = match parse::rotation_refs(s, o, p) {
        Some(ids) => Some(ids),
        None if o.has("rotations") || full => Some(vec![]),
        None => base.map(|b| b.rotation_ids.clone()),
    };
    let (Some(user), Some(start), Some(end), Some(rotations)) = (user, start, end, rotations)
    else {
        return Ok(None);
    };
    // The schedule maths checks the window (end after start, years in range).
    let check = match (
        chrono::DateTime::from_timestamp_millis(start),
        chrono::DateTime::from_timestamp_millis(end),
    ) {
        (Some(a), Some(b)) => {
            let who = user.as_deref().map_or(Participant::None, Participant::user);
            Override::new(who, a, b, None).err()
        }
        _ => None,
    };
    if let Some(e) = check {
        p.add(parse::field_of(&e), e.to_string());
        return Ok(None);
    }
    Ok(Some(OverrideFields {
        alias,
        user,
        start,
        end,
        rotations,
    }))
}

pub async fn list_overrides(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let all = state.store.schedule_overrides(Some(&s.id), None).await?;
    Ok(ok(
        json!({"data": all.iter().map(|o| render::schedule_override(&s, o)).collect::<Vec<_>>()}),
    ))
}

/// Adds an override, also to a schedule declared in the config file; where overrides overlap
/// the one written last wins. 201 `{data: {alias, id}}`.
pub async fn create_override(
    State(state): State<AppState>,
    _caller: Caller,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    body: RawBody,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let fields = override_fields(&state, &s, &o, None, true, &mut p).await?;
    p.check()?;
    let Some(fields) = fields else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let id = state
        .store
        .create_schedule_override(&s.id, &fields, state.clock.now_ms())
        .await
        .map_err(refused("alias"))?
        .ok_or_else(|| OgError::not_found("The schedule was deleted meanwhile"))?;
    Ok(created(json!({"alias": fields.alias, "id": id})))
}

pub async fn get_override(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, alias)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let found = state.store.schedule_override(&s.id, &alias).await?;
    let o = find_override_in(&s, &alias, found)?;
    Ok(ok(json!({"data": render::schedule_override(&s, &o)})))
}

/// `PUT` replaces the override (as OpsGenie does); `PATCH` changes the fields given. Either
/// way it then counts as the latest.
pub async fn update_override(
    State(state): State<AppState>,
    _caller: Caller,
    method: axum::http::Method,
    Path((identifier, alias)): Path<(String, String)>,
    Query(params): Query<Params>,
    body: RawBody,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let found = state.store.schedule_override(&s.id, &alias).await?;
    let existing = find_override_in(&s, &alias, found)?;
    read_only_override(&existing)?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let full = method == axum::http::Method::PUT;
    let fields = override_fields(&state, &s, &o, Some(&existing), full, &mut p).await?;
    p.check()?;
    let Some(fields) = fields else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    state
        .store
        .update_schedule_override(&s.id, &alias, &fields, state.clock.now_ms())
        .await
        .map_err(refused("alias"))?;
    Ok(ok(
        json!({"data": {"alias": fields.alias, "id": existing.id}}),
    ))
}

pub async fn delete_override(
    State(state): State<AppState>,
    _caller: Caller,
    Path((identifier, alias)): Path<(String, String)>,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let s = find_schedule(&state, &identifier, &params).await?;
    let found = state.store.schedule_override(&s.id, &alias).await?;
    let existing = find_override_in(&s, &alias, found)?;
    read_only_override(&existing)?;
    state
        .store
        .delete_schedule_override(&s.id, &alias, state.clock.now_ms())
        .await?;
    Ok(deleted())
}
