//! The OpsGenie configuration APIs for the directory the escalation engine reads: users with
//! their contact methods and notification rules (`/v2/users`), teams with members and routing
//! rules (`/v2/teams`), escalation policies (`/v2/escalations`).
//!
//! Access: writes need a global API key (an integration without a team); a team's key may
//! change only its own team (its members, routing rules and escalations) and reads only its
//! own team. Objects declared in the config file are read-only here (403), as are the
//! contacts and rules of a user the file declares.
//!
//! Identifiers: `{identifier}` is an id or, with `identifierType=name` (or `username` for
//! users, `teamIdentifierType` for team paths), a name; an id that matches nothing is tried as
//! a name, so clients that lost an id still find the object.

mod escalations;
mod teams;
mod users;

pub use teams::create_defaults as create_team_defaults;

use super::error::{envelope, obj, OgError};
use super::Caller;
use crate::app::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use klaxon_store::StoreError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/users", get(users::list).post(users::create))
        .route(
            "/v2/users/{identifier}",
            get(users::get_one)
                .patch(users::update)
                .put(users::update)
                .delete(users::delete),
        )
        .route(
            "/v2/users/{identifier}/contacts",
            get(users::list_contacts).post(users::create_contact),
        )
        .route(
            "/v2/users/{identifier}/contacts/{contact}",
            get(users::get_contact)
                .patch(users::update_contact)
                .delete(users::delete_contact),
        )
        .route(
            "/v2/users/{identifier}/contacts/{contact}/enable",
            post(users::enable_contact),
        )
        .route(
            "/v2/users/{identifier}/contacts/{contact}/disable",
            post(users::disable_contact),
        )
        .route(
            "/v2/users/{identifier}/notification-rules",
            get(users::list_rules).post(users::create_rule),
        )
        .route(
            "/v2/users/{identifier}/notification-rules/{rule}",
            get(users::get_rule)
                .patch(users::update_rule)
                .delete(users::delete_rule),
        )
        .route(
            "/v2/users/{identifier}/notification-rules/{rule}/enable",
            post(users::enable_rule),
        )
        .route(
            "/v2/users/{identifier}/notification-rules/{rule}/disable",
            post(users::disable_rule),
        )
        .route("/v2/teams", get(teams::list).post(teams::create))
        .route(
            "/v2/teams/{identifier}",
            get(teams::get_one)
                .patch(teams::update)
                .delete(teams::delete),
        )
        .route("/v2/teams/{identifier}/members", post(teams::add_member))
        .route(
            "/v2/teams/{identifier}/members/{member}",
            axum::routing::delete(teams::remove_member),
        )
        .route(
            "/v2/teams/{identifier}/routing-rules",
            get(teams::list_routing).post(teams::create_routing),
        )
        .route(
            "/v2/teams/{identifier}/routing-rules/{rule}",
            get(teams::get_routing)
                .patch(teams::update_routing)
                .delete(teams::delete_routing),
        )
        .route(
            "/v2/teams/{identifier}/routing-rules/{rule}/change-order",
            post(teams::change_routing_order),
        )
        .route(
            "/v2/escalations",
            get(escalations::list).post(escalations::create),
        )
        .route(
            "/v2/escalations/{identifier}",
            get(escalations::get_one)
                .patch(escalations::update)
                .put(escalations::update)
                .delete(escalations::delete),
        )
}

type Params = HashMap<String, String>;
type RawBody = Result<Bytes, BytesRejection>;

fn ok(v: Value) -> Response {
    envelope(StatusCode::OK, obj(v))
}

fn created(data: Value) -> Response {
    envelope(
        StatusCode::CREATED,
        obj(json!({"result": "Created", "data": data})),
    )
}

fn result(word: &str, data: Option<Value>) -> Response {
    let mut v = json!({ "result": word });
    if let Some(d) = data {
        v["data"] = d;
    }
    ok(v)
}

fn forbidden(message: impl Into<String>) -> OgError {
    OgError::new(StatusCode::FORBIDDEN, message)
}

fn conflict(message: impl Into<String>) -> OgError {
    OgError::new(StatusCode::CONFLICT, message)
}

/// A store refusal as the client's error: a taken name is 409, an unknown reference or a
/// change that cannot work is a 422 on `field`; anything else is a 500.
fn refused(field: &'static str) -> impl Fn(StoreError) -> OgError {
    move |e| match e {
        StoreError::Conflict(message) => conflict(message),
        StoreError::Invalid(message) => OgError::field(field, message),
        other => OgError::from(other),
    }
}

