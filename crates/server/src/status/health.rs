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
    /// For https: when the server's certificate expires (unix ms).
    pub cert_expires_at: Option<i64>,
}

/// The alias of the alert a failing check opens.
pub fn alert_alias(name: &str) -> String {
    format!("health-check-{name}")
}

/// The alias of the alert an https check opens while its certificate is about to expire.
pub fn tls_alert_alias(name: &str) -> String {
    format!("health-check-{name}-tls-expiry")
}

/// An error with its causes ("connection failed: … invalid peer certificate: Expired"): the
/// outer reqwest error alone hides why a TLS handshake failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
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
                match std::error::Error::source(&e) {
                    Some(cause) => format!("connection failed: {}", error_chain(cause)),
                    None => "connection failed".to_string(),
                }
            } else {
                format!("request failed: {}", error_chain(&e))
            };
            let p = Probe {
                ok: false,
                latency_ms: elapsed(),
                status_code: None,
                error: Some(what),
                cert_expires_at: None,
            };
            return (p, true);
        }
    };
    let status = resp.status().as_u16();
    let cert_expires_at = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .and_then(|der| klaxon_core::status::tls::not_after(der).ok());
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
        cert_expires_at,
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
            cert_expires_at: None,
        },
        true,
    )
}

/// One run: up to `retries` tries, waiting `retry_backoff`, then twice that, … between tries
/// that failed in a way worth retrying (no answer, or 500/502/504). The waits are part of one
/// probe, like its timeout, so they use real time.
pub async fn probe(checks: &Checks, c: &HealthCheckConfig) -> Probe {
    let http = match checks.client(c) {
        Ok(h) => h,
        Err(e) => {
            return Probe {
                ok: false,
                latency_ms: 0,
                status_code: None,
                error: Some(e.clone()),
                cert_expires_at: None,
            }
        }
    };
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

/// The checks the worker runs, by name, and the HTTP clients it runs them with: one shared,
/// and one of their own for https checks with a CA file or `tls_skip_verify` (or the reason
/// such a client could not be made, which each run then reports).
pub struct Checks {
    pub by_name: HashMap<String, HealthCheckConfig>,
    pub http: reqwest::Client,
    own: HashMap<String, Result<reqwest::Client, String>>,
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        // Keeps the server's certificate on the response, for its expiry.
        .tls_info(true)
}

/// A client for a check with its own TLS settings.
fn own_client(c: &HealthCheckConfig) -> Result<reqwest::Client, String> {
    let mut b = client_builder();
    if let Some(file) = &c.tls_ca_file {
        let pem = std::fs::read(file).map_err(|e| format!("tls_ca_file {file:?}: {e}"))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("tls_ca_file {file:?}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("tls_ca_file {file:?}: no PEM certificate in it"));
        }
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    if c.tls_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build()
        .map_err(|e| format!("cannot make the HTTP client: {e}"))
}

impl Checks {
    pub fn new(list: &[HealthCheckConfig]) -> Checks {
        let by_name: HashMap<String, HealthCheckConfig> = list
            .iter()
            .filter(|c| c.enabled)
            .map(|c| (c.name.clone(), c.clone()))
            .collect();
        let own = by_name
            .values()
            .filter(|c| c.tls_ca_file.is_some() || c.tls_skip_verify)
            .map(|c| {
                let client = own_client(c);
                if let Err(e) = &client {
                    tracing::error!(check = %c.name, error = %e, "health check: bad TLS settings");
                }
                (c.name.clone(), client)
            })
            .collect();
        Checks {
            by_name,
            http: client_builder().build().unwrap_or_default(),
            own,
        }
    }

    /// The client `c` runs with.
    pub fn client(&self, c: &HealthCheckConfig) -> Result<&reqwest::Client, &String> {
        match self.own.get(&c.name) {
            Some(r) => r.as_ref(),
            None => Ok(&self.http),
        }
    }
}

pub async fn run(
    store: Store,
    writer: Writer,
    clock: Arc<dyn Clock>,
    checks: Arc<crate::reload::Live<Checks>>,
    wake: Arc<Notify>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let names: Vec<String> = checks.get().by_name.keys().cloned().collect();
    let now = clock.now_ms();
    match store.sync_health_checks(&names, now).await {
        // Removed while Klaxon was stopped: their configuration is gone with them.
        Ok(removed) => retire(&store, &writer, &removed, &[], now).await,
        Err(e) => tracing::error!(error = %e, "health checks: cannot sync their state"),
    }
    let s = store.clone();
    crate::engine::run_due_loop(
        "health checks",
        clock,
        wake,
        stop,
        move |now| {
            let (store, writer, checks) = (store.clone(), writer.clone(), checks.get());
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
                let p = probe(&checks, &c).await;
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
            recovered(
                store,
                writer,
                c,
                now,
                state.incident_id.take(),
                "passes again",
            )
            .await?;
        }
        Transition::None => {}
    }
    if let Some(expires) = p.cert_expires_at {
        certificate_expiry(store, writer, c, expires, now).await?;
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

/// Ends what a check that was down had opened: checks removed from the config (found in the
/// stored states `removed`; `old` is the config they were removed from, when known). Their
/// alerts close, and their status-page incident resolves or their component turns operational
/// again — without the old config only the alerts can be found, and a warning says so.
pub async fn retire(
    store: &Store,
    writer: &Writer,
    removed: &[klaxon_store::HealthCheckState],
    old: &[HealthCheckConfig],
    now: i64,
) {
    let reason = "was removed from the config";
    for s in removed.iter().filter(|s| s.down) {
        let result = match old.iter().find(|c| c.name == s.name) {
            Some(c) => recovered(store, writer, c, now, s.incident_id.clone(), reason).await,
            None => {
                tracing::warn!(check = %s.name, "a health check that was down is no longer configured: its alert is closed; its status-page component keeps its status");
                close_alert(writer, &s.name, now, reason).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(check = %s.name, error = %e, "removed health check: cannot close what it opened");
        }
    }
}

/// Closes the check's alert, if it is open (an alias with no open alert is no error).
async fn close_alert(writer: &Writer, name: &str, now: i64, reason: &str) -> anyhow::Result<()> {
    writer
        .write(op(
            now,
            WriteKind::Act {
                target: Identifier::Alias(alert_alias(name)),
                action: ActionRequest::Ready(Action::Close),
                note: Some(format!("Health check {name} {reason}")),
            },
        ))
        .await?;
    Ok(())
}

async fn recovered(
    store: &Store,
    writer: &Writer,
    c: &HealthCheckConfig,
    now: i64,
    incident: Option<String>,
    reason: &str,
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
                        "Health check {} {reason}. This incident has been resolved.",
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
        close_alert(writer, &c.name, now, reason).await?;
    }
    Ok(())
}

/// Keeps the certificate-expiry alert of an https check in step with its certificate: open
/// while it expires within `tls_expiry_warning` (or has expired), closed once a renewed one is
/// served. Only checks with `alert: true` page anybody.
async fn certificate_expiry(
    store: &Store,
    writer: &Writer,
    c: &HealthCheckConfig,
    expires: i64,
    now: i64,
) -> anyhow::Result<()> {
    if !c.alert {
        return Ok(());
    }
    let alias = tls_alert_alias(&c.name);
    let open = store
        .get_alert(
            &Identifier::Alias(alias.clone()),
            &klaxon_store::Scope::global(),
        )
        .await?
        .is_some_and(|a| a.status == klaxon_core::lifecycle::Status::Open);
    let warn = expires - now < c.tls_expiry_warning.as_millis();
    let url = c.url.as_deref().unwrap_or_default();
    let date = klaxon_core::time::format_iso(expires);
    if warn && !open {
        let days = klaxon_core::status::tls::days_left(expires, now);
        let when = if expires <= now {
            format!("expired on {date}")
        } else if days == 0 {
            format!("expires today ({date})")
        } else {
            format!("expires in {days} days ({date})")
        };
        tracing::warn!(check = %c.name, %url, %when, "health check: TLS certificate");
        let new = NewAlert {
            alias,
            message: klaxon_core::alert::truncate_chars(
                &format!("TLS certificate of {url} {when}"),
                130,
            ),
            description: format!(
                "Health check {} found that the certificate served by {url} {when}; the warning starts {} before expiry. Renew it: this alert closes by itself when the check sees the new one.",
                c.name, c.tls_expiry_warning
            ),
            priority: klaxon_core::alert::Priority::P3,
            source: "health check".into(),
            entity: c.component.clone().unwrap_or_else(|| c.name.clone()),
            tags: vec!["health-check".into(), "tls".into()],
            details: [
                ("check".to_string(), c.name.clone()),
                ("certificate_expires_at".to_string(), date),
            ]
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
    } else if !warn && open {
        writer
            .write(op(
                now,
                WriteKind::Act {
                    target: Identifier::Alias(alias),
                    action: ActionRequest::Ready(Action::Close),
                    note: Some(format!("The certificate of {url} now expires on {date}")),
                },
            ))
            .await?;
    }
    Ok(())
}
