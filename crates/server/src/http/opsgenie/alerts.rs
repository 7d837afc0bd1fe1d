//! `/v2/alerts`: create, read, search and act on alerts.
//!
//! Actions answer 202 "Request will be processed" — also when the alert does not exist — after
//! the outcome is committed; the outcome is read back through `/v2/alerts/requests/{id}`.
//! Alertmanager treats any 4xx other than 429 as a permanent failure, so only malformed
//! requests get a 4xx.

use super::error::{envelope, obj, OgError};
use super::input::{self, Body};
use super::{render, Caller};
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use klaxon_core::alert::{limits, merge_tags, truncate_chars, Priority, PRIORITY_ERROR};
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_store::{
    ActionRequest, Identifier, ListQuery, LogPage, NewAlert, SortField, WriteKind, WriteOp,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;

type Params = Query<HashMap<String, String>>;
type RawBody = Result<Bytes, BytesRejection>;

fn accepted() -> Response {
    envelope(
        StatusCode::ACCEPTED,
        obj(json!({"result": "Request will be processed"})),
    )
}

fn ok(v: Value) -> Response {
    envelope(StatusCode::OK, obj(v))
}

fn identifier(raw: &str, params: &HashMap<String, String>) -> Result<Identifier, OgError> {
    match params
        .get("identifierType")
        .map(String::as_str)
        .unwrap_or("id")
    {
        "id" => Ok(Identifier::Id(raw.to_string())),
        "alias" => Ok(Identifier::Alias(raw.to_string())),
        // A tiny id that is not a number names no alert; -1 matches nothing.
        "tiny" => Ok(Identifier::Tiny(raw.trim().parse().unwrap_or(-1))),
        _ => Err(OgError::field(
            "identifierType",
            "should be one of [ id, alias, tiny ]",
        )),
    }
}

fn actor(caller: &Caller, user: Option<String>, source: Option<String>) -> Actor {
    let name = caller.integration.name.clone();
    Actor {
        user: user
            .filter(|u| !u.trim().is_empty())
            .map(|u| truncate_chars(&u, limits::USER))
            .unwrap_or_else(|| name.clone()),
        via: "API".into(),
        source: source
            .filter(|s| !s.trim().is_empty())
            .map(|s| truncate_chars(&s, limits::SOURCE))
            .unwrap_or(name),
    }
}

fn write_op(state: &AppState, caller: &Caller, actor: Actor, kind: WriteKind) -> WriteOp {
    WriteOp {
        request_id: super::error::current_meta().id,
        integration_id: caller.integration.id.clone(),
        integration_name: caller.integration.name.clone(),
        integration_type: klaxon_core::config::IntegrationKind::parse(&caller.integration.kind)
            .map(|k| k.opsgenie_type())
            .unwrap_or("API")
            .to_string(),
        team_id: caller.integration.team_id.clone(),
        actor,
        now: state.clock.now_ms(),
        kind,
    }
}

// ---------------------------------------------------------------- create

/// Create an alert. Answers 202 once the alert (or its de-duplication) is committed.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: RawBody,
) -> Result<Response, OgError> {
    let started = std::time::Instant::now();
    let mut b = input::parse(body)?;
    let message = b.opt_str("message");
    let alias = b.opt_str("alias");
    let description = b.opt_str("description");
    let priority = b.opt_str("priority");
    let source = b.opt_str("source");
    let entity = b.opt_str("entity");
    let user = b.opt_str("user");
    let note = b.opt_str("note");
    let tags = b.str_list("tags");
    let actions = b.str_list("actions");
    let details = b.str_map("details");
    let responders = b.responder_list("responders");
    let visible_to = b.responder_list("visibleTo");

    let message = match message.map(|m| m.trim().to_string()) {
        Some(m) if !m.is_empty() => truncate_chars(&m, limits::MESSAGE),
        _ => {
            b.errors
                .push(("message".into(), "Message can not be empty.".into()));
            String::new()
        }
    };
    let priority = match priority {
        None => caller.integration.default_priority.unwrap_or_default(),
        Some(p) => p.parse::<Priority>().unwrap_or_else(|e| {
            b.errors.push(("priority".into(), e.to_string()));
            Priority::default()
        }),
    };
    let mut all_tags: Vec<String> = Vec::new();
    merge_tags(
        &mut all_tags,
        &tags
            .unwrap_or_default()
            .iter()
            .map(|t| truncate_chars(t.trim(), limits::TAG_LEN))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>(),
    );
    merge_tags(&mut all_tags, &caller.integration.default_tags);
    if all_tags.len() > limits::TAGS {
        b.errors.push((
            "tags".into(),
            format!("should have at most {} tags", limits::TAGS),
        ));
    }
    let actions: Vec<String> = actions
        .unwrap_or_default()
        .iter()
        .map(|a| truncate_chars(a, limits::ACTION_LEN))
        .collect();
    if actions.len() > limits::ACTIONS {
        b.errors.push((
            "actions".into(),
            format!("should have at most {} actions", limits::ACTIONS),
        ));
    }
    let details = details.unwrap_or_default();
    let details_len: usize = details
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    if details_len > limits::DETAILS_CHARS {
        b.errors.push((
            "details".into(),
            format!(
                "should be at most {} characters in total",
                limits::DETAILS_CHARS
            ),
        ));
    }
    if responders.len() > limits::RESPONDERS {
        b.errors.push((
            "responders".into(),
            format!("should have at most {} responders", limits::RESPONDERS),
        ));
    }
    if visible_to.len() > limits::VISIBLE_TO {
        b.errors.push((
            "visibleTo".into(),
            format!("should have at most {} entries", limits::VISIBLE_TO),
        ));
    }
    b.check()?;

    let alias = alias
        .map(|a| truncate_chars(a.trim(), limits::ALIAS))
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let source = source
        .filter(|s| !s.trim().is_empty())
        .or_else(|| caller.ip.map(|ip| ip.to_string()))
        .unwrap_or_default();
    let new = NewAlert {
        alias,
        message,
        description: truncate_chars(&description.unwrap_or_default(), limits::DESCRIPTION),
        priority,
        source: truncate_chars(&source, limits::SOURCE),
        entity: truncate_chars(&entity.unwrap_or_default(), limits::ENTITY),
        tags: all_tags,
        details,
        actions,
        responders,
        visible_to,
        note: note
            .map(|n| truncate_chars(&n, limits::NOTE))
            .filter(|n| !n.is_empty()),
    };
    let actor = actor(&caller, user, Some(caller.integration.name.clone()));
    let outcome = state
        .writer
        .write(write_op(
            &state,
            &caller,
            actor,
            WriteKind::Create(Box::new(new)),
        ))
        .await?;
    if outcome.deduplicated {
        state.metrics.alerts_deduplicated.fetch_add(1, Relaxed);
    } else {
        state.metrics.alerts_created.fetch_add(1, Relaxed);
    }
    state.metrics.ingest_latency(started.elapsed());
    Ok(accepted())
}

