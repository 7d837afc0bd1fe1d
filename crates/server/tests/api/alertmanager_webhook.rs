//! The Alertmanager webhook receiver: one Klaxon alert per group, kept up to date while the group
//! fires, closed when it resolves; keys in every form Alertmanager's `http_config` sends.

use crate::helpers::*;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const AM_KEY: &str = "am-key-000001";
const AM_LEVEL_KEY: &str = "am-key-level01";
const PATH: &str = "/api/integrations/alertmanager";

async fn spawn(backend: klaxon_store::Dialect) -> TestApp {
    let extra = format!(
        "  - {{name: am, type: alertmanager, api_key: {AM_KEY}}}\n  \
         - {{name: am-level, type: alertmanager, api_key: {AM_LEVEL_KEY}, team: sre, priority: P2, tags: [k8s],\n     \
            priority_label: level, priority_map: {{page: P1, ticket: P4}}, tag_labels: [team]}}\n"
    );
    TestApp::spawn_with(backend, &config(&extra), None).await
}

async fn post(app: &TestApp, auth: Option<String>, query: &str, body: &str) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}{PATH}{query}", app.root()))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, v)
}

async fn notify(app: &TestApp, key: &str, n: &Value) -> (u16, Value) {
    post(app, Some(format!("Bearer {key}")), "", &n.to_string()).await
}

fn alias(group_key: &str) -> String {
    hex::encode(Sha256::digest(group_key.as_bytes()))
}

const GROUP: &str = "{}:{alertname=\"DiskFull\"}";

fn member(instance: &str, status: &str, severity: &str, description: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": "DiskFull", "severity": severity, "instance": instance, "job": "node"},
        "annotations": {"summary": "Disk almost full", "description": description,
                        "runbook_url": "https://runbooks/disk"},
        "startsAt": "2026-01-01T00:00:00Z",
        "endsAt": if status == "firing" { "0001-01-01T00:00:00Z" } else { "2026-01-01T00:10:00Z" },
        "generatorURL": "http://prometheus/graph", "fingerprint": format!("fp-{instance}")
    })
}

/// A version-4 payload as Alertmanager 0.25 builds it from `members`.
fn notification(status: &str, members: Vec<Value>) -> Value {
    let common = |field: &str| -> Value {
        let maps: Vec<&serde_json::Map<String, Value>> = members
            .iter()
            .map(|m| m[field].as_object().unwrap())
            .collect();
        let mut out = maps[0].clone();
        out.retain(|k, v| maps.iter().all(|m| m.get(k) == Some(v)));
        Value::Object(out)
    };
    json!({
        "version": "4", "groupKey": GROUP, "truncatedAlerts": 0, "status": status,
        "receiver": "team\\.klaxon", "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": common("labels"), "commonAnnotations": common("annotations"),
        "externalURL": "http://alertmanager:9093", "alerts": members
    })
}

async fn by_alias(app: &TestApp, alias: &str) -> Value {
    let (s, v) = app
        .get(&format!("/v2/alerts/{alias}?identifierType=alias"))
        .await;
    assert_eq!(s, 200, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn a_group_opens_one_alert_updates_it_and_closes_it_when_resolved() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let alias = alias(GROUP);

        // Act: the first notification.
        let (s, v) = notify(
            &app,
            AM_KEY,
            &notification(
                "firing",
                vec![member("db1", "firing", "warning", "db1 at 91%")],
            ),
        )
        .await;

        // Assert: one alert with the group mapped onto it.
        assert_eq!(s, 200, "{v}");
        let id = v["alertId"].as_str().unwrap().to_string();
        assert_eq!(
            v,
            json!({"status": "success", "action": "create", "alias": alias, "alertId": id,
                   "result": "Created alert"})
        );
        let a = by_alias(&app, &alias).await;
        assert_eq!(a["id"], id.as_str());
        assert_eq!(a["message"], "Disk almost full");
        assert_eq!(
            a["description"],
            "db1 at 91%\n\nFiring (1):\n- alertname=DiskFull, instance=db1, job=node, severity=warning"
        );
        assert_eq!(a["priority"], "P3");
        assert_eq!(a["tags"], json!(["DiskFull", "warning"]));
        assert_eq!(
            a["details"],
            json!({"alertname": "DiskFull", "severity": "warning", "instance": "db1", "job": "node",
                   "runbook_url": "https://runbooks/disk"})
        );
        assert_eq!(a["source"], "http://alertmanager:9093");
        assert_eq!(a["integration"]["name"], "am");
        assert_eq!(a["integration"]["type"], "Prometheus");

        // A second member, critical: the same alert, counted up and brought up to date.
        let (s, v) = notify(
            &app,
            AM_KEY,
            &notification(
                "firing",
                vec![
                    member("db1", "firing", "warning", "db1 at 91%"),
                    member("db2", "firing", "critical", "db2 at 99%"),
                ],
            ),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (
                v["action"].clone(),
                v["alertId"].clone(),
                v["result"].clone()
            ),
            (json!("update"), json!(id), json!("Alert is de-duplicated"))
        );
        let b = by_alias(&app, &alias).await;
        assert_eq!(b["count"], 2);
        assert_eq!(b["message"], "Disk almost full (2 firing)");
        assert_eq!(b["priority"], "P1", "the most urgent member decides");
        assert_eq!(
            b["description"],
            "Firing (2):\n- instance=db1, severity=warning: db1 at 91%\n- instance=db2, severity=critical: db2 at 99%"
        );
        assert_eq!(
            b["details"],
            json!({"alertname": "DiskFull", "job": "node", "runbook_url": "https://runbooks/disk"}),
            "labels no longer common are no longer details"
        );
        let (_, count) = app.get("/v2/alerts/count").await;
        assert_eq!(count["data"]["count"], 1);

        // The group resolves: the alert closes; a repeat still answers 200.
        let resolved = notification(
            "resolved",
            vec![
                member("db1", "resolved", "warning", "db1 at 91%"),
                member("db2", "resolved", "critical", "db2 at 99%"),
            ],
        );
        let (s, v) = notify(&app, AM_KEY, &resolved).await;
        assert_eq!(
            (s, v),
            (
                200,
                json!({"status": "success", "action": "close", "alias": alias, "alertId": id,
                       "result": "Close succeeded"})
            )
        );
        let c = by_alias(&app, &alias).await;
        assert_eq!(c["status"], "closed");
        assert_eq!(c["report"]["closedBy"], "am");
        let (s, v) = notify(&app, AM_KEY, &resolved).await;
        assert_eq!((s, &v["result"]), (200, &json!("Alert is already closed")));

        // Firing again after the close opens a new alert.
        let (_, v) = notify(
            &app,
            AM_KEY,
            &notification("firing", vec![member("db1", "firing", "warning", "again")]),
        )
        .await;
        assert_eq!(v["action"], "create");
        assert_ne!(v["alertId"], json!(id));
        app.stop().await;
    }
}

