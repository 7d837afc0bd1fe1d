//! Status pages: the Statuspage API v1 (OAuth keys, components, incidents with component
//! statuses, updates, errors), the public JSON and page, scheduled maintenance moving on the
//! test clock, uptime figures from a known history, and health checks against a real local
//! HTTP server (threshold, alert, incident, recovery, flapping, and the uptime bars their
//! results make over several days).

use crate::helpers::*;
use klaxon_store::testing::backends;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

const PAGE: &str = r##"
status_pages:
  - id: acme
    name: Acme
    host: status.acme.test
    branding: {title: "Acme status", colors: {accent: "#123456"}}
    groups: [{name: Platform}]
    components:
      - {name: API, group: Platform, description: "Public API"}
      - {name: Website}
"##;

async fn sp(
    app: &TestApp,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method.parse().unwrap(), format!("{}{path}", app.root()));
    if let Some(k) = key {
        req = req.header("Authorization", format!("OAuth {k}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (s, v) = sp(app, "GET", path, Some(ADMIN_KEY), None).await;
    assert_eq!(s, 200, "GET {path}: {v}");
    v
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

#[tokio::test]
async fn incidents_move_components_and_show_in_the_public_json() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &config(PAGE), None).await;
        // Keys: a global key works, a team key does not, no key is 401, all in Statuspage's shape.
        let (s, v) = sp(&app, "GET", "/v1/pages/acme/components", None, None).await;
        assert_eq!(s, 401, "{v}");
        assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
        let (s, _) = sp(
            &app,
            "GET",
            "/v1/pages/acme/components",
            Some(SRE_KEY),
            None,
        )
        .await;
        assert_eq!(s, 403);
        let (s, v) = sp(
            &app,
            "GET",
            "/v1/pages/nope/components",
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(s, 404, "{v}");

        let page = get(&app, "/v1/pages/acme.json").await;
        assert_eq!(page["id"], "acme");
        assert_eq!(page["name"], "Acme");

        let comps = get(&app, "/v1/pages/acme/components").await;
        let api = find(&comps, "API").clone();
        let platform = find(&comps, "Platform");
        assert_eq!(platform["group"], true);
        assert_eq!(platform["components"], json!([api["id"]]));
        assert_eq!(api["group_id"], platform["id"]);
        assert_eq!(api["status"], "operational");

        let (s, db) = sp(
            &app,
            "POST",
            "/v1/pages/acme/components",
            Some(ADMIN_KEY),
            Some(json!({"component": {"name": "Database", "description": "Primary DB"}})),
        )
        .await;
        assert_eq!(s, 201, "{db}");
        let db_id = db["id"].as_str().unwrap().to_string();

        // Bad input: a clear 422 and nothing written.
        let (s, v) = sp(
            &app,
            "POST",
            "/v1/pages/acme/incidents",
            Some(ADMIN_KEY),
            Some(json!({"incident": {"name": "x", "components": {db_id.clone(): "down"}}})),
        )
        .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"].as_str().unwrap().contains("partial_outage"),
            "{v}"
        );
        let (s, v) = sp(
            &app,
            "POST",
            "/v1/pages/acme/incidents",
            Some(ADMIN_KEY),
            Some(json!({"incident": {"name": "x", "components": {"no-such-id": "major_outage"}}})),
        )
        .await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(get(&app, "/v1/pages/acme/incidents").await, json!([]));

        // The seed script's request: impact, a naive created_at, component_ids + components.
        app.clock.advance(Duration::from_secs(60));
        let (s, inc) = sp(
            &app,
            "POST",
            "/v1/pages/acme/incidents",
            Some(ADMIN_KEY),
            Some(json!({"incident": {
            "name": "API Health check fails", "impact": "critical", "impact_override": "critical",
            "created_at": "2026-01-01T00:01:00.123456",
            "body": "Automated health check failed.", "component_ids": [db_id],
            "components": {db_id.clone(): "partial_outage"}}})),
        )
        .await;
        assert_eq!(s, 201, "{inc}");
        assert_eq!(inc["status"], "investigating");
        assert_eq!(inc["impact"], "critical");
        assert_eq!(inc["components"][0]["status"], "partial_outage");
        let upd = &inc["incident_updates"][0];
        assert_eq!(
            upd["affected_components"],
            json!([{"code": db_id, "name": "Database",
            "old_status": "operational", "new_status": "partial_outage"}])
        );
        let id = inc["id"].as_str().unwrap().to_string();

        let summary = get(&app, "/status/acme/api/v2/summary.json").await;
        assert_eq!(
            summary["status"],
            json!({"indicator": "critical", "description": "Major System Outage"})
        );
        assert_eq!(summary["incidents"][0]["id"], id.as_str());
        assert_eq!(
            find(&summary["components"], "Database")["status"],
            "partial_outage"
        );
        assert_eq!(summary["page"]["id"], "acme");

        app.clock.advance(Duration::from_secs(600));
        let (s, v) = sp(
            &app,
            "PATCH",
            &format!("/v1/pages/acme/incidents/{id}"),
            Some(ADMIN_KEY),
            Some(
                json!({"incident": {"status": "identified", "body": "Disk full on the primary."}}),
            ),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = sp(
            &app,
            "PATCH",
            &format!("/v1/pages/acme/incidents/{id}"),
            Some(ADMIN_KEY),
            Some(json!({"incident": {"status": "fixing"}})),
        )
        .await;
        assert_eq!(s, 422, "{v}");
        app.clock.advance(Duration::from_secs(600));
        let (s, v) = sp(
            &app,
            "PATCH",
            &format!("/v1/pages/acme/incidents/{id}"),
            Some(ADMIN_KEY),
            Some(
                json!({"incident": {"status": "resolved", "body": "Space freed.",
                         "components": {db_id.clone(): "operational"}}}),
            ),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "resolved");
        assert!(v["resolved_at"].is_string());
        let statuses: Vec<&str> = v["incident_updates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["resolved", "identified", "investigating"]);

        let status = get(&app, "/status/acme/api/v2/status.json").await;
        assert_eq!(status["status"]["indicator"], "none");
        assert_eq!(
            get(&app, "/status/acme/api/v2/summary.json").await["incidents"],
            json!([])
        );

        // Postmortem on the resolved incident, shown on the public page once published.
        let (s, v) = sp(
            &app,
            "PUT",
            &format!("/v1/pages/acme/incidents/{id}/postmortem"),
            Some(ADMIN_KEY),
            Some(json!({"postmortem": {"body_draft": "Logs were not rotated."}})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = sp(
            &app,
            "PUT",
            &format!("/v1/pages/acme/incidents/{id}/postmortem/publish"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["body"], "Logs were not rotated.");
        let html = app.text("/status/acme").await;
        assert!(html.contains("Logs were not rotated."), "{html}");
        assert!(html.contains("All Systems Operational"));

        let feed = app.text("/status/acme/feed.atom").await;
        assert!(
            feed.contains("<title>API Health check fails</title>"),
            "{feed}"
        );
        let badge = app
            .http
            .get(format!("{}/status/acme/badge/Database.svg", app.root()))
            .send()
            .await
            .unwrap();
        assert_eq!(badge.headers()["content-type"], "image/svg+xml");
        assert!(badge
            .text()
            .await
            .unwrap()
            .contains("Database: operational"));
        app.stop().await;
    }
}

#[tokio::test]
async fn scheduled_maintenance_moves_by_itself_on_the_clock() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &config(PAGE), None).await;
        let comps = get(&app, "/v1/pages/acme/components").await;
        let web = find(&comps, "Website")["id"].as_str().unwrap().to_string();
        let (s, m) = sp(&app, "POST", "/v1/pages/acme/incidents", Some(ADMIN_KEY), Some(json!({"incident": {
            "name": "Database upgrade", "status": "scheduled",
            "scheduled_for": "2026-01-01T01:00:00Z", "scheduled_until": "2026-01-01T02:00:00Z",
            "scheduled_auto_in_progress": true, "scheduled_auto_completed": true,
            "auto_transition_to_maintenance_state": true, "auto_transition_to_operational_state": true,
            "component_ids": [web], "body": "We will upgrade the database."}}))).await;
        assert_eq!(s, 201, "{m}");
        assert_eq!(m["impact"], "maintenance");
        let id = m["id"].as_str().unwrap().to_string();
        let status_of = |v: Value| v["status"].as_str().unwrap().to_string();
        assert_eq!(
            get(&app, "/v1/pages/acme/incidents/upcoming").await[0]["id"],
            id.as_str()
        );

        app.clock.advance(Duration::from_secs(3_600));
        app.eventually("in progress", || async {
            status_of(get(&app, &format!("/v1/pages/acme/incidents/{id}")).await) == "in_progress"
        })
        .await;
        let comps = get(&app, "/v1/pages/acme/components").await;
        assert_eq!(find(&comps, "Website")["status"], "under_maintenance");
        assert_eq!(
            get(&app, "/status/acme/api/v2/status.json").await["status"]["indicator"],
            "maintenance"
        );

        app.clock.advance(Duration::from_secs(3_600));
        app.eventually("completed", || async {
            status_of(get(&app, &format!("/v1/pages/acme/incidents/{id}")).await) == "completed"
        })
        .await;
        let comps = get(&app, "/v1/pages/acme/components").await;
        assert_eq!(find(&comps, "Website")["status"], "operational");
        let inc = get(&app, &format!("/v1/pages/acme/incidents/{id}")).await;
        assert_eq!(inc["incident_updates"].as_array().unwrap().len(), 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn uptime_bars_show_known_daily_figures_and_the_ninety_day_figure() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &config(PAGE), None).await;
        let comps = get(&app, "/v1/pages/acme/components").await;
        let api = find(&comps, "API")["id"].as_str().unwrap().to_string();
        let website = find(&comps, "Website")["id"].as_str().unwrap().to_string();
        let set_on = |id: &str, status: &'static str| {
            let (app, id) = (&app, id.to_string());
            async move {
                let (s, v) = sp(
                    app,
                    "PATCH",
                    &format!("/v1/pages/acme/components/{id}"),
                    Some(ADMIN_KEY),
                    Some(json!({"component": {"status": status}})),
                )
                .await;
                assert_eq!(s, 200, "{v}");
            }
        };
        let set = |status: &'static str| set_on(&api, status);
        const H: u64 = 3_600;
        // Day 1 (Jan 1): created at 00:00, major outage 06:00–08:24 (2.4 h = 10 % of the day).
        app.clock.advance(Duration::from_secs(6 * H));
        set("major_outage").await;
        app.clock.advance(Duration::from_secs(2 * H + 24 * 60));
        set("operational").await;
        // Day 2: partial outage 12:00–20:00 (8 h × 0.3 = 2.4 h down: 90 %).
        app.clock.set(T0 + (24 + 12) * 3_600_000);
        set("partial_outage").await;
        app.clock.set(T0 + (24 + 20) * 3_600_000);
        set("operational").await;
        // Day 3: degraded all afternoon (counts as up).
        app.clock.set(T0 + (48 + 12) * 3_600_000);
        set("degraded_performance").await;
        app.clock.set(T0 + (48 + 18) * 3_600_000);
        set("operational").await;
        // The website: a major outage across midnight, day 3 22:00 → day 4 02:00.
        app.clock.set(T0 + (48 + 22) * 3_600_000);
        set_on(&website, "major_outage").await;
        app.clock.set(T0 + (72 + 2) * 3_600_000);
        set_on(&website, "operational").await;
        // Now: the end of day 4.
        app.clock.set(T0 + 4 * 86_400_000 - 1);

        let html = app.text("/status/acme").await;
        let bar = |day: &str| {
            let at = html
                .find(&format!("data-day=\"{day}\""))
                .unwrap_or_else(|| panic!("no bar for {day}"));
            let rest = &html[at..];
            let t = rest.find("title=\"").unwrap() + 7;
            rest[t..t + rest[t..].find('"').unwrap()].to_string()
        };
        // The API's bars (the first component block with bars on the page is API, in its group).
        assert!(
            bar("2026-01-01").starts_with("Jan 1, 2026: 90.00% uptime, major outage 144 min"),
            "{}",
            bar("2026-01-01")
        );
        assert!(
            bar("2026-01-02").starts_with("Jan 2, 2026: 90.00% uptime, partial outage 480 min"),
            "{}",
            bar("2026-01-02")
        );
        assert_eq!(
            bar("2026-01-03"),
            "Jan 3, 2026: 100.00% uptime — no incidents"
        );
        assert_eq!(
            bar("2026-01-04"),
            "Jan 4, 2026: 100.00% uptime — no incidents"
        );
        assert_eq!(bar("2025-12-31"), "Dec 31, 2025: no data");
        // The website's outage splits at midnight: 2 h down on each day (91.67 %), and over
        // its 96 h of data 4 h down (95.83 %).
        let web_block = &html[html.find(&format!("data-component=\"{website}\"")).unwrap()..];
        let web_bar = |day: &str| {
            let at = web_block.find(&format!("data-day=\"{day}\"")).unwrap();
            let rest = &web_block[at..];
            let t = rest.find("title=\"").unwrap() + 7;
            rest[t..t + rest[t..].find('"').unwrap()].to_string()
        };
        assert_eq!(
            web_bar("2026-01-02"),
            "Jan 2, 2026: 100.00% uptime — no incidents"
        );
        assert_eq!(
            web_bar("2026-01-03"),
            "Jan 3, 2026: 91.67% uptime, major outage 120 min — no incidents"
        );
        assert_eq!(
            web_bar("2026-01-04"),
            "Jan 4, 2026: 91.67% uptime, major outage 120 min — no incidents"
        );
        let web_figure = &web_block[web_block.find("class=\"uptime\"").unwrap()..];
        assert!(
            web_figure.starts_with("class=\"uptime\">95.83 % uptime"),
            "{}",
            &web_figure[..60]
        );
        // 90 days: 4.8 h down over 96 h of data = 95 %.
        let api_block = &html[html.find(&format!("data-component=\"{api}\"")).unwrap()..];
        let figure = &api_block[api_block.find("class=\"uptime\"").unwrap()..];
        assert!(
            figure.starts_with("class=\"uptime\">95.00 % uptime"),
            "{}",
            &figure[..60]
        );
        app.stop().await;
    }
}

/// The status of the `api-health` check's alert, if there is one.
async fn check_alert(app: &TestApp) -> Option<String> {
    let (s, v) = app
        .get("/v2/alerts/health-check-api-health?identifierType=alias")
        .await;
    (s == 200).then(|| v["data"]["status"].as_str().unwrap().to_string())
}

/// A real HTTP server whose answer the test sets.
async fn health_server(code: Arc<AtomicU16>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let code = code.clone();
            async move {
                let c = code.load(Ordering::SeqCst);
                (
                    axum::http::StatusCode::from_u16(c).unwrap(),
                    if c == 200 { "ok" } else { "broken" },
                )
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/health")
}

#[tokio::test]
async fn a_failing_health_check_flips_its_component_pages_and_recovers() {
    for backend in backends() {
        let code = Arc::new(AtomicU16::new(200));
        let url = health_server(code.clone()).await;
        let checks = format!(
            r#"{PAGE}
health_checks:
  - name: api-health
    type: http
    url: {url}
    interval: 10s
    timeout: 2s
    retries: 3
    retry_backoff: 10ms
    body_contains: ok
    failure_threshold: 3
    success_threshold: 2
    component: acme/API
    down_status: partial_outage
    incident: true
    alert: true
    priority: P1
"#
        );
        let app = TestApp::spawn_with(backend, &config(&checks), None).await;
        let store = app.app.as_ref().unwrap().state.store.clone();
        // One run at the current clock time, then report the component's status.
        let run = |ok: bool| {
            let (app, store, code) = (&app, store.clone(), code.clone());
            async move {
                code.store(if ok { 200 } else { 500 }, Ordering::SeqCst);
                app.clock.advance(Duration::from_secs(10));
                let now = klaxon_core::clock::Clock::now_ms(&app.clock);
                app.eventually("the check ran", || {
                    let store = store.clone();
                    async move {
                        store
                            .health_check_state("api-health")
                            .await
                            .unwrap()
                            .and_then(|s| s.last_run_at)
                            == Some(now)
                    }
                })
                .await;
                let comps = get(app, "/v1/pages/acme/components").await;
                find(&comps, "API")["status"].as_str().unwrap().to_string()
            }
        };
        app.eventually("the first run", || async {
            store
                .health_check_state("api-health")
                .await
                .unwrap()
                .and_then(|s| s.last_run_at)
                .is_some()
        })
        .await;

        // Flapping below the threshold changes nothing.
        for ok in [false, false, true, false, false, true, false] {
            assert_eq!(run(ok).await, "operational");
        }
        assert_eq!(check_alert(&app).await, None);
        assert_eq!(get(&app, "/v1/pages/acme/incidents").await, json!([]));

        // The third failure in a row: partial outage, an incident, an alert.
        assert_eq!(run(false).await, "operational");
        assert_eq!(run(false).await, "partial_outage");
        assert_eq!(check_alert(&app).await.as_deref(), Some("open"));
        let incidents = get(&app, "/v1/pages/acme/incidents").await;
        assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
        assert_eq!(incidents[0]["status"], "investigating");
        assert_eq!(incidents[0]["impact"], "major");
        let (_, alert) = app
            .get("/v2/alerts/health-check-api-health?identifierType=alias")
            .await;
        assert_eq!(alert["data"]["priority"], "P1");

        // One success is not enough to recover; two are.
        assert_eq!(run(true).await, "partial_outage");
        assert_eq!(run(false).await, "partial_outage");
        assert_eq!(run(true).await, "partial_outage");
        assert_eq!(run(true).await, "operational");
        assert_eq!(check_alert(&app).await.as_deref(), Some("closed"));
        let incidents = get(&app, "/v1/pages/acme/incidents").await;
        assert_eq!(incidents.as_array().unwrap().len(), 1);
        assert_eq!(incidents[0]["status"], "resolved");

        // Every run is stored for the history.
        let results = store.health_check_results("api-health", 0).await.unwrap();
        assert_eq!(results.len(), 14);
        assert_eq!(results.iter().filter(|r| !r.ok).count(), 8);
        assert_eq!(results.last().unwrap().status_code, Some(200));
        app.stop().await;
    }
}

/// Virtual time: `day` days after 2026-01-01 (day 0) at `h:m` UTC.
fn at(day: i64, h: i64, m: i64) -> i64 {
    T0 + day * 86_400_000 + (h * 60 + m) * 60_000
}

/// A component's block on the public page, from its header to the end of its bars.
fn component_html<'a>(html: &'a str, id: &str) -> &'a str {
    let from = html
        .find(&format!("data-component=\"{id}\""))
        .unwrap_or_else(|| panic!("no block for component {id}"));
    let rest = &html[from..];
    &rest[..rest
        .find("class=\"legend\"")
        .expect("the block has a legend")
        + 200]
}