// ---------------------------------------------------------------- actions

/// Runs one action: reads `user`, `note`, `source` from the body, lets `build` read the rest,
/// commits, answers 202.
async fn act(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    params: &HashMap<String, String>,
    mut b: Body,
    build: impl FnOnce(&mut Body) -> Option<ActionRequest>,
) -> Result<Response, OgError> {
    let target = identifier(raw_id, params)?;
    let user = b.opt_str("user").or_else(|| params.get("user").cloned());
    let source = b
        .opt_str("source")
        .or_else(|| params.get("source").cloned());
    let note = b
        .opt_str("note")
        .or_else(|| params.get("note").cloned())
        .map(|n| truncate_chars(&n, limits::NOTE))
        .filter(|n| !n.trim().is_empty());
    let action = build(&mut b);
    b.check()?;
    let Some(action) = action else {
        return Err(OgError::bad_request("Request is missing required fields"));
    };
    let is_snooze = matches!(action, ActionRequest::Ready(Action::Snooze { .. }));
    let actor = actor(caller, user, source);
    let op = write_op(
        state,
        caller,
        actor,
        WriteKind::Act {
            target,
            action,
            note,
        },
    );
    let outcome = state.writer.write(op).await?;
    state.metrics.alert_actions.fetch_add(1, Relaxed);
    if is_snooze && outcome.success {
        state.snooze_wake.notify_one();
    }
    Ok(accepted())
}

macro_rules! simple_action {
    ($name:ident, $action:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            Query(params): Params,
            body: RawBody,
        ) -> Result<Response, OgError> {
            let b = input::parse(body)?;
            act(&state, &caller, &id, &params, b, |_| {
                Some(ActionRequest::Ready($action))
            })
            .await
        }
    };
}

