//! The OpsGenie Heartbeat API: pings, expiry through the durable due time (driven by the test
//! clock), the alert an expiry opens and the ping that closes it, CRUD shapes and 422s.

use crate::each_backend;
use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// The alerts whose alias is the heartbeat's (any status), newest first.
async fn expiry_alerts(app: &TestApp, name: &str) -> Vec<Value> {
    let (s, v) = app
        .get(&format!("/v2/alerts/heartbeat-{name}?identifierType=alias"))
        .await;
    if s == 404 {
        return vec![];
    }
    assert_eq!(s, 200, "{v}");
    vec![v["data"].clone()]
}

async fn alert_status(app: &TestApp, name: &str) -> Option<String> {
    expiry_alerts(app, name)
        .await
        .first()
        .map(|a| a["status"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn expiry_opens_an_alert_and_the_next_ping_closes_it() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/heartbeats",
                json!({"name": "nightly-backup", "interval": 10, "intervalUnit": "minutes",
                       "enabled": true, "ownerTeam": {"name": "sre"}, "alertTags": ["backup"]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["data"]["name"], "nightly-backup");

        let (s, v) = app
            .call(
                "GET",
                "/v2/heartbeats/nightly-backup/ping",
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 202, "{v}");
        assert_eq!(v["result"], "PONG - Heartbeat received");
        assert_eq!(
            keys(&v),
            ["requestId", "result", "took"].map(String::from).into()
        );

        app.clock.advance(Duration::from_secs(9 * 60));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            alert_status(&app, "nightly-backup").await,
            None,
            "not yet due"
        );

        app.clock.advance(Duration::from_secs(61));
        app.eventually("the expiry alert", || async {
            alert_status(&app, "nightly-backup").await.as_deref() == Some("open")
        })
        .await;
        let a = &expiry_alerts(&app, "nightly-backup").await[0];
        assert_eq!(a["message"], "nightly-backup is expired");
        assert_eq!(a["priority"], "P3");
        assert_eq!(a["tags"], json!(["backup"]));
        assert!(
            a["responders"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["type"] == "team"),
            "{a}"
        );
        let (_, h) = app.get("/v2/heartbeats/nightly-backup").await;
        assert_eq!(h["data"]["expired"], true, "{h}");

        // More time passes: still one alert, not re-fired.
        app.clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(expiry_alerts(&app, "nightly-backup").await[0]["count"], 1);

        let (s, _) = app
            .post("/v2/heartbeats/nightly-backup/ping", json!({}))
            .await;
        assert_eq!(s, 202);
        assert_eq!(
            alert_status(&app, "nightly-backup").await.as_deref(),
            Some("closed")
        );
        let (_, h) = app.get("/v2/heartbeats/nightly-backup").await;
        assert_eq!(h["data"]["expired"], false);
        assert_eq!(h["data"]["lastPingTime"], "2026-01-01T01:10:01.000Z");
    });
}

#[tokio::test]
async fn custom_alert_fields_and_every_ping_method() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/heartbeats",
                json!({"name": "cron", "interval": 1, "intervalUnit": "hours",
                       "alertMessage": "cron stopped", "alertPriority": "P1"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        for method in ["GET", "POST", "PUT", "PATCH"] {
            let (s, v) = app
                .call(method, "/v2/heartbeats/cron/ping", Some(ADMIN_KEY), None)
                .await;
            assert_eq!(
                (s, v["result"].clone()),
                (202, json!("PONG - Heartbeat received")),
                "{method}"
            );
        }
        app.clock.advance(Duration::from_secs(3601));
        app.eventually("the expiry alert", || async {
            alert_status(&app, "cron").await.as_deref() == Some("open")
        })
        .await;
        let a = &expiry_alerts(&app, "cron").await[0];
        assert_eq!(
            (a["message"].clone(), a["priority"].clone()),
            (json!("cron stopped"), json!("P1"))
        );

        let (s, v) = app
            .call("GET", "/v2/heartbeats/nope/ping", Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 404, "{v}");
        let (s, _) = app
            .call("GET", "/v2/heartbeats/cron/ping", None, None)
            .await;
        assert_eq!(s, 401);
    });
}