/// The class and the title of a component's bar for `day` (`YYYY-MM-DD`).
fn day_bar(block: &str, day: &str) -> (String, String) {
    let at = block
        .find(&format!("data-day=\"{day}\""))
        .unwrap_or_else(|| panic!("no bar for {day}"));
    let class_at = block[..at].rfind("class=\"").unwrap() + 7;
    let class = &block[class_at..class_at + block[class_at..].find('"').unwrap()];
    let rest = &block[at..];
    let t = rest.find("title=\"").unwrap() + 7;
    (
        class.to_string(),
        rest[t..t + rest[t..].find('"').unwrap()].to_string(),
    )
}

/// The figure under a component's bars ("89.34 % uptime" or "no data").
fn uptime_figure(block: &str) -> String {
    let at = block.find("class=\"uptime\">").unwrap() + 15;
    block[at..at + block[at..].find('<').unwrap()].to_string()
}

/// Done-when 5 end to end: two health checks against real local HTTP servers that the test
/// switches between 200 and 500 at known virtual times, run every hour of test-clock time for
/// four and a half days (three whole UTC days between a partial first day and a partial
/// today), and the public page's daily uptime bars and 90-day figures that
/// follow from their thresholds. Every figure below is worked out by hand from the schedule.
#[tokio::test]
async fn uptime_bars_follow_health_check_results_over_several_days() {
    // The API's check: major outage (the default) after 3 failures in a row, back after 2
    // successes, with a status-page incident. The website's: partial outage after 2 failures,
    // back after 1 success, no incident. Both run hourly from Jan 1 13:10, so at hh:10.
    //
    // The API's server answers 500 during:
    //   Jan 1 17:30–21:45  runs 18:10 19:10 20:10 21:10 fail: down at 20:10 (3rd failure);
    //                      22:10 23:10 pass: up at 23:10 (2nd success). 180 min down.
    //   Jan 2 05:00–06:50  runs 05:10 06:10 fail: two, below the threshold: nothing.
    //   Jan 2 20:00–22:30  runs 20:10 21:10 22:10 fail: down at 22:10;
    //   and 23:50–Jan 3 01:00: the single pass at 23:10 does not recover it, 00:10 fails,
    //                      01:10 02:10 pass: up at 02:10. 110 min on Jan 2, 130 min on Jan 3.
    //   Jan 5 09:30–       runs 10:10 11:10 12:10 fail: down at 12:10, still down at 15:40.
    // The website's server answers 500 during:
    //   Jan 2 08:00–14:00  runs 08:10 09:10 fail: partial at 09:10; 14:10 passes: up. 300 min.
    //   Jan 3 10:00–10:30  the run at 10:10 fails once, below the threshold: nothing.
    //   Jan 3 21:40–Jan 4 03:20  runs 22:10 23:10 fail: partial at 23:10; … 04:10 passes: up.
    //                      50 min on Jan 3, 250 min on Jan 4.
    let api_schedule = [
        (at(0, 17, 30), 500),
        (at(0, 21, 45), 200),
        (at(1, 5, 0), 500),
        (at(1, 6, 50), 200),
        (at(1, 20, 0), 500),
        (at(1, 22, 30), 200),
        (at(1, 23, 50), 500),
        (at(2, 1, 0), 200),
        (at(4, 9, 30), 500),
    ];
    let web_schedule = [
        (at(1, 8, 0), 500),
        (at(1, 14, 0), 200),
        (at(2, 10, 0), 500),
        (at(2, 10, 30), 200),
        (at(2, 21, 40), 500),
        (at(3, 3, 20), 200),
    ];
    let answer_at = |schedule: &[(i64, u16)], t: i64| {
        schedule
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .map_or(200, |(_, code)| *code)
    };
    let start = at(0, 13, 10);
    let now = at(4, 15, 40);
    const HOUR: i64 = 3_600_000;

    for backend in backends() {
        let api_code = Arc::new(AtomicU16::new(200));
        let web_code = Arc::new(AtomicU16::new(200));
        let api_url = health_server(api_code.clone()).await;
        let web_url = health_server(web_code.clone()).await;
        let checks = format!(
            r#"{PAGE}
health_checks:
  - name: api-check
    type: http
    url: {api_url}
    interval: 1h
    timeout: 2s
    retries: 1
    failure_threshold: 3
    success_threshold: 2
    component: acme/API
    incident: true
    alert: false
  - name: web-check
    type: http
    url: {web_url}
    interval: 1h
    timeout: 2s
    retries: 1
    failure_threshold: 2
    success_threshold: 1
    component: acme/Website
    down_status: partial_outage
    alert: false
"#
        );
        // The page, its components and the checks come into being at Jan 1 13:10.
        let app = TestApp::spawn_at(backend, &config(&checks), None, start).await;
        let store = app.app.as_ref().unwrap().state.store.clone();

        // Every hour of test-clock time: set both servers' answers, move the clock to the
        // next run, wait until both checks have run at it.
        let mut t = start;
        while t <= now {
            api_code.store(answer_at(&api_schedule, t), Ordering::SeqCst);
            web_code.store(answer_at(&web_schedule, t), Ordering::SeqCst);
            app.clock.set(t);
            app.eventually("both checks ran", || {
                let store = store.clone();
                async move {
                    for name in ["api-check", "web-check"] {
                        let last = store
                            .health_check_state(name)
                            .await
                            .unwrap()
                            .and_then(|s| s.last_run_at);
                        if last != Some(t) {
                            return false;
                        }
                    }
                    true
                }
            })
            .await;
            t += HOUR;
        }
        app.clock.set(now);

        // 99 hourly runs each (Jan 1 13:10 … Jan 5 15:10), failing as the servers answered.
        let api_runs = store.health_check_results("api-check", 0).await.unwrap();
        let web_runs = store.health_check_results("web-check", 0).await.unwrap();
        assert_eq!((api_runs.len(), web_runs.len()), (99, 99));
        assert_eq!(api_runs.iter().filter(|r| !r.ok).count(), 4 + 2 + 3 + 1 + 6);
        assert_eq!(web_runs.iter().filter(|r| !r.ok).count(), 6 + 1 + 6);
        assert!(api_runs
            .iter()
            .all(|r| r.status_code == Some(answer_at(&api_schedule, r.at).into())));

        let comps = get(&app, "/v1/pages/acme/components").await;
        let api = find(&comps, "API")["id"].as_str().unwrap().to_string();
        let website = find(&comps, "Website")["id"].as_str().unwrap().to_string();
        let html = app.text("/status/acme").await;

        // Each day's bar: its colour class and its title, as worked out from the schedule.
        let days = |block: &str| {
            [
                "2026-01-01",
                "2026-01-02",
                "2026-01-03",
                "2026-01-04",
                "2026-01-05",
            ]
            .map(|d| day_bar(block, d))
            .to_vec()
        };
        let bar = |class: &str, title: &str| (class.to_string(), title.to_string());

        // The API (major outage). Jan 1 has data from 13:10 only: 180 of 650 min down. Jan 2:
        // 110 of 1,440; Jan 3: 130; Jan 4: none; today, Jan 5, up to 15:40: 210 of 940. Each
        // outage shows its incident on the days it spans.
        let block = component_html(&html, &api);
        assert_eq!(
            days(block),
            [
                bar("bar mo", "Jan 1, 2026: 72.31% uptime, major outage 180 min — incidents: API is unavailable"),
                bar("bar mo", "Jan 2, 2026: 92.36% uptime, major outage 110 min — incidents: API is unavailable"),
                bar("bar mo", "Jan 3, 2026: 90.97% uptime, major outage 130 min — incidents: API is unavailable"),
                bar("bar ok", "Jan 4, 2026: 100.00% uptime — no incidents"),
                bar("bar mo", "Jan 5, 2026: 77.66% uptime, major outage 210 min — incidents: API is unavailable"),
            ]
        );
        // Over the 90 days: 630 of the 5,910 min with data down = 89.34 % (the days without
        // data do not count; counting them as up would give 99.51 %).
        assert_eq!(uptime_figure(block), "89.34 % uptime");

        // The website (partial outage, counted at 30 %). Jan 2: 300 min = 90 down; Jan 3:
        // 50 min = 15 down; Jan 4: 250 min = 75 down. Over the 90 days: 180 of 5,910 min.
        let block = component_html(&html, &website);
        assert_eq!(
            days(block),
            [
                bar("bar ok", "Jan 1, 2026: 100.00% uptime — no incidents"),
                bar(
                    "bar po",
                    "Jan 2, 2026: 93.75% uptime, partial outage 300 min — no incidents"
                ),
                bar(
                    "bar po",
                    "Jan 3, 2026: 98.96% uptime, partial outage 50 min — no incidents"
                ),
                bar(
                    "bar po",
                    "Jan 4, 2026: 94.79% uptime, partial outage 250 min — no incidents"
                ),
                bar("bar ok", "Jan 5, 2026: 100.00% uptime — no incidents"),
            ]
        );
        assert_eq!(uptime_figure(block), "96.95 % uptime");

        // Before the checks existed there is no data: 85 of the 90 bars, Oct 8 to Dec 31.
        for id in [&api, &website] {
            let block = component_html(&html, id);
            assert_eq!(block.matches("data-day=").count(), 90);
            assert_eq!(block.matches("class=\"bar nd\"").count(), 85);
            assert_eq!(
                day_bar(block, "2025-10-08"),
                bar("bar nd", "Oct 8, 2025: no data")
            );
            assert_eq!(
                day_bar(block, "2025-12-31"),
                bar("bar nd", "Dec 31, 2025: no data")
            );
        }

        // The public JSON agrees: the API is down with one open incident (the two earlier
        // ones resolved), the website is up.
        let summary = get(&app, "/status/acme/api/v2/summary.json").await;
        assert_eq!(
            find(&summary["components"], "API")["status"],
            "major_outage"
        );
        assert_eq!(
            find(&summary["components"], "Website")["status"],
            "operational"
        );
        let open = summary["incidents"].as_array().unwrap();
        assert_eq!(open.len(), 1, "{summary}");
        assert_eq!(open[0]["name"], "API is unavailable");
        let all = get(&app, "/v1/pages/acme/incidents").await;
        let resolved: Vec<&Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "resolved")
            .collect();
        assert_eq!((all.as_array().unwrap().len(), resolved.len()), (3, 2));
        app.stop().await;
    }
}

