//! Health checks. Each declared check has a due row (`health_check_state.next_run_at`); the
//! worker claims due checks with a lease, probes them (HTTP or TCP, with retries and backoff
//! inside one run), and feeds the result to the threshold machine in core. When a check goes
//! down it sets its component's status, opens a status-page incident (if configured) and opens
//! a Klaxon alert through the writer (so the on-call is paged); when it recovers it undoes all
//! three. Every result is stored for the uptime and latency history, pruned after `retention`.

use crate::engine::writer::Writer;
use klaxon_core::clock::Clock;
use klaxon_core::lifecycle::{Action, Actor};
use klaxon_core::status::config::{CheckKind, HealthCheckConfig};
use klaxon_core::status::threshold::{CheckState, Thresholds, Transition};
use klaxon_store::{
    ActionRequest, HealthCheckResult, HealthCheckState, Identifier, IncidentWrite, NewAlert, Store,
    WriteKind, WriteOp,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;

const BATCH: i64 = 64;

/// What one run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub ok: bool,
    pub latency_ms: i64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// The alias of the alert a failing check opens.
pub fn alert_alias(name: &str) -> String {
    format!("health-check-{name}")
}

/// Whether a response status is worth another try (seed 001's `status_forcelist`).
fn retryable(status: u16) -> bool {
    matches!(status, 500 | 502 | 504)
}

/// One try of an HTTP check: the status, body and headers against what the check expects.
async fn http_once(http: &reqwest::Client, c: &HealthCheckConfig) -> (Probe, bool) {
    let started = Instant::now();
    let method = reqwest::Method::from_bytes(c.method.to_ascii_uppercase().as_bytes())
        .unwrap_or(reqwest::Method::GET);
    let url = c.url.clone().unwrap_or_default();
    let resp = http
        .request(method, &url)
        .timeout(c.timeout.0)
        .header("user-agent", "klaxon-health-check")
        .send()
        .await;
    let elapsed = || started.elapsed().as_millis() as i64;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            let what = if e.is_timeout() {
                format!("timed out after {}", c.timeout)
            } else if e.is_connect() {
                "connection failed".to_string()
            } else {
                format!("request failed: {e}")
            };
            let p = Probe {
                ok: false,
                latency_ms: elapsed(),
                status_code: None,
                error: Some(what),
            };
            return (p, true);
        }
    };
    let status = resp.status().as_u16();
    let mut error = None;
    if !c
        .status_ranges()
        .iter()
        .any(|(a, b)| (*a..=*b).contains(&status))
    {
        error = Some(format!("status {status} is not the expected one"));
    }
    for (name, want) in &c.headers_match {
        let got = resp
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if got != Some(want.as_str()) && error.is_none() {
            error = Some(format!("header {name}: expected {want:?}, got {got:?}"));
        }
    }
    if let Some(needle) = &c.body_contains {
        match tokio::time::timeout(c.timeout.0, resp.text()).await {
            Ok(Ok(body)) if body.contains(needle.as_str()) => {}
            Ok(Ok(_)) => {
                error.get_or_insert_with(|| format!("the body does not contain {needle:?}"));
            }
            _ => {
                error.get_or_insert_with(|| "could not read the body".to_string());
            }
        }
    }
    let p = Probe {
        ok: error.is_none(),
        latency_ms: elapsed(),
        status_code: Some(status),
        error,
    };
    (p, retryable(status))
}

async fn tcp_once(c: &HealthCheckConfig) -> (Probe, bool) {
    let started = Instant::now();
    let addr = c.address.clone().unwrap_or_default();
    let r = tokio::time::timeout(c.timeout.0, tokio::net::TcpStream::connect(&addr)).await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let error = match r {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("connect to {addr} failed: {e}")),
        Err(_) => Some(format!("connect to {addr} timed out after {}", c.timeout)),
    };
    (
        Probe {
            ok: error.is_none(),
            latency_ms,
            status_code: None,
            error,
        },
        true,
    )
}