#[tokio::test]
async fn the_integration_chooses_the_priority_label_map_and_tag_labels() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let n = |level: &str| {
            let mut m = member("web1", "firing", "critical", "");
            m["labels"]["level"] = json!(level);
            m["labels"]["team"] = json!("payments");
            let mut n = notification("firing", vec![m]);
            n["groupKey"] = json!(format!("{{}}:{{level=\"{level}\"}}"));
            n["commonAnnotations"] = json!({});
            n
        };
        for (level, want) in [("page", "P1"), ("ticket", "P4"), ("unknown", "P2")] {
            let (s, v) = notify(&app, AM_LEVEL_KEY, &n(level)).await;
            assert_eq!(s, 200, "{v}");
            let a = by_alias(&app, v["alias"].as_str().unwrap()).await;
            assert_eq!(a["priority"], want, "level={level}");
            assert_eq!(a["message"], "DiskFull", "alertname without a summary");
            assert_eq!(a["tags"], json!(["payments", "k8s"]));
            let teams = a["responders"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["type"] == "team")
                .count();
            assert_eq!(teams, 1, "the key's team responds: {a}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn keys_come_the_ways_alertmanager_sends_them() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let body = notification("firing", vec![member("db1", "firing", "info", "d")]).to_string();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for (auth, query) in [
            (Some(format!("Bearer {AM_KEY}")), ""),
            (Some(format!("GenieKey {AM_KEY}")), ""),
            (
                Some(format!("Basic {}", b64(&format!("alertmanager:{AM_KEY}")))),
                "",
            ),
            (None, "?apiKey=am-key-000001"),
        ] {
            let (s, v) = post(&app, auth.clone(), query, &body).await;
            assert_eq!(s, 200, "{auth:?} {query}: {v}");
        }
        assert_eq!(by_alias(&app, &alias(GROUP)).await["count"], 4);

        let unauthorized = json!({"status": "error", "message":
            "Could not authenticate: give a Klaxon integration key as 'Authorization: Bearer <key>' (Alertmanager: http_config.authorization.credentials), 'Authorization: GenieKey <key>', Basic auth with the key as password, or ?apiKey=<key>"});
        for auth in [None, Some("Bearer wrong-key-123".to_string())] {
            assert_eq!(
                post(&app, auth, "", &body).await,
                (401, unauthorized.clone())
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn malformed_notifications_get_a_400_that_says_why() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let auth = || Some(format!("Bearer {AM_KEY}"));
        for (body, want) in [
            ("{", "Request body is not an Alertmanager webhook payload: EOF while parsing an object at line 1 column 1"),
            (r#"{"status": "firing", "alerts": []}"#, "Request body is not an Alertmanager webhook payload: missing field `groupKey` at line 1 column 34"),
            (r#"{"groupKey": "g", "status": "burning"}"#, "Request body is not an Alertmanager webhook payload: unknown variant `burning`, expected `firing` or `resolved` at line 1 column 37"),
            (r#"{"groupKey": "", "status": "firing"}"#, "groupKey is empty: it identifies the alert group"),
        ] {
            let (s, v) = post(&app, auth(), "", body).await;
            assert_eq!((s, v), (400, json!({"status": "error", "message": want})), "{body}");
        }
        let (_, count) = app.get("/v2/alerts/count").await;
        assert_eq!(count["data"]["count"], 0);

        // Unknown fields are ignored; a resolved group Klaxon never saw is fine.
        let (s, v) = post(
            &app,
            auth(),
            "",
            r#"{"groupKey": "g", "status": "resolved", "alerts": [], "newField": {"x": 1}}"#,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"], "Alert does not exist");
        app.stop().await;
    }
}
