//! The PagerDuty Events API v2: PagerDuty's exact answers, and the Klaxon alerts events make.

use crate::helpers::*;
use serde_json::{json, Value};

const PD_KEY: &str = "pd-key-000001";
const PD_SRE_KEY: &str = "pd-key-sre0001";

async fn spawn(backend: klaxon_store::Dialect) -> TestApp {
    let extra = format!(
        "  - {{name: pd, type: pagerduty, api_key: {PD_KEY}, tags: [pd]}}\n  \
         - {{name: pd-sre, type: pagerduty, api_key: {PD_SRE_KEY}, team: sre, priority_map: {{info: P4}}}}\n"
    );
    TestApp::spawn_with(backend, &config(&extra), None).await
}

/// Posts raw bytes to `path`; returns status, JSON body and `X-Request-Id`.
async fn send(app: &TestApp, path: &str, body: &str) -> (u16, Value, String) {
    let resp = app
        .http
        .post(format!("{}{path}", app.root()))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let rid = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, v, rid)
}

async fn enqueue(app: &TestApp, event: Value) -> (u16, Value) {
    let (s, v, _) = send(app, "/v2/enqueue", &event.to_string()).await;
    (s, v)
}

async fn by_alias(app: &TestApp, alias: &str) -> Value {
    let q: String = form_urlencoded::byte_serialize(alias.as_bytes()).collect();
    let (s, v) = app
        .get(&format!("/v2/alerts/{q}?identifierType=alias"))
        .await;
    assert_eq!(s, 200, "{alias}: {v}");
    v["data"].clone()
}

fn accepted(key: &str) -> Value {
    json!({"status": "success", "message": "Event processed", "dedup_key": key})
}

fn invalid(errors: &[&str]) -> Value {
    json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors})
}

#[tokio::test]
async fn a_trigger_opens_an_alert_with_the_event_mapped_onto_it() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let summary = format!("Disk full on db1: {}", "x".repeat(150));
        let (s, v) = enqueue(
            &app,
            json!({
                "routing_key": PD_KEY, "event_action": "trigger", "dedup_key": "disk/db1",
                "payload": {
                    "summary": summary, "source": "db1.example.com", "severity": "critical",
                    "timestamp": "2026-01-01T00:00:00.000+00:00", "component": "postgres",
                    "group": "prod-db", "class": "disk",
                    "custom_details": {"free": "2%", "inodes": 1200, "mounts": ["/", "/var"]}
                },
                "links": [{"href": "https://runbooks/disk", "text": "Runbook"}],
                "images": [{"src": "https://graphs/disk.png"}],
                "client": "Monitoring", "client_url": "https://monitoring"
            }),
        )
        .await;
        assert_eq!((s, v), (202, accepted("disk/db1")));

        let a = by_alias(&app, "disk/db1").await;
        assert_eq!(a["message"], summary.chars().take(130).collect::<String>());
        assert_eq!(a["description"], summary);
        assert_eq!(a["priority"], "P1");
        assert_eq!(a["status"], "open");
        assert_eq!(a["source"], "db1.example.com");
        assert_eq!(a["entity"], "postgres");
        assert_eq!(a["tags"], json!(["postgres", "prod-db", "disk", "pd"]));
        assert_eq!(
            a["details"],
            json!({
                "severity": "critical", "component": "postgres", "group": "prod-db",
                "class": "disk", "free": "2%", "inodes": "1200", "mounts": "[\"/\",\"/var\"]",
                "timestamp": "2026-01-01T00:00:00.000+00:00", "client": "Monitoring",
                "client_url": "https://monitoring", "Runbook": "https://runbooks/disk",
                "image 1": "https://graphs/disk.png"
            })
        );
        assert_eq!(
            a["integration"],
            json!({"id": a["integration"]["id"], "name": "pd", "type": "PagerDuty"})
        );
        assert_eq!(a["count"], 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn severities_map_to_priorities_and_the_integration_can_change_the_map() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        for (key, severity, want) in [
            (PD_KEY, "critical", "P1"),
            (PD_KEY, "error", "P2"),
            (PD_KEY, "warning", "P3"),
            (PD_KEY, "info", "P5"),
            (PD_SRE_KEY, "info", "P4"),
            (PD_SRE_KEY, "critical", "P1"),
        ] {
            let dedup = format!("{key}-{severity}");
            let (s, v) = enqueue(
                &app,
                json!({"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
                       "payload": {"summary": "s", "source": "h", "severity": severity}}),
            )
            .await;
            assert_eq!((s, v), (202, accepted(&dedup)));
            let a = by_alias(&app, &dedup).await;
            assert_eq!(a["priority"], want, "{key} {severity}");
            // A short summary needs no description.
            assert_eq!(a["description"], "");
        }
        // The team-scoped key's alerts belong to its team.
        let a = by_alias(&app, &format!("{PD_SRE_KEY}-info")).await;
        let teams: Vec<&Value> = a["responders"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "team")
            .collect();
        assert_eq!(teams.len(), 1, "{a}");
        app.stop().await;
    }
}

#[tokio::test]
async fn dedup_keys_de_duplicate_and_a_trigger_without_one_gets_a_new_key() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let event = |summary: &str| {
            json!({"routing_key": PD_KEY, "event_action": "trigger", "dedup_key": "cpu",
                   "payload": {"summary": summary, "source": "h", "severity": "warning"}})
        };
        assert_eq!(
            enqueue(&app, event("CPU hot")).await,
            (202, accepted("cpu"))
        );
        assert_eq!(
            enqueue(&app, event("CPU hotter")).await,
            (202, accepted("cpu"))
        );
        let a = by_alias(&app, "cpu").await;
        assert_eq!(a["count"], 2);
        assert_eq!(a["message"], "CPU hot", "a repeat keeps the message");

        let (s, v) = enqueue(
            &app,
            json!({"routing_key": PD_KEY, "event_action": "trigger",
                   "payload": {"summary": "no key", "source": "h", "severity": "info"}}),
        )
        .await;
        assert_eq!(s, 202);
        let key = v["dedup_key"].as_str().unwrap().to_string();
        assert_eq!(key.len(), 32);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
        assert_eq!(v, accepted(&key));
        assert_eq!(by_alias(&app, &key).await["message"], "no key");
        app.stop().await;
    }
}