simple_action!(close, Action::Close);
simple_action!(acknowledge, Action::Acknowledge);
simple_action!(unacknowledge, Action::Unacknowledge);
simple_action!(add_note, Action::AddNote);

/// Reads a body-carrying action: `$build` gets the body and returns the action.
macro_rules! body_action {
    ($name:ident, |$b:ident| $build:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            Query(params): Params,
            body: RawBody,
        ) -> Result<Response, OgError> {
            let b = input::parse(body)?;
            act(&state, &caller, &id, &params, b, |$b: &mut Body| $build).await
        }
    };
}

body_action!(snooze, |b| {
    match b.opt_str("endTime") {
        None => {
            b.errors.push(("endTime".into(), "is required".into()));
            None
        }
        Some(t) => match input::parse_instant(&t) {
            Ok(end_time) => Some(ActionRequest::Ready(Action::Snooze { end_time })),
            Err(e) => {
                b.errors.push(("endTime".into(), e));
                None
            }
        },
    }
});

body_action!(escalate, |b| b
    .responder("escalation", Some("escalation"))
    .map(ActionRequest::Escalate));
body_action!(add_responder, |b| b
    .responder("responder", None)
    .map(ActionRequest::AddResponder));
body_action!(add_team, |b| b
    .responder("team", Some("team"))
    .map(ActionRequest::AddTeam));

body_action!(assign, |b| {
    b.responder("owner", Some("user")).map(|r| {
        ActionRequest::Ready(Action::Assign {
            owner: r.username.or(r.name).or(r.id).unwrap_or_default(),
        })
    })
});

body_action!(add_tags, |b| match b.str_list("tags") {
    Some(tags) if !tags.is_empty() => Some(ActionRequest::Ready(Action::AddTags {
        tags: tags
            .iter()
            .map(|t| truncate_chars(t.trim(), limits::TAG_LEN))
            .collect(),
    })),
    _ => {
        b.errors
            .push(("tags".into(), "should be a non-empty list of tags".into()));
        None
    }
});

body_action!(add_details, |b| match b.str_map("details") {
    Some(details) if !details.is_empty() =>
        Some(ActionRequest::Ready(Action::AddDetails { details })),
    _ => {
        b.errors
            .push(("details".into(), "should be a non-empty object".into()));
        None
    }
});

// Alertmanager sends `{}` when its templated message is empty; answer 202 and record why
// nothing changed, rather than fail its whole notification.
body_action!(update_message, |b| {
    let m = b.opt_str("message").unwrap_or_default();
    if m.trim().is_empty() {
        Some(ActionRequest::Ready(Action::UpdateMessage {
            message: String::new(),
        }))
    } else {
        Some(ActionRequest::Ready(Action::UpdateMessage { message: m }))
    }
});

body_action!(update_description, |b| Some(ActionRequest::Ready(
    Action::UpdateDescription {
        description: b.opt_str("description").unwrap_or_default(),
    }
)));

body_action!(
    update_priority,
    |b| match b.opt_str("priority").map(|p| p.parse::<Priority>()) {
        Some(Ok(priority)) => Some(ActionRequest::Ready(Action::UpdatePriority { priority })),
        _ => {
            b.errors.push(("priority".into(), PRIORITY_ERROR.into()));
            None
        }
    }
);

pub async fn custom_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    Query(params): Params,
    body: RawBody,
) -> Result<Response, OgError> {
    let b = input::parse(body)?;
    act(&state, &caller, &id, &params, b, |_| {
        Some(ActionRequest::Ready(Action::ExecuteAction { action }))
    })
    .await
}