/// Runs the openssl CLI (Debian package openssl) in `dir`; its stdout.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI (Debian package openssl) runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A test CA (`ca.pem`, `ca.key`) in `dir`, as an internal CA would be.
fn test_ca(dir: &std::path::Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "800",
            "-subj",
            "/CN=Klaxon test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
}

/// A real TLS server: `openssl s_server -www` (it answers `GET /` with 200) on 127.0.0.1 with
/// a server certificate for localhost and 127.0.0.1 from the test CA, valid `days` days.
/// Returns the server and the certificate's notAfter.
fn tls_server(dir: &std::path::Path, port: u16, days: u32) -> (KillOnDrop, i64) {
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            &days.to_string(),
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ],
    );
    let der = openssl(dir, &["x509", "-in", "cert.pem", "-outform", "der"]);
    let not_after = klaxon_core::status::tls::not_after(&der).unwrap();
    let child = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "cert.pem",
        ])
        .args(["-key", "key.pem", "-www", "-quiet"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "openssl s_server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (KillOnDrop(child), not_after)
}

struct KillOnDrop(std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn https_checks_verify_certificates_and_warn_before_they_expire() {
    for backend in backends() {
        let dir = std::env::temp_dir().join(format!("klaxon-tls-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        test_ca(&dir);
        let (server, not_after) = tls_server(&dir, port, 20);
        let ca = dir.join("ca.pem");
        let checks = format!(
            r#"{PAGE}
health_checks:
  - name: site
    type: http
    url: https://localhost:{port}/
    tls_ca_file: {ca}
    tls_expiry_warning: 14d
    interval: 10s
    retries: 1
    failure_threshold: 1
    component: acme/Website
  - name: untrusted
    type: http
    url: https://127.0.0.1:{port}/
    interval: 10s
    retries: 1
    failure_threshold: 1
  - name: skip
    type: http
    url: https://127.0.0.1:{port}/
    tls_skip_verify: true
    tls_expiry_warning: 1d
    interval: 10s
    retries: 1
    failure_threshold: 1
"#,
            ca = ca.display()
        );
        let app = TestApp::spawn_with(backend, &config(&checks), None).await;
        let store = app.app.as_ref().unwrap().state.store.clone();
        // Runs every check at `at` (test clock) and returns each one's last result.
        let run_at = |at: i64| {
            let (app, store) = (&app, store.clone());
            async move {
                app.clock.set(at);
                let mut out = std::collections::HashMap::new();
                for name in ["site", "untrusted", "skip"] {
                    app.eventually(&format!("{name} ran at {at}"), || {
                        let store = store.clone();
                        async move {
                            store
                                .health_check_state(name)
                                .await
                                .unwrap()
                                .and_then(|s| s.last_run_at)
                                == Some(at)
                        }
                    })
                    .await;
                    let r = store.health_check_results(name, at).await.unwrap();
                    out.insert(name, r.last().cloned().unwrap());
                }
                out
            }
        };
        let alert = |alias: String| {
            let app = &app;
            async move {
                let (s, v) = app
                    .get(&format!("/v2/alerts/{alias}?identifierType=alias"))
                    .await;
                (s == 200).then(|| v["data"].clone())
            }
        };
        let tls_alias = klaxon_server::status::health::tls_alert_alias;

        // Months before expiry: the trusted check passes, no warning; the one without the CA
        // fails on the certificate; tls_skip_verify passes.
        let r = run_at(T0 + 10_000).await;
        assert!(r["site"].ok, "{:?}", r["site"]);
        assert_eq!(r["site"].status_code, Some(200));
        assert!(!r["untrusted"].ok);
        let why = r["untrusted"].error.clone().unwrap();
        assert!(why.contains("certificate"), "{why}");
        assert!(r["skip"].ok, "{:?}", r["skip"]);
        assert_eq!(alert(tls_alias("site")).await, None);
        let (_, comps) = sp(
            &app,
            "GET",
            "/v1/pages/acme/components",
            Some(ADMIN_KEY),
            None,
        )
        .await;
        assert_eq!(find(&comps, "Website")["status"], "operational");
        let down = alert("health-check-untrusted".into()).await.unwrap();
        assert_eq!(down["status"], "open");

        // Five days before expiry (test clock): a P3 warning, once, and the check still passes.
        let at = not_after - 5 * 86_400_000 - 60_000;
        let r = run_at(at).await;
        assert!(r["site"].ok);
        let a = alert(tls_alias("site")).await.expect("a warning alert");
        assert_eq!(a["status"], "open");
        assert_eq!(a["priority"], "P3");
        let msg = a["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!(
                "TLS certificate of https://localhost:{port}/ expires in 5 days"
            )),
            "{msg}"
        );
        assert_eq!(
            a["details"]["certificate_expires_at"],
            klaxon_core::time::format_iso(not_after)
        );
        // The skip-verify check warns only a day ahead.
        assert_eq!(alert(tls_alias("skip")).await, None);
        run_at(at + 10_000).await;
        let a = alert(tls_alias("site")).await.unwrap();
        assert_eq!(a["count"], 1, "{a}");

        // The certificate is renewed (a year): the warning closes by itself.
        drop(server);
        let (_server, renewed) = tls_server(&dir, port, 365);
        assert!(renewed > not_after);
        let r = run_at(at + 20_000).await;
        assert!(r["site"].ok, "{:?}", r["site"]);
        assert_eq!(alert(tls_alias("site")).await.unwrap()["status"], "closed");
        app.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The public page is rendered once for a few seconds (test clock), and any status-page write
/// shows at once. Each day's bar is one element with a colour class and the day's title.
#[tokio::test]
async fn the_public_page_is_cached_for_seconds_and_writes_show_at_once() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &config(PAGE), None).await;
        let comps = get(&app, "/v1/pages/acme/components").await;
        let id = |name: &str| find(&comps, name)["id"].as_str().unwrap().to_string();
        let (api, website) = (id("API"), id("Website"));
        let patch = |id: String, status: &'static str| {
            let app = &app;
            async move {
                let (s, v) = sp(
                    app,
                    "PATCH",
                    &format!("/v1/pages/acme/components/{id}"),
                    Some(ADMIN_KEY),
                    Some(json!({"component": {"status": status}})),
                )
                .await;
                assert_eq!(s, 200, "{v}");
            }
        };
        let page = || async {
            let r = app
                .http
                .get(format!("{}/status/acme", app.root()))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        };
        // Today's bar of a component: (class, title).
        let today = |html: &str, component: &str| {
            let block = &html[html
                .find(&format!("data-component=\"{component}\""))
                .unwrap()..];
            let block = &block[..block.find("class=\"legend\"").unwrap()];
            let bar = &block[block.rfind("<i class=\"").unwrap()..];
            let attr = |name: &str| {
                let at = bar.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                bar[at..at + bar[at..].find('"').unwrap()].to_string()
            };
            assert!(!bar[..bar.find('>').unwrap()].contains("style="), "{bar}");
            (attr("class"), attr("title"))
        };
        app.clock.advance(Duration::from_secs(6 * 3_600));
        patch(api.clone(), "major_outage").await;
        app.clock.advance(Duration::from_secs(58));
        let first = page().await;
        let (class, title) = today(&first, &api);
        assert_eq!(class, "bar mo");
        assert!(title.contains("major outage 0 min"), "{title}");
        assert_eq!(
            first.matches("<i class=\"bar ").count(),
            2 * 90,
            "90 bars per component"
        );
        // 4 s later (62 s into the outage): the same rendering.
        app.clock.advance(Duration::from_secs(4));
        assert_eq!(page().await, first);
        // 6 s after the rendering: computed again.
        app.clock.advance(Duration::from_secs(2));
        let (_, title) = today(&page().await, &api);
        assert!(title.contains("major outage 1 min"), "{title}");
        // A write shows at once (1 s later, well inside the 5 s a rendering serves).
        patch(website.clone(), "partial_outage").await;
        app.clock.advance(Duration::from_secs(1));
        let after = page().await;
        assert!(
            after.contains(&format!(
                "data-component=\"{website}\" data-status=\"partial_outage\""
            )),
            "the component's new status"
        );
        assert_eq!(today(&after, &website).0, "bar po");
        // Another host gets its own rendering (the links carry the host).
        let other = app
            .http
            .get(format!("{}/status/acme", app.root()))
            .header("Host", "status.example.test")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(other.contains("http://status.example.test/status/acme/feed.atom"));
        assert!(!after.contains("status.example.test"));
        app.stop().await;
    }
}