#[tokio::test]
async fn a_disabled_heartbeat_never_expires_until_enabled() {
    each_backend!(|app| {
        let (s, _) = app
            .post(
                "/v2/heartbeats",
                json!({"name": "off", "interval": 5, "intervalUnit": "minutes", "enabled": false}),
            )
            .await;
        assert_eq!(s, 201);
        app.clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(alert_status(&app, "off").await, None);

        let (s, v) = app.post("/v2/heartbeats/off/enable", json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"name": "off", "enabled": true, "expired": false})
        );
        app.clock.advance(Duration::from_secs(4 * 60));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            alert_status(&app, "off").await,
            None,
            "enabling restarts the wait"
        );

        let (s, v) = app.post("/v2/heartbeats/off/disable", json!({})).await;
        assert_eq!((s, v["data"]["enabled"].clone()), (200, json!(false)));
        app.clock.advance(Duration::from_secs(3600));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(alert_status(&app, "off").await, None);

        app.post("/v2/heartbeats/off/enable", json!({})).await;
        app.clock.advance(Duration::from_secs(5 * 60));
        app.eventually("the expiry alert", || async {
            alert_status(&app, "off").await.as_deref() == Some("open")
        })
        .await;
    });
}

#[tokio::test]
async fn crud_in_opsgenie_shapes() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/heartbeats",
                json!({"name": "api-hb", "description": "d", "interval": 2, "intervalUnit": "days",
                       "enabled": true, "ownerTeam": {"name": "web"}, "alertMessage": "m",
                       "alertTags": ["a", "b"], "alertPriority": "P2"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = app.get("/v2/heartbeats/API-HB").await;
        assert_eq!(s, 200, "{v}");
        let d = &v["data"];
        let team_id = d["ownerTeam"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            d,
            &json!({"name": "api-hb", "description": "d", "interval": 2, "intervalUnit": "days",
                    "enabled": true, "expired": false, "ownerTeam": {"id": team_id, "name": "web"},
                    "alertMessage": "m", "alertTags": ["a", "b"], "alertPriority": "P2"})
        );

        let (s, v) = app.get("/v2/heartbeats").await;
        assert_eq!(s, 200);
        assert_eq!(v["data"]["heartbeats"].as_array().unwrap().len(), 1);
        assert_eq!(v["data"]["heartbeats"][0]["name"], "api-hb");

        let (s, v) = app
            .call(
                "PATCH",
                "/v2/heartbeats/api-hb",
                Some(ADMIN_KEY),
                Some(
                    json!({"interval": 30, "intervalUnit": "minutes", "enabled": false,
                            "ownerTeam": {"id": "not-an-id", "name": "sre"}}),
                ),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"name": "api-hb", "enabled": false, "expired": false})
        );
        let (_, v) = app.get("/v2/heartbeats/api-hb").await;
        assert_eq!(
            (
                v["data"]["interval"].clone(),
                v["data"]["intervalUnit"].clone()
            ),
            (json!(30), json!("minutes"))
        );
        assert_eq!(v["data"]["ownerTeam"]["name"], "sre");
        assert_eq!(
            v["data"]["description"], "d",
            "PATCH keeps what it leaves out"
        );
        assert_eq!(v["data"]["alertTags"], json!(["a", "b"]));

        let (s, v) = app
            .call("DELETE", "/v2/heartbeats/api-hb", Some(ADMIN_KEY), None)
            .await;
        assert_eq!((s, v["result"].clone()), (200, json!("Deleted")));
        let (s, _) = app.get("/v2/heartbeats/api-hb").await;
        assert_eq!(s, 404);
        let (s, _) = app
            .call("DELETE", "/v2/heartbeats/api-hb", Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 404);
    });
}