fn csv_param(params: &HashMap<String, String>, key: &str) -> Vec<String> {
    params
        .get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub async fn remove_tags(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Params,
    body: RawBody,
) -> Result<Response, OgError> {
    let b = input::parse(body)?;
    let tags = csv_param(&params, "tags");
    if tags.is_empty() {
        return Err(OgError::field(
            "tags",
            "give the tags to remove as ?tags=a,b",
        ));
    }
    act(&state, &caller, &id, &params, b, |_| {
        Some(ActionRequest::Ready(Action::RemoveTags { tags }))
    })
    .await
}

pub async fn remove_details(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Params,
    body: RawBody,
) -> Result<Response, OgError> {
    let b = input::parse(body)?;
    let keys = csv_param(&params, "keys");
    if keys.is_empty() {
        return Err(OgError::field(
            "keys",
            "give the detail keys to remove as ?keys=a,b",
        ));
    }
    act(&state, &caller, &id, &params, b, |_| {
        Some(ActionRequest::Ready(Action::RemoveDetails { keys }))
    })
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Params,
    body: RawBody,
) -> Result<Response, OgError> {
    let b = input::parse(body)?;
    act(&state, &caller, &id, &params, b, |_| {
        Some(ActionRequest::Ready(Action::Delete))
    })
    .await
}

// ---------------------------------------------------------------- reads

pub async fn request_status(
    State(state): State<AppState>,
    _caller: Caller,
    Path(request_id): Path<String>,
) -> Result<Response, OgError> {
    match state.store.get_request(&request_id).await? {
        Some(r) => Ok(ok(json!({"data": render::request_status(&r)}))),
        None => Err(OgError::not_found(format!(
            "Request {request_id} does not exist"
        ))),
    }
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, OgError> {
    let ident = identifier(&id, &params)?;
    match state.store.get_alert(&ident, &caller.scope()).await? {
        Some(a) => Ok(ok(json!({"data": render::alert_full(&a)}))),
        None => Err(OgError::not_found("Alert does not exist")),
    }
}

fn parse_query(params: &HashMap<String, String>) -> Result<klaxon_core::query::Query, OgError> {
    if params
        .get("searchIdentifier")
        .is_some_and(|s| !s.is_empty())
    {
        return Err(OgError::field(
            "searchIdentifier",
            "saved searches are not supported by Klaxon; pass the search as ?query=",
        ));
    }
    klaxon_core::query::parse(params.get("query").map(String::as_str).unwrap_or(""))
        .map_err(|e| OgError::field("query", e.to_string()))
}

fn int_param(
    params: &HashMap<String, String>,
    key: &str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, OgError> {
    match params.get(key).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(OgError::field(
                key,
                format!("should be a whole number from {min} to {max}"),
            )),
        },
    }
}

/// The absolute URL of this API's `path`, for paging links.
fn absolute(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let base = state.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    format!("{base}{}{path}", state.opsgenie_prefix)
}

fn encode(params: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, OgError> {
    let query = parse_query(&params)?;
    let offset = int_param(&params, "offset", 0, 0, i64::MAX / 2)?;
    let limit = int_param(&params, "limit", 20, 1, 100)?;
    let sort_name = params
        .get("sort")
        .cloned()
        .unwrap_or_else(|| "createdAt".into());
    let sort = SortField::parse(&sort_name)
        .ok_or_else(|| OgError::field("sort", format!("unknown sort field {sort_name:?}")))?;
    let order = params
        .get("order")
        .cloned()
        .unwrap_or_else(|| "desc".into());
    let descending = match order.as_str() {
        "desc" => true,
        "asc" => false,
        _ => return Err(OgError::field("order", "should be one of [ asc, desc ]")),
    };
    let scope = caller.scope();
    let alerts = state
        .store
        .list_alerts(&ListQuery {
            query: query.clone(),
            scope: scope.clone(),
            sort,
            descending,
            offset,
            limit,
        })
        .await?;
    let total = state.store.count_alerts(&query, &scope).await?;
    let link = |off: i64| {
        let mut p = vec![
            ("limit", limit.to_string()),
            ("sort", sort_name.clone()),
            ("offset", off.to_string()),
            ("order", order.clone()),
        ];
        if let Some(q) = params.get("query").filter(|q| !q.is_empty()) {
            p.insert(0, ("query", q.clone()));
        }
        absolute(&state, &headers, &format!("/v2/alerts?{}", encode(&p)))
    };
    let mut paging = serde_json::Map::new();
    if offset + limit < total {
        paging.insert("next".into(), json!(link(offset + limit)));
    }
    if offset > 0 {
        paging.insert("prev".into(), json!(link((offset - limit).max(0))));
    }
    paging.insert("first".into(), json!(link(0)));
    let last = if total == 0 {
        0
    } else {
        ((total - 1) / limit) * limit
    };
    paging.insert("last".into(), json!(link(last)));
    Ok(ok(json!({
        "data": alerts.iter().map(render::alert_summary).collect::<Vec<_>>(),
        "paging": paging,
    })))
}

pub async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Params,
) -> Result<Response, OgError> {
    let query = parse_query(&params)?;
    let n = state.store.count_alerts(&query, &caller.scope()).await?;
    Ok(ok(json!({"data": {"count": n}})))
}

/// Finds the alert an id in the path names, or 404.
async fn find(
    state: &AppState,
    caller: &Caller,
    id: &str,
    params: &HashMap<String, String>,
) -> Result<klaxon_store::StoredAlert, OgError> {
    let ident = identifier(id, params)?;
    state
        .store
        .get_alert(&ident, &caller.scope())
        .await?
        .ok_or_else(|| OgError::not_found("Alert does not exist"))
}

fn log_page(params: &HashMap<String, String>) -> Result<LogPage, OgError> {
    let after = match params.get("offset").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            OgError::field("offset", "should be an offset returned by a previous page")
        })?),
    };
    let backwards = match params
        .get("direction")
        .map(String::as_str)
        .unwrap_or("next")
    {
        "next" => false,
        "prev" => true,
        _ => {
            return Err(OgError::field(
                "direction",
                "should be one of [ next, prev ]",
            ))
        }
    };
    let descending = match params.get("order").map(String::as_str).unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        _ => return Err(OgError::field("order", "should be one of [ asc, desc ]")),
    };
    Ok(LogPage {
        after,
        backwards,
        descending,
        limit: int_param(params, "limit", 20, 1, 100)?,
    })
}