/// One run: up to `retries` tries, waiting `retry_backoff`, then twice that, … between tries
/// that failed in a way worth retrying (no answer, or 500/502/504). The waits are part of one
/// probe, like its timeout, so they use real time.
pub async fn probe(http: &reqwest::Client, c: &HealthCheckConfig) -> Probe {
    let mut wait = c.retry_backoff.0;
    let mut tries = 0;
    loop {
        tries += 1;
        let (p, retry) = match c.kind {
            CheckKind::Http => http_once(http, c).await,
            CheckKind::Tcp => tcp_once(c).await,
        };
        if p.ok || !retry || tries >= c.retries.max(1) {
            return p;
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
}

fn actor() -> Actor {
    Actor {
        user: "System".into(),
        via: "Klaxon".into(),
        source: "health check".into(),
    }
}

fn op(now: i64, kind: WriteKind) -> WriteOp {
    WriteOp {
        request_id: uuid::Uuid::now_v7().to_string(),
        integration_id: String::new(),
        integration_name: "Health check".into(),
        integration_type: "HealthCheck".into(),
        team_id: None,
        actor: actor(),
        now,
        kind,
    }
}

/// The checks the worker runs, by name, and the HTTP client it runs them with.
pub struct Checks {
    pub by_name: HashMap<String, HealthCheckConfig>,
    pub http: reqwest::Client,
}

impl Checks {
    pub fn new(list: &[HealthCheckConfig]) -> Checks {
        Checks {
            by_name: list
                .iter()
                .filter(|c| c.enabled)
                .map(|c| (c.name.clone(), c.clone()))
                .collect(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(5))
                .build()
                .unwrap_or_default(),
        }
    }
}

pub async fn run(
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    checks: Arc<Checks>,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let names: Vec<String> = checks.by_name.keys().cloned().collect();
    if let Err(e) = store.sync_health_checks(&names, clock.now_ms()).await {
        tracing::error!(error = %e, "health checks: cannot sync their state");
    }
    let s = store.clone();
    crate::engine::run_due_loop(
        "health checks",
        clock,
        wake,
        stop,
        move |now| {
            let (store, writer, checks) = (store.clone(), writer.clone(), checks.clone());
            async move { run_due(&store, &writer, &checks, now).await }
        },
        move || {
            let s = s.clone();
            async move { s.next_health_check_due().await }
        },
    )
    .await
}

/// Runs every check due at `now`, concurrently.
pub async fn run_due(
    store: &Store,
    writer: &Writer,
    checks: &Arc<Checks>,
    now: i64,
) -> anyhow::Result<()> {
    // A claim lasts longer than the slowest run can: every try timing out plus the waits.
    let lease = checks
        .by_name
        .values()
        .map(|c| {
            let tries = c.retries.max(1) as u64;
            c.timeout.0.as_millis() as i64 * tries as i64
                + c.retry_backoff.0.as_millis() as i64 * (1i64 << tries.min(20))
        })
        .max()
        .unwrap_or(0)
        + 60_000;
    loop {
        let claimed = store
            .claim_due_health_checks(now, now + lease, BATCH)
            .await?;
        let n = claimed.len() as i64;
        let mut set = tokio::task::JoinSet::new();
        for name in claimed {
            let Some(c) = checks.by_name.get(&name).cloned() else {
                continue;
            };
            let (store, writer, checks) = (store.clone(), writer.clone(), checks.clone());
            set.spawn(async move {
                let p = probe(&checks.http, &c).await;
                if let Err(e) = apply(&store, &writer, &c, &p, now).await {
                    tracing::warn!(check = %c.name, error = %e, "health check: could not record the result");
                }
            });
        }
        while set.join_next().await.is_some() {}
        if n < BATCH {
            return Ok(());
        }
    }
}

/// Feeds one result to the threshold machine and acts on a transition.
pub async fn apply(
    store: &Store,
    writer: &Writer,
    c: &HealthCheckConfig,
    p: &Probe,
    now: i64,
) -> anyhow::Result<()> {
    let mut state = store
        .health_check_state(&c.name)
        .await?
        .unwrap_or(HealthCheckState {
            name: c.name.clone(),
            ..Default::default()
        });
    let before = CheckState {
        down: state.down,
        failures: state.failures.clamp(0, u32::MAX as i64) as u32,
        successes: state.successes.clamp(0, u32::MAX as i64) as u32,
    };
    let thresholds = Thresholds {
        failure: c.failure_threshold,
        success: c.success_threshold,
    };
    let (after, transition) = before.record(p.ok, thresholds);
    match transition {
        Transition::WentDown => {
            tracing::warn!(check = %c.name, error = ?p.error, "health check is down");
            state.incident_id =
                went_down(store, writer, c, p, now, state.incident_id.take()).await?;
        }
        Transition::Recovered => {
            tracing::info!(check = %c.name, "health check recovered");
            recovered(store, writer, c, now, state.incident_id.take()).await?;
        }
        Transition::None => {}
    }
    state.down = after.down;
    state.failures = after.failures as i64;
    state.successes = after.successes as i64;
    state.next_run_at = Some(now + c.interval.as_millis().max(1_000));
    let result = HealthCheckResult {
        at: now,
        ok: p.ok,
        latency_ms: p.latency_ms,
        status_code: p.status_code.map(i64::from),
        error: p.error.clone(),
    };
    store
        .record_health_check(&state, &result, now - c.retention.as_millis())
        .await?;
    Ok(())
}

/// The page and component id a check is linked to, if it still exists.
async fn component(
    store: &Store,
    c: &HealthCheckConfig,
) -> anyhow::Result<Option<(String, String, String)>> {
    let Some((page, name)) = c.component_ref() else {
        return Ok(None);
    };
    let all = store.status_components(page).await?;
    Ok(all
        .into_iter()
        .find(|x| !x.is_group && x.name.eq_ignore_ascii_case(name))
        .map(|x| (page.to_string(), x.id, x.name)))
}

async fn went_down(
    store: &Store,
    writer: &Writer,
    c: &HealthCheckConfig,
    p: &Probe,
    now: i64,
    open_incident: Option<String>,
) -> anyhow::Result<Option<String>> {
    let reason = p.error.clone().unwrap_or_else(|| "failed".into());
    let down = c.down_status().as_str().to_string();
    let mut incident = open_incident;
    if let Some((page, id, name)) = component(store, c).await? {
        if c.incident {
            let mut w = IncidentWrite {
                name: Some(format!("{name} is unavailable")),
                status: Some("investigating".into()),
                body: Some(format!(
                    "Automated health check {} is failing ({reason}). We are investigating.",
                    c.name
                )),
                component_statuses: vec![(id.clone(), down.clone())],
                health_check: Some(c.name.clone()),
                ..Default::default()
            };
            super::complete_write(&mut w, None);
            incident = Some(store.create_status_incident(&page, &w, now).await?);
        } else {
            let f = klaxon_store::ComponentFields {
                status: Some(down.clone()),
                ..Default::default()
            };
            store
                .update_status_component(&page, &id, false, &f, now)
                .await?;
        }
    }
    if c.alert {
        let new = NewAlert {
            alias: alert_alias(&c.name),
            message: klaxon_core::alert::truncate_chars(
                &format!("Health check {} is failing", c.name),
                130,
            ),
            description: format!(
                "{} {} failed {} times in a row: {reason}",
                match c.kind {
                    CheckKind::Http => "HTTP check of",
                    CheckKind::Tcp => "TCP check of",
                },
                c.url.as_deref().or(c.address.as_deref()).unwrap_or(""),
                c.failure_threshold
            ),
            priority: c.priority(),
            source: "health check".into(),
            entity: c.component.clone().unwrap_or_else(|| c.name.clone()),
            tags: vec!["health-check".into()],
            details: [("check".to_string(), c.name.clone())]
                .into_iter()
                .collect(),
            actions: vec![],
            responders: vec![],
            visible_to: vec![],
            note: None,
        };
        writer
            .write(op(now, WriteKind::Create(Box::new(new))))
            .await?;
    }
    Ok(incident)
}

async fn recovered(
    store: &Store,
    writer: &Writer,
    c: &HealthCheckConfig,
    now: i64,
    incident: Option<String>,
) -> anyhow::Result<()> {
    if let Some((page, id, _)) = component(store, c).await? {
        let open = match &incident {
            Some(i) => store
                .status_incident(&page, i)
                .await?
                .filter(|i| i.resolved_at.is_none()),
            None => None,
        };
        match open {
            Some(cur) => {
                let mut w = IncidentWrite {
                    status: Some("resolved".into()),
                    body: Some(format!(
                        "Health check {} passes again. This incident has been resolved.",
                        c.name
                    )),
                    component_statuses: vec![(id, "operational".into())],
                    ..Default::default()
                };
                super::complete_write(&mut w, Some(&cur));
                store
                    .update_status_incident(&page, &cur.id, &w, now)
                    .await?;
            }
            None => {
                let f = klaxon_store::ComponentFields {
                    status: Some("operational".into()),
                    ..Default::default()
                };
                store
                    .update_status_component(&page, &id, false, &f, now)
                    .await?;
            }
        }
    }
    if c.alert {
        writer
            .write(op(
                now,
                WriteKind::Act {
                    target: Identifier::Alias(alert_alias(&c.name)),
                    action: ActionRequest::Ready(Action::Close),
                    note: Some(format!("Health check {} passes again", c.name)),
                },
            ))
            .await?;
    }
    Ok(())
}
