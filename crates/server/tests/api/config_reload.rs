//! Config reload (`POST /-/reload`, as SIGHUP): a good file is applied at once (store objects
//! and the in-memory routing tree, mappings, keys); a bad one is refused with FILE:LINE and the
//! running config stays.

use crate::helpers::*;
use serde_json::{json, Value};

const BEFORE: &str = r#"
route:
  receiver: sre
  group_by: [alertname]
"#;

/// The same organisation a day later: a new user, a new integration, the `webhooks`
/// integration gone, a policy added, and web alerts routed to `web`.
const AFTER: &str = r#"
route:
  receiver: sre
  group_by: [alertname]
  routes:
    - matchers: ['team="web"']
      receiver: web
escalations:
  - name: night
    team: sre
    rules: [{delay: 0s, recipient: {type: user, name: alice@example.com}}]
"#;

fn after_config() -> String {
    config(AFTER)
        .replace(
            "  - {username: bob@example.com, full_name: Bob}\n",
            "  - {username: bob@example.com, full_name: Bob}\n  - {username: carol@example.com, full_name: Carol}\n",
        )
        .replace(
            &format!("  - {{name: webhooks, type: api, api_key: {WEB_KEY}, team: web}}\n"),
            "  - {name: late, type: api, api_key: late-key-000001}\n",
        )
}

async fn reload(app: &TestApp, key: Option<&str>) -> (u16, String) {
    let mut req = app.http.post(format!("{}/-/reload", app.root()));
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The status of an alert create with `key`.
async fn create_with(app: &TestApp, key: &str) -> u16 {
    let body = json!({"message": "m"});
    app.call("POST", "/v2/alerts", Some(key), Some(body))
        .await
        .0
}

async fn metric(app: &TestApp, name: &str) -> String {
    let text = app.text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
        .to_string()
}

async fn receivers_of(app: &TestApp, labels: Value) -> Value {
    let resp = app
        .http
        .post(format!("{}/api/v2/alerts", app.root()))
        .header("Authorization", format!("Bearer {ADMIN_KEY}"))
        .json(&json!([{ "labels": labels }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let name = labels["alertname"].as_str().unwrap();
    let list: Value = app
        .http
        .get(format!(
            "{}/api/v2/alerts?filter=alertname%3D%22{name}%22",
            app.root()
        ))
        .header("Authorization", format!("Bearer {ADMIN_KEY}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list[0]["receivers"].clone()
}

#[tokio::test]
async fn reload_applies_a_good_file_and_refuses_a_bad_one() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn_with(backend, &config(BEFORE), None).await;
        let web = json!({"alertname": "Down", "team": "web"});
        assert_eq!(
            receivers_of(&app, web.clone()).await,
            json!([{"name": "sre"}])
        );
        assert_eq!(app.get("/v2/users/carol@example.com").await.0, 404);
        assert_eq!(
            app.get("/v2/escalations/night?identifierType=name").await.0,
            404
        );

        // Both keys go through the auth cache (which keeps refusals too) before the reload.
        assert_eq!(create_with(&app, WEB_KEY).await, 202);
        assert_eq!(create_with(&app, "late-key-000001").await, 401);

        // Without a key (and anonymous loopback not allowed): refused, nothing read.
        let (s, body) = reload(&app, None).await;
        assert_eq!(s, 401, "{body}");

        std::fs::write(&app.config_path, after_config()).unwrap();
        let (s, body) = reload(&app, Some(ADMIN_KEY)).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(body, "", "nothing that needs a restart changed");
        assert_eq!(
            metric(&app, "klaxon_config_last_reload_successful").await,
            "1"
        );

        // Store objects: the new user and policy exist; the new key works, the removed one
        // is refused at once (the key cache is cleared).
        let (s, v) = app.get("/v2/users/carol@example.com").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"]["fullName"], "Carol");
        let (s, v) = app.get("/v2/escalations/night?identifierType=name").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(create_with(&app, "late-key-000001").await, 202);
        assert_eq!(create_with(&app, WEB_KEY).await, 401);

        // The routing tree in memory: web alerts now go to `web`.
        let web2 = json!({"alertname": "Down2", "team": "web"});
        assert_eq!(receivers_of(&app, web2).await, json!([{"name": "web"}]));
        let st: Value = app
            .http
            .get(format!("{}/api/v2/status", app.root()))
            .header("Authorization", format!("Bearer {ADMIN_KEY}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            st["config"]["original"]
                .as_str()
                .unwrap()
                .contains("receiver: web"),
            "{st}"
        );

        // A broken file that would also take carol, the late key and the web route away: 500
        // with the file and line, the metric says so, and none of it happens.
        std::fs::write(
            &app.config_path,
            config(BEFORE) + "heartbeats:\n  - {name: nightly, interval: banana}\n",
        )
        .unwrap();
        let (s, body) = reload(&app, Some(ADMIN_KEY)).await;
        assert_eq!(s, 500, "{body}");
        assert!(body.starts_with("failed to reload config: "), "{body}");
        let file = app.config_path.display().to_string();
        assert!(body.contains(&format!("{file}:")), "{body}");
        assert_eq!(
            metric(&app, "klaxon_config_last_reload_successful").await,
            "0"
        );
        assert_eq!(app.get("/v2/users/carol@example.com").await.0, 200);
        assert_eq!(create_with(&app, "late-key-000001").await, 202);
        let web3 = json!({"alertname": "Down3", "team": "web"});
        assert_eq!(receivers_of(&app, web3).await, json!([{"name": "web"}]));

        // A file that changes a setting needing a restart: applied, and the answer says so.
        std::fs::write(
            &app.config_path,
            format!("listen: 127.0.0.1:1\n{}", after_config()),
        )
        .unwrap();
        let (s, body) = reload(&app, Some(ADMIN_KEY)).await;
        assert_eq!(s, 200, "{body}");
        assert!(body.contains("after a restart: listen"), "{body}");
        assert_eq!(
            metric(&app, "klaxon_config_last_reload_successful").await,
            "1"
        );
        app.stop().await;
    }
}