#[tokio::test]
async fn acknowledge_and_resolve_act_on_the_alert_and_unknown_keys_still_succeed() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let act = |action: &str, key: &str| json!({"routing_key": PD_KEY, "event_action": action, "dedup_key": key});
        enqueue(
            &app,
            json!({"routing_key": PD_KEY, "event_action": "trigger", "dedup_key": "db",
                   "payload": {"summary": "db down", "source": "h", "severity": "error"}}),
        )
        .await;

        assert_eq!(
            enqueue(&app, act("acknowledge", "db")).await,
            (202, accepted("db"))
        );
        let a = by_alias(&app, "db").await;
        assert_eq!(
            (a["acknowledged"].clone(), a["status"].clone()),
            (json!(true), json!("open"))
        );
        assert_eq!(a["report"]["acknowledgedBy"], "pd");

        // Resolve may carry a payload (Alertmanager sends one); it is not needed.
        let (s, v) = enqueue(
            &app,
            json!({"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "db",
                   "payload": {"summary": "[RESOLVED] db down", "source": "h", "severity": "error"}}),
        )
        .await;
        assert_eq!((s, v), (202, accepted("db")));
        assert_eq!(by_alias(&app, "db").await["status"], "closed");

        // Unknown keys and repeats answer as PagerDuty does; the outcome is recorded.
        for (action, key, status) in [
            ("resolve", "db", "Alert is already closed"),
            ("acknowledge", "nothing-here", "Alert does not exist"),
            ("resolve", "nothing-here", "Alert does not exist"),
        ] {
            let (s, v, rid) = send(&app, "/v2/enqueue/", &act(action, key).to_string()).await;
            assert_eq!((s, v), (202, accepted(key)));
            let (_, r) = app.get(&format!("/v2/alerts/requests/{rid}")).await;
            assert_eq!(r["data"]["isSuccess"], false, "{r}");
            assert_eq!(r["data"]["status"], status, "{r}");
        }

        // After a resolve the same key opens a new alert.
        enqueue(
            &app,
            json!({"routing_key": PD_KEY, "event_action": "trigger", "dedup_key": "db",
                   "payload": {"summary": "db down again", "source": "h", "severity": "error"}}),
        )
        .await;
        let b = by_alias(&app, "db").await;
        assert_eq!(
            (b["status"].clone(), b["message"].clone()),
            (json!("open"), json!("db down again"))
        );
        assert_ne!(b["id"], a["id"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn invalid_events_get_pagerdutys_400_and_change_nothing() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let cases: Vec<(String, Value)> = vec![
            (
                json!({"routing_key": PD_KEY, "event_action": "trigger",
                       "payload": {"summary": " ", "severity": "fatal"}})
                .to_string(),
                invalid(&[
                    "'payload.summary' is missing or blank",
                    "'payload.source' is missing or blank",
                    "'payload.severity' is invalid (must be one of: 'critical', 'error', 'warning', 'info')",
                ]),
            ),
            (
                json!({"routing_key": PD_KEY, "event_action": "snooze", "dedup_key": "x"})
                    .to_string(),
                invalid(&[
                    "'event_action' is invalid (must be one of: 'trigger', 'acknowledge', 'resolve')",
                ]),
            ),
            (
                json!({"event_action": "resolve"}).to_string(),
                invalid(&[
                    "'routing_key' is missing or blank",
                    "'dedup_key' is missing or blank (it is required to acknowledge or resolve)",
                ]),
            ),
            (
                json!({"routing_key": PD_KEY, "event_action": "trigger"}).to_string(),
                invalid(&["'payload' is missing (it is required to trigger)"]),
            ),
            (
                json!({"routing_key": "not-a-klaxon-key", "event_action": "trigger",
                       "payload": {"summary": "s", "source": "h", "severity": "info"}})
                .to_string(),
                invalid(&["Invalid routing key"]),
            ),
            (
                "{\"routing_key\": ".to_string(),
                invalid(&[
                    "Request body is not valid JSON: EOF while parsing a value at line 1 column 16",
                ]),
            ),
            (
                "[]".to_string(),
                invalid(&["Event must be a JSON object"]),
            ),
        ];
        for (body, want) in cases {
            let (s, v, _) = send(&app, "/v2/enqueue", &body).await;
            assert_eq!((s, &v), (400, &want), "{body}");
        }
        let (_, count) = app.get("/v2/alerts/count").await;
        assert_eq!(count["data"]["count"], 0);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_routing_key_may_come_in_a_header() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let event = json!({"event_action": "trigger", "dedup_key": "hdr",
                           "payload": {"summary": "s", "source": "h", "severity": "info"}});
        for (name, value) in [
            ("X-Routing-Key", PD_KEY.to_string()),
            ("Authorization", format!("Bearer {PD_KEY}")),
        ] {
            let resp = app
                .http
                .post(format!("{}/v2/enqueue", app.root()))
                .header(name, value)
                .json(&event)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 202, "{name}");
        }
        assert_eq!(by_alias(&app, "hdr").await["count"], 2);
        app.stop().await;
    }
}
