//! Time off (`/v2/time-off`, Klaxon's own API) and calendar tokens.
//!
//! Time off is one entry per absence that applies to every schedule: while a user is away,
//! their shifts go to the replacement, or are left uncovered when none is named (see
//! `klaxon_core::schedule::TimeOff`). Body: `{"user": "alice@example.com" | {"username"|"id"},
//! "startDate", "endDate", "replacement"?: same forms or null, "reason"?}`. Entries from the
//! config file (`time_off:`) are read-only here.
//!
//! Calendar tokens: `POST /v2/schedules/on-calls/{user}/calendar-token` makes (or replaces) the
//! secret of a user's calendar feed and answers the subscribe URL once; only its hash is kept.
//! `DELETE` on the same path revokes it.

use super::super::error::OgError;
use super::super::Caller;
use super::parse::{self, Obj, Problems, UserKey};
use super::{created, deleted, ok, refused, render, Params};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use klaxon_core::schedule::TimeOff;
use klaxon_store::{StoredTimeOff, TimeOffFields, UserRef};
use serde_json::{json, Value};

type RawBody = Result<Bytes, BytesRejection>;

/// A user given as a bare string (username or id) or as `{username|id}`.
fn user_ref(o: &Obj<'_>, key: &str, p: &mut Problems) -> Option<UserKey> {
    match o.map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => {
            Some(UserKey::User(vec![s.trim().to_string()]))
        }
        Some(Value::Object(m)) => parse::user_key(&Obj::new(m, key), p),
        Some(_) => {
            p.add(
                key,
                "should be a username, or an object with username or id",
            );
            None
        }
    }
}

/// Reads a time off body; absent fields come from `base` (a partial update).
async fn fields(
    state: &AppState,
    o: &Obj<'_>,
    base: Option<&StoredTimeOff>,
    p: &mut Problems,
) -> Result<Option<TimeOffFields>, OgError> {
    let user = match user_ref(o, "user", p) {
        Some(UserKey::Nobody) => {
            p.add("user", "name the user who is away");
            None
        }
        Some(key) => parse::resolve_user(state, &key, "user", p).await?.flatten(),
        None => match base {
            Some(b) => Some(b.user.id.clone()),
            None => {
                p.add("user", "is required: the username of who is away");
                None
            }
        },
    };
    let replacement = if o.has("replacement") {
        match user_ref(o, "replacement", p) {
            None | Some(UserKey::Nobody) => Some(None),
            Some(key) => parse::resolve_user(state, &key, "replacement", p).await?,
        }
    } else {
        Some(base.and_then(|b| b.replacement.as_ref().map(|u| u.id.clone())))
    };
    let mut when = |key: &str, base: Option<i64>| match o.instant(key, p) {
        Some(t) => Some(t),
        None if o.has(key) => None,
        None => {
            if base.is_none() {
                p.add(key, "is required");
            }
            base
        }
    };
    let start = when("startDate", base.map(|b| b.start));
    let end = when("endDate", base.map(|b| b.end));
    let reason = o
        .str("reason", p)
        .or(base.map(|b| b.reason.clone()))
        .unwrap_or_default();
    let (Some(user), Some(replacement), Some(start), Some(end)) = (user, replacement, start, end)
    else {
        return Ok(None);
    };
    // The schedule maths checks the window and that nobody replaces themselves.
    if let (Some(a), Some(b)) = (
        chrono::DateTime::from_timestamp_millis(start),
        chrono::DateTime::from_timestamp_millis(end),
    ) {
        if let Err(e) = TimeOff::new(user.clone(), a, b, replacement.clone()) {
            let field = match parse::field_of(&e) {
                "user" => "replacement",
                f => f,
            };
            p.add(field, e.to_string());
            return Ok(None);
        }
    }
    Ok(Some(TimeOffFields {
        user,
        replacement,
        start,
        end,
        reason,
    }))
}

fn read_only(t: &StoredTimeOff) -> Result<(), OgError> {
    if t.managed {
        Err(OgError::new(
            StatusCode::FORBIDDEN,
            "This time off is declared in the config file (time_off:) and is read-only through \
             the API: change it there and restart (or reload) Klaxon",
        ))
    } else {
        Ok(())
    }
}

async fn find(state: &AppState, id: &str) -> Result<StoredTimeOff, OgError> {
    state
        .store
        .time_off_by_id(id)
        .await?
        .ok_or_else(|| OgError::not_found(format!("No time off exists with id {id:?}")))
}

