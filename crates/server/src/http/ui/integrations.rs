//! Integrations (admins only): list, create (the key is shown once), rotate the key, enable
//! or disable; copy-paste snippets for Alertmanager, Prometheus and curl. Integrations from
//! the config file are shown as "managed in config" and cannot be changed here.

use super::page::{self, csrf_input, shell, Section};
use super::session::Viewer;
use super::{base_url, FormData, UiError};
use crate::app::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use klaxon_core::config::IntegrationKind;
use klaxon_store::{Integration, IntegrationSpec};
use maud::{html, Markup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ui/integrations", get(list).post(create))
        .route("/ui/integrations/{id}/rotate", post(rotate))
        .route("/ui/integrations/{id}/enabled", post(set_enabled))
}

const KINDS: [&str; 4] = ["api", "alertmanager", "pagerduty", "webhook"];

fn admins_only(viewer: &Viewer) -> Option<Response> {
    (!viewer.is_admin()).then(|| {
        page::error_page(
            StatusCode::FORBIDDEN,
            Some(viewer),
            "Only admins manage integrations.",
        )
    })
}

fn snippets(base: &str, prefix: &str, key: &str) -> Markup {
    let og = format!("{base}{prefix}/");
    let alertmanager = format!(
        "receivers:\n  - name: klaxon\n    opsgenie_configs:\n      - api_url: {og}\n        api_key: {key}\n        update_alerts: true\n        priority: '{{{{ if eq .CommonLabels.severity \"critical\" }}}}P1{{{{ else }}}}P3{{{{ end }}}}'\n"
    );
    let webhook = format!(
        "receivers:\n  - name: klaxon-webhook\n    webhook_configs:\n      - url: {base}/api/integrations/alertmanager\n        http_config:\n          authorization:\n            credentials: {key}\n"
    );
    let prometheus = "# prometheus.yml: Prometheus sends to Alertmanager, which sends to Klaxon\n# with one of the receivers above.\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['alertmanager:9093']\n".to_string();
    let curl = format!(
        "curl -X POST {base}{prefix}/v2/alerts \\\n  -H 'Authorization: GenieKey {key}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"message\":\"Disk full on db1\",\"priority\":\"P2\"}}'\n"
    );
    html! {
        h2 { "Alertmanager (opsgenie_configs)" }
        pre.panel { code { (alertmanager) } }
        h2 { "Alertmanager (webhook_configs)" }
        pre.panel { code { (webhook) } }
        h2 { "Prometheus" }
        pre.panel { code { (prometheus) } }
        h2 { "curl" }
        pre.panel { code { (curl) } }
    }
}

fn row(viewer: &Viewer, i: &Integration) -> Markup {
    html! {
        tr {
            td { strong { (i.name) } }
            td { (i.kind) }
            td { @if let Some(t) = &i.team_name { (t) } @else { span.muted { "global" } } }
            td { @if i.enabled { "enabled" } @else { span.muted { "disabled" } } }
            td {
                @if i.managed {
                    span.muted { "managed in config" }
                } @else {
                    div.actions {
                        form method="post" action={ "/ui/integrations/" (i.id) "/rotate" } {
                            (csrf_input(viewer))
                            button type="submit" { "Rotate key" }
                        }
                        form method="post" action={ "/ui/integrations/" (i.id) "/enabled" } {
                            (csrf_input(viewer))
                            input type="hidden" name="enabled" value=(if i.enabled { "false" } else { "true" });
                            button type="submit" { @if i.enabled { "Disable" } @else { "Enable" } }
                        }
                    }
                }
            }
        }
    }
}

async fn list_markup(
    state: &AppState,
    viewer: &Viewer,
    problem: Option<&str>,
) -> Result<Markup, UiError> {
    let integrations = state.store.ui_integrations().await?;
    let teams = state.store.list_teams().await?;
    Ok(html! {
        h1 { "Integrations" }
        @if let Some(p) = problem { p.flash.error role="alert" { (p) } }
        div.panel style="overflow-x:auto" {
            table.grid {
                thead { tr { th { "Name" } th { "Type" } th { "Team" } th { "State" } th { "" } } }
                tbody { @for i in &integrations { (row(viewer, i)) } }
            }
        }
        h2 { "New integration" }
        form method="post" action="/ui/integrations" {
            (csrf_input(viewer))
            label for="in-name" { "Name" }
            input #in-name type="text" name="name" required maxlength="100";
            label for="in-kind" { "Type" }
            select #in-kind name="kind" { @for k in KINDS { option value=(k) { (k) } } }
            label for="in-team" { "Team" }
            select #in-team name="team" {
                option value="" { "global (sees every alert)" }
                @for t in &teams { option value=(t.name) { (t.name) } }
            }
            p { button.primary type="submit" { "Create" } }
        }
    })
}

