//! The Alertmanager API v2 (`/api/v2/`): posting alerts as Prometheus does, queries with
//! filters, silences, status, and the aggregation groups that become Klaxon alerts (group_wait,
//! group_interval, repeat_interval, silences, inhibition, resolution) on the test clock.

use crate::helpers::*;
use klaxon_store::Dialect;
use serde_json::{json, Value};
use std::time::Duration;

const ROUTES: &str = r#"
receivers: [{name: pager}]
route:
  receiver: sre
  group_by: [alertname]
  group_wait: 30s
  group_interval: 1m
  repeat_interval: 10m
  routes:
    - matchers: ['team="web"']
      receiver: web
      group_by: ['...']
      group_wait: 0s
    - matchers: ['severity=~"page|critical"']
      receiver: pager
      continue: true
    - matchers: ['severity="critical"']
      receiver: sre
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
alertmanager: {resolve_timeout: 2m}
"#;

async fn spawn(backend: Dialect) -> TestApp {
    TestApp::spawn_with(backend, &config(ROUTES), None).await
}

/// A raw request to the Alertmanager API with a Bearer key: (status, body text).
async fn am(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    am_key(app, method, path, body, Some(SRE_KEY)).await
}

async fn am_key(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, String) {
    let mut req = app
        .http
        .request(method.parse().unwrap(), format!("{}{path}", app.root()));
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn am_json(app: &TestApp, path: &str) -> Value {
    let (s, t) = am(app, "GET", path, None).await;
    assert_eq!(s, 200, "{path}: {t}");
    serde_json::from_str(&t).unwrap()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The Klaxon alert of a group, by the group's Alertmanager alias (SHA-256 of its key).
async fn group_alert(app: &TestApp, group_key: &str) -> Option<Value> {
    use sha2::Digest;
    let alias = hex::encode(sha2::Sha256::digest(group_key.as_bytes()));
    let (s, v) = app
        .get(&format!("/v2/alerts/{alias}?identifierType=alias"))
        .await;
    (s == 200).then(|| v["data"].clone())
}

async fn logs(app: &TestApp, id: &str) -> String {
    let (s, v) = app.get(&format!("/v2/alerts/{id}/notes?limit=100")).await;
    assert_eq!(s, 200, "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["note"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn post_validates_like_alertmanager_and_keeps_valid_alerts() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        // Schema errors refuse the whole request, in Alertmanager's shapes.
        let (s, t) = am(
            &app,
            "POST",
            "/api/v2/alerts",
            Some(json!([{"annotations": {}}])),
        )
        .await;
        assert_eq!(
            (s, t.as_str()),
            (
                422,
                r#"{"code":602,"message":"0.labels in body is required"}"#
            )
        );
        let (s, t) = am(&app, "POST", "/api/v2/alerts", Some(json!({}))).await;
        assert_eq!(s, 400);
        assert!(
            t.contains(r#""code":400"#) && t.contains("models.PostableAlerts"),
            "{t}"
        );
        // Rule violations: the valid alerts are kept, the others listed in a JSON string.
        let (s, t) = am(
            &app,
            "POST",
            "/api/v2/alerts",
            Some(json!([
                {"labels": {"a": "1"}, "startsAt": iso(T0 + 1000), "endsAt": iso(T0)},
                {"labels": {"0bad": "x"}},
                {"labels": {"alertname": "Ok", "empty": ""}}
            ])),
        )
        .await;
        assert_eq!(s, 400);
        assert_eq!(
            t,
            r#""start time must be before end time; invalid label set: invalid name \"0bad\"""#
        );
        let all = am_json(&app, "/api/v2/alerts").await;
        let list = all.as_array().unwrap();
        assert_eq!(list.len(), 1, "{all}");
        let a = &list[0];
        // Empty label values are dropped before the fingerprint is taken.
        assert_eq!(a["labels"], json!({"alertname": "Ok"}));
        assert_eq!(
            a["fingerprint"],
            klaxon_core::alertmanager::Fingerprint::of(
                &[("alertname".to_string(), "Ok".to_string())].into()
            )
            .to_string()
        );
        assert_eq!(a["startsAt"], iso(T0));
        assert_eq!(a["endsAt"], iso(T0 + 120_000), "resolve_timeout 2m");
        assert_eq!(a["receivers"], json!([{"name": "sre"}]));
        assert_eq!(
            a["status"],
            json!({"state": "active", "silencedBy": [], "inhibitedBy": []})
        );
        // No key: 401.
        let (s, _) = am_key(&app, "GET", "/api/v2/alerts", None, None).await;
        assert_eq!(s, 401);
        let (s, _) = am_key(&app, "GET", "/api/v2/alerts", None, Some("wrong-key-123")).await;
        assert_eq!(s, 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn queries_filter_by_matchers_receivers_and_state() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let (s, t) = am(
            &app,
            "POST",
            "/api/v2/alerts",
            Some(json!([
                {"labels": {"alertname": "Down", "severity": "critical", "cluster": "a"}},
                {"labels": {"alertname": "Slow", "severity": "warning", "cluster": "a"}},
                {"labels": {"alertname": "Slow", "severity": "warning", "cluster": "b"}},
                {"labels": {"alertname": "Web", "team": "web"}, "endsAt": iso(T0 + 60_000)},
                {"labels": {"alertname": "Gone"}, "startsAt": iso(T0 - 60_000), "endsAt": iso(T0 - 1)}
            ])),
        )
        .await;
        assert_eq!((s, t.as_str()), (200, ""));
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}/{}",
                        a["labels"]["alertname"].as_str().unwrap(),
                        a["labels"]["cluster"].as_str().unwrap_or("-")
                    )
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        // Resolved alerts are not listed.
        let all = am_json(&app, "/api/v2/alerts").await;
        assert_eq!(names(&all), ["Down/a", "Slow/a", "Slow/b", "Web/-"]);
        // Inhibition with equal: cluster a's warning is inhibited by its critical, b's is not.
        let slow_a = all
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == "Slow" && a["labels"]["cluster"] == "a")
            .unwrap();
        let down = all
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == "Down")
            .unwrap();
        assert_eq!(slow_a["status"]["state"], "suppressed");
        assert_eq!(
            slow_a["status"]["inhibitedBy"],
            json!([down["fingerprint"]])
        );
        // continue: the critical alert goes to pager and then to sre.
        assert_eq!(
            down["receivers"],
            json!([{"name": "pager"}, {"name": "sre"}])
        );
        let q = |f: &str| format!("/api/v2/alerts?{f}");
        assert_eq!(
            names(&am_json(&app, &q("filter=alertname%3D%22Slow%22")).await),
            ["Slow/a", "Slow/b"]
        );
        assert_eq!(
            names(
                &am_json(
                    &app,
                    &q("filter=alertname%3D~%22S.*%22&filter=cluster!%3D%22a%22")
                )
                .await
            ),
            ["Slow/b"]
        );
        assert_eq!(
            names(&am_json(&app, &q("inhibited=false")).await),
            ["Down/a", "Slow/b", "Web/-"]
        );
        assert_eq!(names(&am_json(&app, &q("active=false")).await), ["Slow/a"]);
        assert_eq!(names(&am_json(&app, &q("receiver=we.")).await), ["Web/-"]);
        let (s, t) = am(&app, "GET", &q("filter=foo"), None).await;
        assert_eq!((s, t.as_str()), (400, r#""bad matcher format: foo""#));
        let (s, t) = am(&app, "GET", &q("receiver=("), None).await;
        assert_eq!(s, 400, "{t}");
        // Groups: one per route and group_by values.
        let groups = am_json(&app, "/api/v2/alerts/groups").await;
        let mut got: Vec<String> = groups
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                format!(
                    "{} {} {}",
                    g["receiver"]["name"].as_str().unwrap(),
                    g["labels"],
                    g["alerts"].as_array().unwrap().len()
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                r#"pager {"alertname":"Down"} 1"#,
                r#"sre {"alertname":"Down"} 1"#,
                r#"sre {"alertname":"Slow"} 2"#,
                r#"web {"alertname":"Web","team":"web"} 1"#,
            ]
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn silences_crud_and_silenced_alerts() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        am(
            &app,
            "POST",
            "/api/v2/alerts",
            Some(json!([{"labels": {"alertname": "Disk", "instance": "db1"}}])),
        )
        .await;
        let body = json!({"matchers": [{"name": "instance", "value": "db.*", "isRegex": true}],
                          "startsAt": iso(T0 - 3_600_000), "endsAt": iso(T0 + 3_600_000),
                          "createdBy": "alice", "comment": "maintenance"});
        let (s, t) = am(&app, "POST", "/api/v2/silences", Some(body.clone())).await;
        assert_eq!(s, 200, "{t}");
        let id = serde_json::from_str::<Value>(&t).unwrap()["silenceID"]
            .as_str()
            .unwrap()
            .to_string();
        let one = am_json(&app, &format!("/api/v2/silence/{id}")).await;
        assert_eq!(one["status"]["state"], "active");
        assert_eq!(one["startsAt"], iso(T0), "a start in the past means now");
        assert_eq!(
            one["matchers"],
            json!([{"isEqual": true, "isRegex": true, "name": "instance", "value": "db.*"}])
        );
        let alerts = am_json(&app, "/api/v2/alerts").await;
        assert_eq!(alerts[0]["status"]["silencedBy"], json!([id]));
        assert_eq!(alerts[0]["status"]["state"], "suppressed");
        assert_eq!(
            am_json(&app, "/api/v2/alerts?silenced=false").await,
            json!([])
        );
        let listed = am_json(&app, "/api/v2/silences?filter=instance%3D~%22db.*%22").await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!(
            am_json(&app, "/api/v2/silences?filter=instance%3D%22x%22").await,
            json!([])
        );

        // Schema and rule errors.
        let mut bad = body.clone();
        bad.as_object_mut().unwrap().remove("comment");
        let (s, t) = am(&app, "POST", "/api/v2/silences", Some(bad)).await;
        assert_eq!(
            (s, t.as_str()),
            (
                422,
                r#"{"code":602,"message":"comment in body is required"}"#
            )
        );
        let mut bad = body.clone();
        bad["endsAt"] = json!(iso(T0 - 7_200_000));
        let (s, t) = am(&app, "POST", "/api/v2/silences", Some(bad)).await;
        assert_eq!(
            (s, t.as_str()),
            (
                400,
                r#""Failed to create silence: start time must be before end time""#
            )
        );
        let (s, t) = am(&app, "GET", "/api/v2/silence/abc", None).await;
        assert_eq!(
            (s, t.as_str()),
            (
                422,
                r#"{"code":601,"message":"silenceID in path must be of type uuid: \"abc\""}"#
            )
        );
        let (s, _) = am(
            &app,
            "GET",
            &format!("/api/v2/silence/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
        assert_eq!(s, 404);

        // Expire: the alert is active again.
        let (s, t) = am(&app, "DELETE", &format!("/api/v2/silence/{id}"), None).await;
        assert_eq!((s, t.as_str()), (200, ""));
        assert_eq!(
            am_json(&app, &format!("/api/v2/silence/{id}")).await["status"]["state"],
            "expired"
        );
        assert_eq!(
            am_json(&app, "/api/v2/alerts").await[0]["status"]["state"],
            "active"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn status_serves_a_loadable_config_and_receivers() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let st = am_json(&app, "/api/v2/status").await;
        assert_eq!(st["cluster"]["status"], "disabled");
        assert_eq!(st["uptime"], iso(T0));
        let original = st["config"]["original"].as_str().unwrap();
        let cfg = klaxon_core::alertmanager::AlertmanagerConfig::from_yaml(original).unwrap();
        let names: Vec<String> = cfg.receiver_names().iter().map(|s| s.to_string()).collect();
        cfg.check(names.iter().map(String::as_str))
            .unwrap_or_else(|e| panic!("{e}\n{original}"));
        assert!(
            names.contains(&"sre".to_string()) && names.contains(&"web".to_string()),
            "{names:?}"
        );
        assert_eq!(
            am_json(&app, "/api/v2/receivers").await,
            json!([{"name": "pager"}, {"name": "sre"}, {"name": "web"}])
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn groups_become_klaxon_alerts_on_the_clock() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let key = r#"{}:{alertname="Slow"}"#;
        am(
            &app,
            "POST",
            "/api/v2/alerts",
            Some(json!([
                {"labels": {"alertname": "Slow", "instance": "a", "severity": "warning"},
                 "annotations": {"summary": "slow queries"}, "endsAt": iso(T0 + 3_600_000)}
            ])),
        )
        .await;
        // group_wait 30s: nothing yet.
        app.clock.advance(Duration::from_secs(29));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(group_alert(&app, key).await.is_none());
        app.clock.advance(Duration::from_secs(1));
        app.eventually("the group's alert is created", || async {
            group_alert(&app, key).await.is_some()
        })
        .await;
        let a = group_alert(&app, key).await.unwrap();
        assert_eq!(a["message"], "slow queries");
        assert_eq!(a["priority"], "P3");
        assert_eq!(a["responders"][0]["type"], "team");
        assert_eq!(a["details"]["members"], "1");
        assert!(
            a["description"]
                .as_str()
                .unwrap()
                .contains(r#"instance="a""#),
            "{a}"
        );
        let id = a["id"].as_str().unwrap().to_string();

        // A second member joins: a note at the next group_interval tick.
        am(&app, "POST", "/api/v2/alerts", Some(json!([
            {"labels": {"alertname": "Slow", "instance": "b", "severity": "warning"}, "endsAt": iso(T0 + 150_000)}
        ]))).await;
        app.clock.advance(Duration::from_secs(60));
        app.eventually("the update note", || async {
            logs(&app, &id)
                .await
                .contains("Group updated: 2 alert(s) firing")
        })
        .await;

        // Member b resolves (endsAt), then after repeat_interval a re-notification.
        app.clock.advance(Duration::from_secs(60));
        app.eventually("b left", || async {
            logs(&app, &id)
                .await
                .contains("Group updated: 1 alert(s) firing")
        })
        .await;
        app.clock.advance(Duration::from_secs(600));
        app.eventually("the repeat", || async {
            logs(&app, &id)
                .await
                .contains("Still firing after repeat_interval (600s)")
        })
        .await;

        // Restart on the same database: the group and its due time survive.
        let db = app.database.clone();
        let now = klaxon_core::clock::Clock::now_ms(&app.clock);
        app.stop().await;
        let app = TestApp::spawn_with(backend, &config(ROUTES), Some(db)).await;
        app.clock.set(now);
        // Resolve a (endsAt now): at the next tick the Klaxon alert closes.
        am(&app, "POST", "/api/v2/alerts", Some(json!([
            {"labels": {"alertname": "Slow", "instance": "a", "severity": "warning"}, "endsAt": iso(now)}
        ]))).await;
        app.clock.advance(Duration::from_secs(60));
        app.eventually("the group's alert is closed", || async {
            group_alert(&app, key)
                .await
                .is_some_and(|a| a["status"] == "closed")
        })
        .await;
        assert!(am_json(&app, "/api/v2/alerts/groups")
            .await
            .as_array()
            .unwrap()
            .is_empty());
        app.stop().await;
    }
}

#[tokio::test]
async fn silenced_and_inhibited_groups_do_not_page() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let (s, t) = am(&app, "POST", "/api/v2/silences", Some(json!({
            "matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false}],
            "startsAt": iso(T0), "endsAt": iso(T0 + 600_000), "createdBy": "bob", "comment": "known"}))).await;
        assert_eq!(s, 200, "{t}");
        am(&app, "POST", "/api/v2/alerts", Some(json!([
            {"labels": {"alertname": "Quiet"}, "endsAt": iso(T0 + 3_600_000)},
            {"labels": {"alertname": "Boom", "severity": "critical", "cluster": "c"}, "endsAt": iso(T0 + 3_600_000)},
            {"labels": {"alertname": "Hum", "severity": "warning", "cluster": "c"}, "endsAt": iso(T0 + 3_600_000)}
        ]))).await;
        app.clock.advance(Duration::from_secs(30));
        app.eventually("Boom pages", || async {
            group_alert(&app, r#"{}/{severity="critical"}:{alertname="Boom"}"#)
                .await
                .is_some()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            group_alert(&app, r#"{}:{alertname="Quiet"}"#)
                .await
                .is_none(),
            "silenced: no alert"
        );
        assert!(
            group_alert(&app, r#"{}:{alertname="Hum"}"#).await.is_none(),
            "inhibited: no alert"
        );
        // The silence ends before the alert: the group pages at its next tick.
        app.clock.advance(Duration::from_secs(600));
        app.eventually("Quiet pages once unsilenced", || async {
            group_alert(&app, r#"{}:{alertname="Quiet"}"#)
                .await
                .is_some()
        })
        .await;
        // A new silence holds back the open alert: its timeline names the silence.
        let (_, t) = am(&app, "POST", "/api/v2/silences", Some(json!({
            "matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false}],
            "startsAt": iso(T0), "endsAt": iso(T0 + 7_200_000), "createdBy": "bob", "comment": "again"}))).await;
        let sid = serde_json::from_str::<Value>(&t).unwrap()["silenceID"]
            .as_str()
            .unwrap()
            .to_string();
        app.clock.advance(Duration::from_secs(60));
        let id = group_alert(&app, r#"{}:{alertname="Quiet"}"#)
            .await
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        app.eventually("the timeline names the silence", || async {
            logs(&app, &id)
                .await
                .contains(&format!("silenced by {sid}"))
        })
        .await;
        app.stop().await;
    }
}