/// Records an absence; 201 `{data: {id}}`.
pub async fn create(
    State(state): State<AppState>,
    _caller: Caller,
    body: RawBody,
) -> Result<Response, OgError> {
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let f = fields(&state, &o, None, &mut p).await?;
    p.check()?;
    let Some(f) = f else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let id = state
        .store
        .create_time_off(&f, state.clock.now_ms())
        .await
        .map_err(refused("user"))?;
    Ok(created(json!({ "id": id })))
}

/// Time off overlapping `[from, to)` (default: from now on), of one `user` or everyone.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<Params>,
) -> Result<Response, OgError> {
    let instant = |key: &str, default: i64| match params.get(key).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => super::super::input::parse_instant(v).map_err(|e| OgError::field(key, e)),
    };
    let from = instant("from", state.clock.now_ms())?;
    let to = instant("to", i64::MAX)?;
    let user =
        match params.get("user").filter(|u| !u.is_empty()) {
            None => None,
            Some(key) => {
                Some(state.store.schedule_user(key).await?.ok_or_else(|| {
                    OgError::field("user", format!("user {key:?} does not exist"))
                })?)
            }
        };
    let all = state
        .store
        .time_off_between(from, to, user.as_ref().map(|u| u.id.as_str()))
        .await?;
    Ok(ok(
        json!({"data": all.iter().map(render::time_off).collect::<Vec<_>>()}),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, OgError> {
    let t = find(&state, &id).await?;
    Ok(ok(json!({"data": render::time_off(&t)})))
}

/// Changes the fields given.
pub async fn update(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    body: RawBody,
) -> Result<Response, OgError> {
    let existing = find(&state, &id).await?;
    read_only(&existing)?;
    let map = parse::body(body)?;
    let o = Obj::new(&map, "");
    let mut p = Problems::default();
    let f = fields(&state, &o, Some(&existing), &mut p).await?;
    p.check()?;
    let Some(f) = f else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    state
        .store
        .update_time_off(&id, &f)
        .await
        .map_err(refused("user"))?;
    Ok(ok(json!({"data": {"id": id}})))
}

pub async fn delete(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, OgError> {
    let existing = find(&state, &id).await?;
    read_only(&existing)?;
    state.store.delete_time_off(&id).await?;
    Ok(deleted())
}

// ---------------------------------------------------------------- calendar tokens

async fn token_user(state: &AppState, key: &str) -> Result<UserRef, OgError> {
    state
        .store
        .schedule_user(key)
        .await?
        .ok_or_else(|| OgError::not_found(format!("No user exists with id or username {key:?}")))
}

/// A fresh calendar token (two keys' worth of randomness, no dashes).
pub fn new_calendar_token() -> String {
    format!(
        "{}{}",
        crate::keys::generate_key().replace('-', ""),
        crate::keys::generate_key().replace('-', "")
    )
}

/// The subscribe link of `username`'s own feed, opened by `token`.
pub fn calendar_feed_url(base: &str, prefix: &str, username: &str, token: &str) -> String {
    format!(
        "{base}{prefix}/v2/schedules/on-calls/{}.ics?token={token}",
        segment(username)
    )
}

/// Percent-encodes a path segment, keeping what e-mail addresses use unescaped.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Makes (or replaces) a user's calendar token; 201 `{data: {user, token, url}}`. The token
/// is shown only here; the old link stops working.
pub async fn create_calendar_token(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, OgError> {
    let user = token_user(&state, &user).await?;
    let token = new_calendar_token();
    state
        .store
        .set_calendar_token(
            &user.id,
            &crate::keys::hash_key(&token),
            state.clock.now_ms(),
        )
        .await?;
    let base = match &state.public_url {
        Some(u) => u.clone(),
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let url = calendar_feed_url(&base, &state.opsgenie_prefix, &user.username, &token);
    Ok(created(json!({
        "user": {"id": user.id, "username": user.username},
        "token": token,
        "url": url,
    })))
}

/// Revokes a user's calendar token: their subscribe link stops working.
pub async fn delete_calendar_token(
    State(state): State<AppState>,
    _caller: Caller,
    Path(user): Path<String>,
) -> Result<Response, OgError> {
    let user = token_user(&state, &user).await?;
    if !state.store.delete_calendar_token(&user.id).await? {
        return Err(OgError::not_found(format!(
            "User {:?} has no calendar token",
            user.username
        )));
    }
    Ok(deleted())
}