#[tokio::test]
async fn bad_input_is_a_422_naming_the_field() {
    each_backend!(|app| {
        let cases = [
            (json!({"interval": 1, "intervalUnit": "minutes"}), "name"),
            (json!({"name": "x", "intervalUnit": "minutes"}), "interval"),
            (
                json!({"name": "x", "interval": 0, "intervalUnit": "minutes"}),
                "interval",
            ),
            (json!({"name": "x", "interval": "soon"}), "interval"),
            (
                json!({"name": "x", "interval": 1, "intervalUnit": "weeks"}),
                "intervalUnit",
            ),
            (
                json!({"name": "x", "interval": 1, "alertPriority": "P9"}),
                "alertPriority",
            ),
            (
                json!({"name": "x", "interval": 1, "enabled": "yes"}),
                "enabled",
            ),
            (
                json!({"name": "x", "interval": 1, "ownerTeam": {"name": "nobody"}}),
                "ownerTeam",
            ),
            (
                json!({"name": "x", "interval": 1, "alertTags": "a"}),
                "alertTags",
            ),
        ];
        for (body, field) in cases {
            let (s, v) = app.post("/v2/heartbeats", body.clone()).await;
            assert_eq!(s, 422, "{body} → {v}");
            assert!(v["errors"].get(field).is_some(), "{body} → {v}");
            assert!(v["requestId"].is_string());
        }
        let (s, _) = app
            .post("/v2/heartbeats", json!({"name": "dup", "interval": 1}))
            .await;
        assert_eq!(s, 201);
        let (s, v) = app
            .post("/v2/heartbeats", json!({"name": "DUP", "interval": 1}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["name"]
                .as_str()
                .unwrap()
                .contains("already exists"),
            "{v}"
        );
        let (s, v) = app
            .call(
                "PATCH",
                "/v2/heartbeats/dup",
                Some(ADMIN_KEY),
                Some(json!({"intervalUnit": "fortnights"})),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(v["errors"].get("intervalUnit").is_some());
    });
}

#[tokio::test]
async fn an_expiry_due_while_the_server_is_down_fires_after_restart() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn(backend).await;
        let (s, _) = app
            .post("/v2/heartbeats", json!({"name": "db-dump", "interval": 10}))
            .await;
        assert_eq!(s, 201);
        let database = app.database.clone();
        app.stop().await;

        // The new process starts with its clock past the due time: the row is all it has.
        let app = TestApp::spawn_with(backend, &config(""), Some(database)).await;
        app.clock.advance(Duration::from_secs(11 * 60));
        app.eventually("the expiry alert after restart", || async {
            alert_status(&app, "db-dump").await.as_deref() == Some("open")
        })
        .await;
        assert_eq!(
            expiry_alerts(&app, "db-dump").await[0]["message"],
            "db-dump is expired"
        );
        app.call("GET", "/v2/heartbeats/db-dump/ping", Some(ADMIN_KEY), None)
            .await;
        assert_eq!(
            alert_status(&app, "db-dump").await.as_deref(),
            Some("closed")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn two_processes_claim_each_expiry_once_and_an_unfinished_claim_fires_again() {
    use klaxon_store::{HeartbeatFields, Store};
    for backend in klaxon_store::testing::backends() {
        let database = klaxon_store::testing::fresh_database(backend).await;
        let (a, b) = (
            Store::connect(&database).await.unwrap(),
            Store::connect(&database).await.unwrap(),
        );
        for i in 0..20 {
            let f = HeartbeatFields {
                name: format!("hb{i}"),
                description: String::new(),
                interval_ms: 60_000,
                interval_unit: "minutes".into(),
                enabled: true,
                owner_team: None,
                alert_message: String::new(),
                alert_tags: vec![],
                alert_priority: "P3".into(),
            };
            a.create_heartbeat(&f, T0).await.unwrap();
        }
        let now = T0 + 60_000;
        let lease = now + 60_000;
        let (x, y) = tokio::join!(
            a.claim_expired_heartbeats(now, lease, 7),
            b.claim_expired_heartbeats(now, lease, 7)
        );
        let (mut x, y) = (x.unwrap(), y.unwrap());
        x.extend(y);
        let mut claimed: Vec<String> = x.iter().map(|c| c.name.clone()).collect();
        claimed.sort();
        let n = claimed.len();
        claimed.dedup();
        assert_eq!(
            claimed.len(),
            n,
            "a heartbeat was claimed twice: {claimed:?}"
        );
        assert_eq!(n, 14, "{backend:?}");

        // Finish all but one claim; the unfinished one falls due again after its lease.
        let rest = a.claim_expired_heartbeats(now, lease, 100).await.unwrap();
        assert_eq!(rest.len(), 6);
        for c in x.iter().chain(&rest).skip(1) {
            assert!(a
                .finish_heartbeat_expiry(&c.id, c.lease_until)
                .await
                .unwrap());
        }
        assert!(a
            .claim_expired_heartbeats(lease - 1, lease + 60_000, 100)
            .await
            .unwrap()
            .is_empty());
        let again = a
            .claim_expired_heartbeats(lease, lease + 60_000, 100)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, x[0].id);
        assert_eq!(
            a.next_heartbeat_expiry().await.unwrap(),
            Some(lease + 60_000)
        );

        // A ping between claim and finish moves the due time: the finish is refused.
        assert_eq!(
            a.ping_heartbeat(&again[0].name, lease).await.unwrap(),
            Some(true)
        );
        assert!(!a
            .finish_heartbeat_expiry(&again[0].id, again[0].lease_until)
            .await
            .unwrap());
        let h = a.heartbeat(&again[0].name).await.unwrap().unwrap();
        assert_eq!((h.expired, h.expires_at), (false, Some(lease + 60_000)));
        a.close().await;
        b.close().await;
    }
}