/// Writes that are not about one team need a global key.
fn require_global(caller: &Caller) -> Result<(), OgError> {
    match &caller.integration.team_id {
        None => Ok(()),
        Some(_) => Err(forbidden(
            "This API key belongs to a team integration: use a global API key for this request",
        )),
    }
}

/// A team's key may act on its own team only.
fn require_team(caller: &Caller, team_id: Option<&str>) -> Result<(), OgError> {
    match (&caller.integration.team_id, team_id) {
        (None, _) => Ok(()),
        (Some(mine), Some(t)) if mine == t => Ok(()),
        _ => Err(forbidden(
            "This API key belongs to another team's integration: use that team's key or a global key",
        )),
    }
}

fn read_only(what: &str, name: &str) -> OgError {
    forbidden(format!(
        "{what} {name:?} is declared in the config file and is read-only through the API: \
         change it there and restart (or reload) Klaxon"
    ))
}

use crate::http::opsgenie::error::json_object as body;

/// Field problems collected so far; [`Problems::check`] turns them into one 422.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push((field.into(), problem.into()));
    }

    fn check(&mut self) -> Result<(), OgError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(OgError::fields(std::mem::take(&mut self.0)))
        }
    }

    /// A string field (absent and `null` read as `None`).
    fn str(&mut self, m: &Map<String, Value>, field: &str, key: &str) -> Option<String> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.add(field, "should be a string");
                None
            }
        }
    }

    fn bool(&mut self, m: &Map<String, Value>, field: &str, key: &str) -> Option<bool> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.add(field, "should be true or false");
                None
            }
        }
    }

    fn int(
        &mut self,
        m: &Map<String, Value>,
        field: &str,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let v = m.get(key).filter(|v| !v.is_null())?;
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n.filter(|n| range.contains(n)) {
            Some(n) => Some(n),
            None => {
                self.add(
                    field,
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

    fn obj<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        field: &str,
        key: &str,
    ) -> Option<&'a Map<String, Value>> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.add(field, "should be an object");
                None
            }
        }
    }

    fn list<'a>(
        &mut self,
        m: &'a Map<String, Value>,
        field: &str,
        key: &str,
    ) -> Option<&'a Vec<Value>> {
        match m.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.add(field, "should be a list");
                None
            }
        }
    }
}

/// An OpsGenie duration `{timeAmount, timeUnit}` (unit minutes by default; Klaxon also takes
/// `seconds`, for tests with short delays) in milliseconds.
fn time_amount(p: &mut Problems, m: &Map<String, Value>, field: &str) -> Option<i64> {
    let amount = p.int(m, &format!("{field}.timeAmount"), "timeAmount", 0..=527_040)?;
    let unit = p
        .str(m, &format!("{field}.timeUnit"), "timeUnit")
        .unwrap_or_else(|| "minutes".into());
    let ms = match unit.as_str() {
        "seconds" => 1_000,
        "minutes" => 60_000,
        "hours" => 3_600_000,
        "days" => 86_400_000,
        _ => {
            p.add(
                format!("{field}.timeUnit"),
                "should be one of [ minutes, hours, days, seconds ]",
            );
            return None;
        }
    };
    Some(amount * ms)
}

/// A duration rendered as OpsGenie does: whole minutes when it is, seconds otherwise.
fn render_time_amount(ms: i64) -> Value {
    if ms % 60_000 == 0 {
        json!({"timeAmount": ms / 60_000, "timeUnit": "minutes"})
    } else {
        json!({"timeAmount": ms / 1_000, "timeUnit": "seconds"})
    }
}

fn duration_ms(ms: i64) -> klaxon_core::duration::Duration {
    klaxon_core::duration::Duration(std::time::Duration::from_millis(ms.max(0) as u64))
}

/// `identifierType` (or the given alternative name), checked against the allowed words.
fn identifier_type<'a>(
    params: &'a Params,
    names: &[&str],
    allowed: &[&'static str],
) -> Result<&'a str, OgError> {
    let kind = names
        .iter()
        .find_map(|n| params.get(*n))
        .map(String::as_str)
        .unwrap_or("id");
    if allowed.contains(&kind) {
        Ok(kind)
    } else {
        Err(OgError::field(
            names[0],
            format!("should be one of [ {} ]", allowed.join(", ")),
        ))
    }
}
