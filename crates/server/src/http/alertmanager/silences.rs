//! `GET|POST /api/v2/silences`, `GET|DELETE /api/v2/silence/{id}`. A silence takes effect at
//! the next flush of each group it matches (as in Alertmanager, where it does at the group's
//! next `group_interval`), and at once in `GET /api/v2/alerts`.

use super::{authorize, parse_filters, parse_time, query_pairs, render_time, AmError};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use klaxon_core::alertmanager::{sort_silences, MatchType, Matcher, Silence, SilenceState};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatcherJson<'a> {
    is_equal: bool,
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct StatusJson {
    state: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence<'a> {
    id: &'a str,
    status: StatusJson,
    updated_at: String,
    comment: &'a str,
    created_by: &'a str,
    ends_at: String,
    matchers: Vec<MatcherJson<'a>>,
    starts_at: String,
}

fn render(s: &Silence, updated_at: i64, now: DateTime<Utc>) -> GettableSilence<'_> {
    GettableSilence {
        id: &s.id,
        status: StatusJson {
            state: s.state(now).as_str(),
        },
        updated_at: render_time(updated_at),
        comment: &s.comment,
        created_by: &s.created_by,
        ends_at: render_time(s.ends_at.timestamp_millis()),
        matchers: s
            .matchers
            .iter()
            .map(|m| MatcherJson {
                is_equal: m.op().is_equal(),
                is_regex: m.op().is_regex(),
                name: m.name(),
                value: m.value(),
            })
            .collect(),
        starts_at: render_time(s.starts_at.timestamp_millis()),
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn json<T: Serialize>(v: &T) -> Response {
    axum::Json(v).into_response()
}

/// Every silence (active, then pending, then expired), narrowed by `filter` matchers that a
/// silence must contain.
pub async fn list(State(state): State<AppState>, parts: Parts) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let filters = parse_filters(&query_pairs(&parts))?;
    let now = at(state.clock.now_ms());
    let stored = state.store.am_silences().await?;
    let updated: std::collections::HashMap<String, i64> =
        stored.iter().map(|(s, u)| (s.id.clone(), *u)).collect();
    let mut silences: Vec<Silence> = stored
        .into_iter()
        .map(|(s, _)| s)
        .filter(|s| s.has_matchers(&filters))
        .collect();
    sort_silences(&mut silences, now);
    let out: Vec<GettableSilence> = silences
        .iter()
        .map(|s| render(s, updated.get(&s.id).copied().unwrap_or(0), now))
        .collect();
    Ok(json(&out))
}

fn check_id(id: &str) -> Result<(), AmError> {
    uuid::Uuid::parse_str(id).map(|_| ()).map_err(|_| {
        AmError::Schema(
            601,
            format!("silenceID in path must be of type uuid: {id:?}"),
        )
    })
}

pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    check_id(&id)?;
    let now = at(state.clock.now_ms());
    match state.store.am_silence(&id).await? {
        Some((s, u)) => Ok(json(&render(&s, u, now))),
        None => Err(AmError::NotFound("silence not found".into())),
    }
}

/// Expires a silence (a pending one never starts). 200 with an empty body.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    check_id(&id)?;
    match state
        .store
        .am_expire_silence(&id, state.clock.now_ms())
        .await?
    {
        None => Err(AmError::NotFound("silence not found".into())),
        Some(_) => Ok(axum::http::StatusCode::OK.into_response()),
    }
}

fn required<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a Value, AmError> {
    match obj.get(name) {
        None | Some(Value::Null) => {
            Err(AmError::Schema(602, format!("{name} in body is required")))
        }
        Some(v) => Ok(v),
    }
}

fn text(v: &Value, name: &str) -> Result<String, AmError> {
    v.as_str().map(str::to_string).ok_or_else(|| {
        AmError::Parse(format!(
            "parsing silence body from \"\" failed, because json: {name} must be a string"
        ))
    })
}

/// The silence in a `POST /api/v2/silences` body, schema-checked as Alertmanager does.
fn parse_silence(body: &[u8]) -> Result<(Option<String>, Silence), AmError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        AmError::Parse(format!(
            "parsing silence body from \"\" failed, because {e}"
        ))
    })?;
    let Value::Object(obj) = v else {
        return Err(AmError::Parse(
            "parsing silence body from \"\" failed, because json: cannot unmarshal into Go value of type models.PostableSilence".into(),
        ));
    };
    let comment = text(required(&obj, "comment")?, "comment")?;
    let created_by = text(required(&obj, "createdBy")?, "createdBy")?;
    let ends_at = text(required(&obj, "endsAt")?, "endsAt")?;
    let matchers = required(&obj, "matchers")?;
    let starts_at = text(required(&obj, "startsAt")?, "startsAt")?;
    let Value::Array(list) = matchers else {
        return Err(AmError::Parse(
            "parsing silence body from \"\" failed, because json: matchers must be a list".into(),
        ));
    };
    if list.is_empty() {
        return Err(AmError::Schema(
            612,
            "matchers in body should have at least 1 items".into(),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, m) in list.iter().enumerate() {
        let Value::Object(m) = m else {
            return Err(AmError::Parse(format!("parsing silence body from \"\" failed, because json: matchers.{i} must be an object")));
        };
        let field = |n: &str| {
            m.get(n).filter(|v| !v.is_null()).ok_or_else(|| {
                AmError::Schema(602, format!("matchers.{i}.{n} in body is required"))
            })
        };
        let name = text(field("name")?, "name")?;
        let value = text(field("value")?, "value")?;
        let is_regex = field("isRegex")?.as_bool().unwrap_or(false);
        let is_equal = m.get("isEqual").and_then(Value::as_bool).unwrap_or(true);
        let op = MatchType::from_flags(is_regex, is_equal);
        let matcher = Matcher::new(op, name, value).map_err(|e| {
            AmError::Invalid(format!("invalid silence: invalid label matcher {i}: {e}"))
        })?;
        out.push(matcher);
    }
    let time = |s: &str| -> Result<DateTime<Utc>, AmError> {
        parse_time(s)
            .map_err(|e| {
                AmError::Parse(format!(
                    "parsing silence body from \"\" failed, because {e}"
                ))
            })
            .map(|t| at(t.unwrap_or(0)))
    };
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    Ok((
        id,
        Silence {
            id: String::new(),
            matchers: out,
            starts_at: time(&starts_at)?,
            ends_at: time(&ends_at)?,
            created_by,
            comment,
        },
    ))
}

/// Creates a silence, or updates the one named by `id` (an expired one is replaced by a new
/// silence, as Alertmanager does). Answers `{"silenceID": …}`.
pub async fn post(
    State(state): State<AppState>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let (id, mut silence) = parse_silence(&body)?;
    let now_ms = state.clock.now_ms();
    let now = at(now_ms);
    // A start in the past means "now".
    if silence.starts_at < now {
        silence.starts_at = now;
    }
    silence
        .validate(now)
        .map_err(|e| AmError::Invalid(e.to_string()))?;
    let new_id = || uuid::Uuid::new_v4().to_string();
    silence.id = match id {
        None => new_id(),
        Some(id) => match state.store.am_silence(&id).await? {
            None => return Err(AmError::NotFound("silence not found".into())),
            Some((old, _)) if old.state(now) == SilenceState::Expired => new_id(),
            Some(_) => id,
        },
    };
    state.store.am_put_silence(&silence, now_ms).await?;
    Ok(json(&serde_json::json!({"silenceID": silence.id})))
}