fn next_link(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    params: &HashMap<String, String>,
    page: &LogPage,
    last_offset: Option<String>,
    count: usize,
) -> Value {
    let mut paging = serde_json::Map::new();
    if let (Some(off), true) = (last_offset, count as i64 == page.limit) {
        let mut p = vec![
            ("offset", off),
            (
                "direction",
                if page.backwards {
                    "prev".into()
                } else {
                    "next".into()
                },
            ),
            ("limit", page.limit.to_string()),
            (
                "order",
                if page.descending {
                    "desc".into()
                } else {
                    "asc".into()
                },
            ),
        ];
        if let Some(t) = params.get("identifierType") {
            p.push(("identifierType", t.clone()));
        }
        paging.insert(
            "next".into(),
            json!(absolute(state, headers, &format!("{path}?{}", encode(&p)))),
        );
    }
    Value::Object(paging)
}

/// The two timelines of an alert that OpsGenie pages with a cursor.
#[derive(Clone, Copy)]
enum Feed {
    Notes,
    Logs,
}

async fn feed(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
    params: &HashMap<String, String>,
    which: Feed,
) -> Result<Response, OgError> {
    let alert = find(state, caller, id, params).await?;
    let page = log_page(params)?;
    let (items, seqs): (Vec<Value>, Vec<i64>) = match which {
        Feed::Notes => {
            let notes = state.store.list_notes(&alert.id, &page).await?;
            (
                notes.iter().map(render::note).collect(),
                notes.iter().map(|n| n.seq).collect(),
            )
        }
        Feed::Logs => {
            let logs = state.store.list_logs(&alert.id, &page).await?;
            (
                logs.iter().map(render::log).collect(),
                logs.iter().map(|l| l.seq).collect(),
            )
        }
    };
    let last = if page.backwards {
        seqs.first()
    } else {
        seqs.last()
    }
    .map(|s| s.to_string());
    let name = match which {
        Feed::Notes => "notes",
        Feed::Logs => "logs",
    };
    let paging = next_link(
        state,
        headers,
        &format!("/v2/alerts/{id}/{name}"),
        params,
        &page,
        last,
        items.len(),
    );
    Ok(ok(json!({"data": items, "paging": paging})))
}

pub async fn list_notes(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, OgError> {
    feed(&state, &caller, &headers, &id, &params, Feed::Notes).await
}

pub async fn list_logs(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, OgError> {
    feed(&state, &caller, &headers, &id, &params, Feed::Logs).await
}

pub async fn list_recipients(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, OgError> {
    let alert = find(&state, &caller, &id, &params).await?;
    let recipients = state.store.list_recipients(&alert.id).await?;
    Ok(ok(
        json!({"data": recipients.iter().map(render::recipient).collect::<Vec<_>>()}),
    ))
}
