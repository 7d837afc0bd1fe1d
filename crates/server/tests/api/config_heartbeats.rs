//! Heartbeats declared in the config file (`heartbeats:`): applied at start, shown by the
//! Heartbeat API, read-only through it, expiring on the test clock like any other, and
//! following the file across restarts.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const DECLARED: &str = r#"
heartbeats:
  - name: nightly-backup
    interval: 30s
    owner_team: sre
    description: The backup job pings at the end of each run
    alert_message: Backup did not report
    alert_priority: P2
    alert_tags: [backup, db]
  - name: hourly-cron
    interval: 1h
    enabled: false
"#;

async fn alert_status(app: &TestApp, name: &str) -> Option<Value> {
    let (s, v) = app
        .get(&format!("/v2/alerts/heartbeat-{name}?identifierType=alias"))
        .await;
    if s == 404 {
        return None;
    }
    assert_eq!(s, 200, "{v}");
    Some(v["data"].clone())
}

#[tokio::test]
async fn declared_heartbeats_show_expire_and_stay_read_only() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn_with(backend, &config(DECLARED), None).await;
        let (s, v) = app.get("/v2/heartbeats/nightly-backup").await;
        assert_eq!(s, 200, "{v}");
        let h = &v["data"];
        assert_eq!(h["interval"], 30, "{v}");
        assert_eq!(h["intervalUnit"], "seconds", "{v}");
        assert_eq!(h["enabled"], true);
        assert_eq!(h["ownerTeam"]["name"], "sre");
        assert_eq!(h["alertMessage"], "Backup did not report");
        assert_eq!(h["alertPriority"], "P2");
        assert_eq!(h["alertTags"], json!(["backup", "db"]));
        assert_eq!(
            h["description"],
            "The backup job pings at the end of each run"
        );
        let (_, v) = app.get("/v2/heartbeats/hourly-cron").await;
        assert_eq!(v["data"]["interval"], 1, "{v}");
        assert_eq!(v["data"]["intervalUnit"], "hours", "{v}");
        assert_eq!(v["data"]["enabled"], false, "{v}");
        let (_, v) = app.get("/v2/heartbeats").await;
        assert_eq!(v["data"]["heartbeats"].as_array().unwrap().len(), 2, "{v}");

        // Read-only through the API; pings work.
        let (s, v) = app
            .call(
                "PATCH",
                "/v2/heartbeats/nightly-backup",
                Some(ADMIN_KEY),
                Some(json!({"interval": 5})),
            )
            .await;
        assert_eq!(s, 403, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("config file"),
            "{v}"
        );
        let (s, _) = app
            .call(
                "DELETE",
                "/v2/heartbeats/nightly-backup",
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 403);
        for action in ["disable", "enable"] {
            let path = format!("/v2/heartbeats/hourly-cron/{action}");
            let (s, v) = app.call("POST", &path, Some(ADMIN_KEY), None).await;
            assert_eq!(s, 403, "{action}: {v}");
        }
        let (_, v) = app.get("/v2/heartbeats/hourly-cron").await;
        assert_eq!(v["data"]["enabled"], false, "{v}");

        app.clock.advance(Duration::from_secs(20));
        let (s, _) = app
            .call(
                "POST",
                "/v2/heartbeats/nightly-backup/ping",
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 202);
        app.clock.advance(Duration::from_secs(25));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            alert_status(&app, "nightly-backup").await.is_none(),
            "pinged 25 s ago"
        );
        app.clock.advance(Duration::from_secs(6));
        app.eventually("the expiry alert", || async {
            alert_status(&app, "nightly-backup")
                .await
                .is_some_and(|a| a["status"] == "open")
        })
        .await;
        let a = alert_status(&app, "nightly-backup").await.unwrap();
        assert_eq!(a["message"], "Backup did not report");
        assert_eq!(a["priority"], "P2");
        let (s, _) = app
            .call(
                "GET",
                "/v2/heartbeats/nightly-backup/ping",
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 202);
        app.eventually("the ping closes it", || async {
            alert_status(&app, "nightly-backup")
                .await
                .is_some_and(|a| a["status"] == "closed")
        })
        .await;
        let database = app.database.clone();
        app.stop().await;

        // The next start follows the file: a new interval, a removed heartbeat, an API-made
        // one left alone.
        let app = TestApp::spawn_with(
            backend,
            &config("heartbeats:\n  - {name: nightly-backup, interval: 2m, enabled: false}\n"),
            Some(database.clone()),
        )
        .await;
        let (s, v) = app
            .post(
                "/v2/heartbeats",
                json!({"name": "made-by-api", "interval": 5, "intervalUnit": "minutes"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (_, v) = app.get("/v2/heartbeats/nightly-backup").await;
        assert_eq!(v["data"]["interval"], 2, "{v}");
        assert_eq!(v["data"]["intervalUnit"], "minutes", "{v}");
        assert_eq!(v["data"]["enabled"], false, "{v}");
        assert_eq!(v["data"]["alertPriority"], "P3", "{v}");
        let (s, _) = app.get("/v2/heartbeats/hourly-cron").await;
        assert_eq!(s, 404, "no longer declared");
        app.stop().await;

        let app = TestApp::spawn_with(backend, &config(""), Some(database)).await;
        let (_, v) = app.get("/v2/heartbeats").await;
        let names: Vec<&str> = v["data"]["heartbeats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["made-by-api"], "{v}");
        app.stop().await;
    }
}
