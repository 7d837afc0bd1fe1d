//! `GET /api/v2/status` and `GET /api/v2/receivers`.
//!
//! `config.original` is an alertmanager.yml that Alertmanager's own loader accepts (amtool's
//! `config routes test` parses it): the Alertmanager sections of Klaxon's file as written,
//! plus a `receivers:` entry for every receiver a route names that the file does not list
//! (Klaxon teams need none).

use super::{authorize, render_time, AmError};
use crate::app::AppState;
use crate::settings::Settings;
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use klaxon_core::alertmanager::Rules;
use serde_yaml::{Mapping, Value};

/// The sections of an alertmanager.yml Klaxon's file may hold.
const SECTIONS: [&str; 5] = [
    "global",
    "route",
    "inhibit_rules",
    "mute_time_intervals",
    "time_intervals",
];

pub fn original_config(settings: &Settings, rules: &Rules) -> String {
    let doc: Value = serde_yaml::from_str(&settings.config_text).unwrap_or(Value::Null);
    let mut out = Mapping::new();
    for name in SECTIONS {
        if let Some(v) = doc.get(name) {
            out.insert(name.into(), v.clone());
        }
    }
    if !out.contains_key("route") {
        let r = rules.route();
        let mut route = Mapping::new();
        route.insert("receiver".into(), r.receiver().into());
        if let klaxon_core::alertmanager::GroupBy::Labels(names) = r.group_by() {
            route.insert(
                "group_by".into(),
                Value::Sequence(names.iter().map(|n| n.as_str().into()).collect()),
            );
        }
        out.insert("route".into(), Value::Mapping(route));
    }
    let mut receivers: Vec<Value> = match doc.get("receivers") {
        Some(Value::Sequence(list)) => list.clone(),
        _ => Vec::new(),
    };
    let listed: Vec<String> = receivers
        .iter()
        .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut used: Vec<&str> = rules.route().walk().iter().map(|r| r.receiver()).collect();
    used.sort();
    used.dedup();
    for name in used {
        if !listed.iter().any(|l| l == name) {
            let mut m = Mapping::new();
            m.insert("name".into(), name.into());
            receivers.push(Value::Mapping(m));
        }
    }
    out.insert("receivers".into(), Value::Sequence(receivers));
    out.insert("templates".into(), Value::Sequence(Vec::new()));
    serde_yaml::to_string(&Value::Mapping(out)).unwrap_or_default()
}

pub async fn status(State(state): State<AppState>, parts: Parts) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let version = env!("CARGO_PKG_VERSION");
    let am = state.am.get();
    Ok(axum::Json(serde_json::json!({
        "cluster": {"peers": [], "status": "disabled"},
        "config": {"original": am.original},
        "uptime": render_time(am.started_at),
        "versionInfo": {
            "branch": "klaxon",
            "buildDate": "",
            "buildUser": "klaxon",
            "goVersion": "none (Klaxon is written in Rust)",
            "revision": version,
            "version": format!("klaxon-{version}"),
        },
    }))
    .into_response())
}

pub async fn receivers(State(state): State<AppState>, parts: Parts) -> Result<Response, AmError> {
    authorize(&state, &parts).await?;
    let list: Vec<serde_json::Value> = state
        .am
        .get()
        .receivers
        .iter()
        .map(|n| serde_json::json!({"name": n}))
        .collect();
    Ok(axum::Json(list).into_response())
}