/// A check removed from the config (reload) while it is down leaves nothing behind: its alert
/// closes and its component is operational again. Before, both stayed as they were for ever.
#[tokio::test]
async fn a_health_check_removed_while_down_closes_its_alert_and_its_component_recovers() {
    for backend in backends() {
        let code = Arc::new(AtomicU16::new(500));
        let url = health_server(code.clone()).await;
        let with_check = format!(
            r#"{PAGE}
health_checks:
  - name: api-health
    type: http
    url: {url}
    interval: 10s
    timeout: 2s
    retries: 1
    failure_threshold: 1
    component: acme/API
    down_status: major_outage
    alert: true
"#
        );
        let app = TestApp::spawn_with(backend, &config(&with_check), None).await;
        let status = || async {
            let comps = get(&app, "/v1/pages/acme/components").await;
            find(&comps, "API")["status"].as_str().unwrap().to_string()
        };
        app.eventually("the check failed", || async {
            status().await == "major_outage" && check_alert(&app).await.as_deref() == Some("open")
        })
        .await;

        std::fs::write(&app.config_path, config(PAGE)).unwrap();
        let resp = app
            .http
            .post(format!("{}/-/reload", app.root()))
            .header("Authorization", format!("Bearer {ADMIN_KEY}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{backend:?}");
        app.eventually("the alert closed", || async {
            check_alert(&app).await.as_deref() == Some("closed")
        })
        .await;
        assert_eq!(status().await, "operational", "{backend:?}");
        let (_, notes) = app
            .get("/v2/alerts/health-check-api-health/notes?identifierType=alias")
            .await;
        assert!(
            notes.to_string().contains("was removed from the config"),
            "{backend:?}: {notes}"
        );
        app.stop().await;
    }
}