async fn list(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer) {
        return Ok(r);
    }
    let body = list_markup(&state, &viewer, None).await?;
    Ok(page::page(shell(
        "Integrations",
        Some(&viewer),
        Section::Integrations,
        body,
    )))
}

/// The page that shows a new key, once. Rendered as the POST's answer, so the key is in no URL
/// and no history entry.
fn key_page(
    state: &AppState,
    headers: &HeaderMap,
    viewer: &Viewer,
    name: &str,
    key: &str,
) -> Response {
    let base = base_url(state, headers);
    let body = html! {
        p { a href="/ui/integrations" { "← Integrations" } }
        h1 { "Key for " (name) }
        p.flash role="status" { "Copy this key now: Klaxon stores only its hash and cannot show it again." }
        pre.panel { code #new-key { (key) } }
        (snippets(&base, &state.opsgenie_prefix, key))
    };
    page::page(shell("New key", Some(viewer), Section::Integrations, body))
}

async fn create(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer) {
        return Ok(r);
    }
    let form = FormData::parse(&body);
    let name = form.get("name").unwrap_or("").trim().to_string();
    let kind = form.get("kind").unwrap_or("api");
    let problem = if name.is_empty() || name.chars().count() > 100 {
        Some("Give the integration a name of 1 to 100 characters.".to_string())
    } else if !KINDS.contains(&kind) || IntegrationKind::parse(kind).is_none() {
        Some(format!("Unknown integration type {kind:?}."))
    } else {
        None
    };
    let reject = |state: AppState, viewer: Viewer, p: String| async move {
        let body = list_markup(&state, &viewer, Some(&p)).await?;
        let mut r = page::page(shell(
            "Integrations",
            Some(&viewer),
            Section::Integrations,
            body,
        ));
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok::<Response, UiError>(r)
    };
    if let Some(p) = problem {
        return reject(state, viewer, p).await;
    }
    let team = form.get("team").map(str::trim).filter(|t| !t.is_empty());
    let key = crate::keys::generate_key();
    let spec = IntegrationSpec {
        name: name.clone(),
        kind: kind.to_string(),
        key_hash: crate::keys::hash_key(&key),
        team: team.map(str::to_string),
        default_priority: None,
        default_tags: vec![],
        enabled: true,
    };
    match state
        .store
        .create_integration(&spec, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(key_page(&state, &headers, &viewer, &name, &key)),
        Err(klaxon_store::StoreError::Db(sqlx_err))
            if sqlx_err
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()) =>
        {
            reject(
                state,
                viewer,
                format!("An integration named {name:?} already exists."),
            )
            .await
        }
        Err(klaxon_store::StoreError::Invalid(m)) => reject(state, viewer, m).await,
        Err(e) => Err(e.into()),
    }
}

async fn rotate(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer) {
        return Ok(r);
    }
    let Some(i) = state
        .store
        .ui_integrations()
        .await?
        .into_iter()
        .find(|i| i.id == id)
    else {
        return Ok(page::error_page(
            StatusCode::NOT_FOUND,
            Some(&viewer),
            "No such integration.",
        ));
    };
    let key = crate::keys::generate_key();
    if !state
        .store
        .rotate_integration_key(&id, &crate::keys::hash_key(&key))
        .await?
    {
        return Ok(page::error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "This integration is managed in config; change its key there.",
        ));
    }
    // The old key must stop working now, not when the cache entry ages out.
    state.keys.clear();
    Ok(key_page(&state, &headers, &viewer, &i.name, &key))
}

async fn set_enabled(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, UiError> {
    if let Some(r) = admins_only(&viewer) {
        return Ok(r);
    }
    let enabled = FormData::parse(&body).get("enabled") == Some("true");
    if !state.store.set_integration_enabled(&id, enabled).await? {
        return Ok(page::error_page(
            StatusCode::FORBIDDEN,
            Some(&viewer),
            "No such integration, or it is managed in config.",
        ));
    }
    state.keys.clear();
    Ok(Redirect::to("/ui/integrations").into_response())
}
