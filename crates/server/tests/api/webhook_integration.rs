//! The generic webhook integration (`POST /api/integrations/webhook`): a Grafana-shaped body
//! through a pointer mapping, a cron job's body with the default mapping, every key form, and
//! 400s that write nothing.

use crate::helpers::*;
use serde_json::{json, Value};

const GRAFANA_KEY: &str = "grafana-key-0001";
const CRON_KEY: &str = "cron-key-000001";

fn extra() -> String {
    format!(
        r#"
  - name: grafana
    type: webhook
    api_key: {GRAFANA_KEY}
    team: sre
    priority_map: {{alerting: P2}}
    tags: [grafana]
    mapping:
      message: /title
      alias: /groupKey
      priority: /commonLabels/severity
      description: /message
      details: /commonLabels
      tags: /tags
      source: /externalURL
      entity: /receiver
      status: /status
      close_values: [resolved]
      acknowledge_values: [acked]
  - name: cron
    type: webhook
    api_key: {CRON_KEY}
    mapping:
      message: /job
      alias: /job
      priority: /level
      details: {{exit_code: /result/code, host: /host}}
"#
    )
}

async fn spawn(backend: klaxon_store::Dialect) -> TestApp {
    // The extra integrations go under the helper's `integrations:` list.
    let text = config("").replace(
        &format!("  - {{name: webhooks, type: api, api_key: {WEB_KEY}, team: web}}\n"),
        &format!(
            "  - {{name: webhooks, type: api, api_key: {WEB_KEY}, team: web}}\n{}",
            extra().trim_start_matches('\n')
        ),
    );
    assert!(text.contains("grafana"), "{text}");
    TestApp::spawn_with(backend, &text, None).await
}

async fn hook(
    app: &TestApp,
    auth: Option<(&str, String)>,
    query: &str,
    body: &str,
) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/api/integrations/webhook{query}", app.root()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some((h, v)) = auth {
        req = req.header(h, v);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn bearer(k: &str) -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {k}")))
}

async fn by_alias(app: &TestApp, alias: &str) -> Option<Value> {
    let (s, v) = app
        .get(&format!(
            "/v2/alerts/{}?identifierType=alias",
            urlencode(alias)
        ))
        .await;
    (s == 200).then(|| v["data"].clone())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn alert_count(app: &TestApp) -> usize {
    let (s, v) = app.get("/v2/alerts?limit=100").await;
    assert_eq!(s, 200, "{v}");
    v["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_grafana_body_opens_acknowledges_and_closes_an_alert() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let firing = json!({
            "receiver": "klaxon", "status": "firing", "groupKey": "{}:{alertname=\"HighCPU\"}",
            "title": "[FIRING:1] HighCPU", "message": "CPU above 90% on db1",
            "externalURL": "http://grafana.example.com/",
            "commonLabels": {"alertname": "HighCPU", "severity": "alerting", "host": "db1"},
            "tags": ["cpu"]
        });
        let (s, v) = hook(&app, bearer(GRAFANA_KEY), "", &firing.to_string()).await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(v["alias"], "{}:{alertname=\"HighCPU\"}");
        let a = by_alias(&app, "{}:{alertname=\"HighCPU\"}")
            .await
            .expect("created");
        assert_eq!(a["message"], "[FIRING:1] HighCPU");
        assert_eq!(a["description"], "CPU above 90% on db1");
        assert_eq!(a["priority"], "P2", "priority_map alerting → P2");
        assert_eq!(a["source"], "http://grafana.example.com/");
        assert_eq!(a["entity"], "klaxon");
        assert_eq!(a["tags"], json!(["cpu", "grafana"]));
        assert_eq!(a["details"]["host"], "db1");
        assert_eq!(a["details"]["severity"], "alerting");
        assert_eq!(a["integration"]["name"], "grafana");
        assert_eq!(a["integration"]["type"], "Webhook");
        assert!(
            a["responders"].to_string().contains("\"team\""),
            "the integration's team routes it: {a}"
        );

        // Again: counted up, not a second alert (same write path as an OpsGenie create).
        let (s, _) = hook(
            &app,
            Some(("authorization", format!("GenieKey {GRAFANA_KEY}"))),
            "",
            &firing.to_string(),
        )
        .await;
        assert_eq!(s, 202);
        let a = by_alias(&app, "{}:{alertname=\"HighCPU\"}").await.unwrap();
        assert_eq!(a["count"], 2, "{a}");

        // Acknowledge, then close, by the status pointer; the key as ?apiKey=.
        let ack = json!({"status": "acked", "groupKey": "{}:{alertname=\"HighCPU\"}"});
        let (s, v) = hook(
            &app,
            None,
            &format!("?apiKey={GRAFANA_KEY}"),
            &ack.to_string(),
        )
        .await;
        assert_eq!(s, 202, "{v}");
        let a = by_alias(&app, "{}:{alertname=\"HighCPU\"}").await.unwrap();
        assert_eq!(a["acknowledged"], true, "{a}");
        let resolved = json!({"status": "resolved", "groupKey": "{}:{alertname=\"HighCPU\"}", "title": "[RESOLVED] HighCPU"});
        let basic = base64_encode(&format!("grafana:{GRAFANA_KEY}"));
        let (s, v) = hook(
            &app,
            Some(("authorization", format!("Basic {basic}"))),
            "",
            &resolved.to_string(),
        )
        .await;
        assert_eq!(s, 202, "{v}");
        let a = by_alias(&app, "{}:{alertname=\"HighCPU\"}").await.unwrap();
        assert_eq!(a["status"], "closed", "{a}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_cron_body_with_detail_pointers_and_the_refusals() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let body = r#"{"job": "nightly-backup", "level": "P1", "host": "db2", "result": {"code": 3, "log": "disk full"}}"#;
        let (s, v) = hook(&app, bearer(CRON_KEY), "", body).await;
        assert_eq!(s, 202, "{v}");
        let a = by_alias(&app, "nightly-backup").await.expect("created");
        assert_eq!(a["message"], "nightly-backup");
        assert_eq!(a["priority"], "P1");
        assert_eq!(a["details"], json!({"exit_code": "3", "host": "db2"}));
        // No source mapped: the client's address, as an OpsGenie create gets.
        assert_eq!(a["source"], "127.0.0.1");
        let before = alert_count(&app).await;

        // Refused, nothing written.
        let (s, v) = hook(&app, bearer(CRON_KEY), "", "{not json").await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("not valid JSON"),
            "{v}"
        );
        assert_eq!(v["status"], "error");
        let (s, v) = hook(&app, bearer(CRON_KEY), "", r#"{"level": "P1"}"#).await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("no message at /job"),
            "{v}"
        );
        let (s, v) = hook(&app, bearer(GRAFANA_KEY), "", r#"{"status": "resolved"}"#).await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("no alias at /groupKey"),
            "{v}"
        );
        let (s, v) = hook(
            &app,
            bearer(GRAFANA_KEY),
            "",
            r#"{"title": "t", "tags": {"a": 1}}"#,
        )
        .await;
        assert_eq!(s, 400, "{v}");
        let (s, v) = hook(&app, None, "", body).await;
        assert_eq!(s, 401, "{v}");
        let (s, _) = hook(&app, bearer("not-a-key-at-all"), "", body).await;
        assert_eq!(s, 401);
        assert_eq!(
            alert_count(&app).await,
            before,
            "a refused request wrote nothing"
        );
        app.stop().await;
    }
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
