//! The OpsGenie Alert API: shapes strict clients parse, de-duplication, search, actions.

use crate::each_backend;
use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn create_answers_202_and_the_alert_has_the_full_opsgenie_shape() {
    each_backend!(|app| {
        let (status, v) = app
            .post(
                "/v2/alerts",
                json!({
                    "message": "Disk full on db1", "alias": "disk-db1", "description": "90%",
                    "priority": "P1", "tags": ["db", "prod"], "details": {"runbook": "https://r/x"},
                    "entity": "db1", "source": "nagios", "actions": ["restart"], "note": "first",
                    "responders": [{"name": "sre"}, {"username": "alice@example.com"}],
                    "user": "carol"
                }),
            )
            .await;
        assert_eq!(status, 202);
        assert_eq!(
            keys(&v),
            ["requestId", "result", "took"].map(String::from).into()
        );
        assert_eq!(v["result"], "Request will be processed");
        assert!(v["took"].is_number());

        let rid = v["requestId"].as_str().unwrap();
        let (_, r) = app.get(&format!("/v2/alerts/requests/{rid}")).await;
        let d = &r["data"];
        assert_eq!(
            (
                d["success"].clone(),
                d["isSuccess"].clone(),
                d["action"].clone()
            ),
            (json!(true), json!(true), json!("Create"))
        );
        assert_eq!(d["alias"], "disk-db1");
        assert_eq!(
            keys(d),
            [
                "action",
                "alertId",
                "alias",
                "integrationId",
                "isSuccess",
                "processedAt",
                "status",
                "success"
            ]
            .map(String::from)
            .into()
        );

        let a = app.alert(d["alertId"].as_str().unwrap()).await;
        assert_eq!(
            keys(&a),
            [
                "acknowledged",
                "actions",
                "alias",
                "count",
                "createdAt",
                "description",
                "details",
                "entity",
                "id",
                "integration",
                "isSeen",
                "lastOccurredAt",
                "message",
                "owner",
                "ownerTeamId",
                "priority",
                "report",
                "responders",
                "snoozed",
                "source",
                "status",
                "tags",
                "tinyId",
                "updatedAt"
            ]
            .map(String::from)
            .into()
        );
        assert_eq!(a["message"], "Disk full on db1");
        assert_eq!(a["status"], "open");
        assert_eq!(a["priority"], "P1");
        assert_eq!(a["tags"], json!(["db", "prod"]));
        assert_eq!(a["details"], json!({"runbook": "https://r/x"}));
        assert_eq!(
            (
                a["entity"].clone(),
                a["source"].clone(),
                a["description"].clone()
            ),
            (json!("db1"), json!("nagios"), json!("90%"))
        );
        assert_eq!(a["integration"]["name"], "global");
        assert_eq!(a["integration"]["type"], "API");
        assert_eq!(a["count"], 1);
        // Responders given the SDK's way (no type) come back typed, with ids.
        let types: Vec<&str> = a["responders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["team", "user"]);
        assert!(a["responders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"].as_str().is_some_and(|s| !s.is_empty())));
        let created = a["createdAt"].as_str().unwrap();
        assert_eq!(
            created, "2026-01-01T00:00:00.000Z",
            "instants: ISO-8601 with millis and Z"
        );

        // Get by alias and by tiny id.
        let tiny = a["tinyId"].as_str().unwrap();
        let (_, by_alias) = app.get("/v2/alerts/disk-db1?identifierType=alias").await;
        let (_, by_tiny) = app
            .get(&format!("/v2/alerts/{tiny}?identifierType=tiny"))
            .await;
        assert_eq!(by_alias["data"]["id"], a["id"]);
        assert_eq!(by_tiny["data"]["id"], a["id"]);
        // The note and the actor are on the record.
        let (_, notes) = app
            .get("/v2/alerts/disk-db1/notes?identifierType=alias")
            .await;
        assert_eq!(notes["data"][0]["note"], "first");
        assert_eq!(notes["data"][0]["owner"], "carol");
        let (_, recipients) = app
            .get("/v2/alerts/disk-db1/recipients?identifierType=alias")
            .await;
        let users: Vec<&str> = recipients["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["user"]["username"].as_str().unwrap())
            .collect();
        assert_eq!(users, ["alice@example.com", "bob@example.com"]);
    });
}

#[tokio::test]
async fn same_alias_twice_counts_up_and_after_close_opens_a_new_alert() {
    each_backend!(|app| {
        let first = app
            .create(ADMIN_KEY, json!({"message": "api down", "alias": "api"}))
            .await;
        app.clock.advance(std::time::Duration::from_secs(60));
        let second = app
            .create(
                ADMIN_KEY,
                json!({"message": "api down again", "alias": "api"}),
            )
            .await;
        assert_eq!(first, second, "one alert per open alias");
        let a = app.alert(&first).await;
        assert_eq!(a["count"], 2);
        assert_eq!(a["message"], "api down", "the first message is kept");
        assert_eq!(a["lastOccurredAt"], "2026-01-01T00:01:00.000Z");
        let (_, c) = app.get("/v2/alerts/count?query=alias:api").await;
        assert_eq!(c["data"]["count"], 1);

        let (s, _) = app
            .post(
                "/v2/alerts/api/close?identifierType=alias",
                json!({"note": "fixed"}),
            )
            .await;
        assert_eq!(s, 202);
        let third = app
            .create(ADMIN_KEY, json!({"message": "api down", "alias": "api"}))
            .await;
        assert_ne!(third, first);
        assert_eq!(app.alert(&first).await["status"], "closed");
        let (_, c) = app.get("/v2/alerts/count?query=alias:api").await;
        assert_eq!(c["data"]["count"], 2);
    });
}

#[tokio::test]
async fn every_action_is_applied_and_logged_with_its_actor() {
    each_backend!(|app| {
        let id = app
            .create(
                ADMIN_KEY,
                json!({"message": "m", "alias": "x", "actions": ["restart"]}),
            )
            .await;
        let act = |path: &str, body: Value| {
            let path = format!("/v2/alerts/{id}/{path}");
            let app = &app;
            async move {
                let (s, v) = app.post(&path, body).await;
                assert_eq!(s, 202, "{path}: {v}");
            }
        };
        act(
            "acknowledge",
            json!({"user": "alice@example.com", "note": "looking"}),
        )
        .await;
        act("tags", json!({"tags": ["a", "b"]})).await;
        act("details", json!({"details": {"k1": "v1", "k2": "v2"}})).await;
        act("assign", json!({"owner": {"username": "bob@example.com"}})).await;
        act("teams", json!({"team": {"name": "web"}})).await;
        act(
            "responders",
            json!({"responder": {"type": "user", "username": "alice@example.com"}}),
        )
        .await;
        act("actions/restart", json!({})).await;
        act(
            "escalate",
            json!({"escalation": {"name": "sre_escalation"}}),
        )
        .await;
        act("unacknowledge", json!({})).await;
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/v2/alerts/{id}/tags?tags=a"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 202);
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/v2/alerts/{id}/details?keys=k1"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 202);
        for (field, value) in [
            ("message", "new message"),
            ("description", "new description"),
            ("priority", "P2"),
        ] {
            let (s, v) = app
                .call(
                    "PUT",
                    &format!("/v2/alerts/{id}/{field}"),
                    Some(ADMIN_KEY),
                    Some(json!({ field: value })),
                )
                .await;
            assert_eq!(s, 202, "{v}");
        }
        let a = app.alert(&id).await;
        assert_eq!(a["acknowledged"], false);
        assert_eq!(a["report"]["acknowledgedBy"], "alice@example.com");
        assert_eq!(a["tags"], json!(["b"]));
        assert_eq!(a["details"], json!({"k2": "v2"}));
        assert_eq!(a["owner"], "bob@example.com");
        assert_eq!(
            (
                a["message"].clone(),
                a["description"].clone(),
                a["priority"].clone()
            ),
            (json!("new message"), json!("new description"), json!("P2"))
        );
        let kinds: Vec<&str> = a["responders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["team", "user", "escalation"]);

        let (_, logs) = app
            .get(&format!("/v2/alerts/{id}/logs?order=asc&limit=100"))
            .await;
        // The engine's own lines (routing, notifications) are written by "System" whenever
        // its worker gets to them; this test is about the actions' lines.
        let lines: Vec<&str> = logs["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["owner"] != "System")
            .map(|l| l["log"].as_str().unwrap())
            .collect();
        assert_eq!(lines.len(), 15, "{lines:#?}");
        assert_eq!(
            lines[1],
            "Alert acknowledged via API[global] by alice@example.com"
        );
        assert!(lines
            .iter()
            .any(|l| l.contains("Action \"restart\" executed")));
        // An action the alert does not offer is refused, and the request status says why.
        let (_, v) = app
            .post(&format!("/v2/alerts/{id}/actions/reboot"), json!({}))
            .await;
        let (_, r) = app
            .get(&format!(
                "/v2/alerts/requests/{}",
                v["requestId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(r["data"]["isSuccess"], false);
        assert!(r["data"]["status"].as_str().unwrap().contains("reboot"));

        let (s, _) = app
            .call("DELETE", &format!("/v2/alerts/{id}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 202);
        let (s, v) = app.get(&format!("/v2/alerts/{id}")).await;
        assert_eq!(s, 404);
        assert_eq!(v["message"], "Alert does not exist");
    });
}

#[tokio::test]
async fn actions_on_unknown_alerts_are_still_202_and_report_failure() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/alerts/nope/close?identifierType=alias",
                json!({"source": "am"}),
            )
            .await;
        assert_eq!(s, 202, "Alertmanager treats 4xx as permanent failure");
        let (_, r) = app
            .get(&format!(
                "/v2/alerts/requests/{}",
                v["requestId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(r["data"]["isSuccess"], false);
        assert_eq!(r["data"]["status"], "Alert does not exist");
        assert_eq!(r["data"]["alias"], "nope");
    });
}

#[tokio::test]
async fn search_count_and_paging_links() {
    each_backend!(|app| {
        for i in 0..7 {
            let p = if i < 3 { "P1" } else { "P3" };
            let tags = if i % 2 == 0 {
                json!(["db"])
            } else {
                json!(["web"])
            };
            app.create(ADMIN_KEY, json!({"message": format!("svc {i} down"), "alias": format!("a{i}"), "priority": p, "tags": tags})).await;
            app.clock.advance(std::time::Duration::from_secs(1));
        }
        app.post("/v2/alerts/a0/acknowledge?identifierType=alias", json!({}))
            .await;
        let (s, v) = app
            .get("/v2/alerts?query=status%3Aopen+AND+priority%3AP1+AND+tag%3Adb")
            .await;
        assert_eq!(s, 200, "{v}");
        let aliases: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alias"].as_str().unwrap())
            .collect();
        assert_eq!(aliases, ["a2", "a0"], "newest first by default");
        let (_, v) = app.get("/v2/alerts?query=acknowledged:false AND (tag:db OR message:\"svc 3\")&sort=tinyId&order=asc").await;
        let aliases: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alias"].as_str().unwrap())
            .collect();
        assert_eq!(aliases, ["a2", "a3", "a4", "a6"]);

        let (_, page) = app
            .get("/v2/alerts?limit=3&offset=3&sort=tinyId&order=asc")
            .await;
        let aliases: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alias"].as_str().unwrap())
            .collect();
        assert_eq!(aliases, ["a3", "a4", "a5"]);
        let next = page["paging"]["next"].as_str().unwrap();
        assert!(
            next.starts_with("http://") && next.contains("offset=6") && next.contains("limit=3"),
            "{next}"
        );
        assert!(page["paging"]["last"]
            .as_str()
            .unwrap()
            .contains("offset=6"));
        assert!(page["paging"]["first"]
            .as_str()
            .unwrap()
            .contains("offset=0"));
        // Following the absolute link works.
        let resp: Value = app
            .http
            .get(next)
            .header("Authorization", format!("GenieKey {ADMIN_KEY}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(resp["data"].as_array().unwrap().len(), 1);
        assert!(resp["paging"].get("next").is_none());

        let (_, c) = app.get("/v2/alerts/count?query=tag:web").await;
        assert_eq!(c["data"]["count"], 3);
        let (s, e) = app.get("/v2/alerts?query=status:maybe").await;
        assert_eq!(s, 422);
        assert!(
            e["errors"]["query"].as_str().unwrap().contains("status"),
            "{e}"
        );
        let (s, _) = app.get("/v2/alerts?limit=101").await;
        assert_eq!(s, 422);
    });
}

#[tokio::test]
async fn team_keys_act_for_their_team_and_see_only_what_is_visible_to_it() {
    each_backend!(|app| {
        let own = app
            .create(SRE_KEY, json!({"message": "sre thing", "alias": "s1"}))
            .await;
        let a = app.alert(&own).await;
        assert_eq!(a["priority"], "P2", "integration default priority");
        assert_eq!(a["tags"], json!(["prod"]), "integration default tags");
        assert_eq!(a["responders"][0]["type"], "team");
        assert_eq!(a["integration"]["name"], "prom");

        app.create(WEB_KEY, json!({"message": "web only", "alias": "w1"}))
            .await;
        app.create(
            WEB_KEY,
            json!({"message": "shared", "alias": "w2", "visibleTo": [{"name": "sre"}]}),
        )
        .await;
        let (_, v) = app
            .call("GET", "/v2/alerts?order=asc", Some(SRE_KEY), None)
            .await;
        let aliases: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alias"].as_str().unwrap())
            .collect();
        assert_eq!(aliases, ["s1", "w2"]);
        let (s, _) = app
            .call(
                "GET",
                "/v2/alerts/w1?identifierType=alias",
                Some(SRE_KEY),
                None,
            )
            .await;
        assert_eq!(s, 404);
        let (_, c) = app
            .call("GET", "/v2/alerts/count", Some(SRE_KEY), None)
            .await;
        assert_eq!(c["data"]["count"], 2);
        // A global key sees everything.
        let (_, c) = app.get("/v2/alerts/count").await;
        assert_eq!(c["data"]["count"], 3);
        // Closing another team's alert fails quietly (202, request status says not found).
        let (s, v) = app
            .call(
                "POST",
                "/v2/alerts/w1/close?identifierType=alias",
                Some(SRE_KEY),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 202);
        let (_, r) = app
            .get(&format!(
                "/v2/alerts/requests/{}",
                v["requestId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(r["data"]["isSuccess"], false);
        let (_, w1) = app.get("/v2/alerts/w1?identifierType=alias").await;
        assert_eq!(w1["data"]["status"], "open");
    });
}

#[tokio::test]
async fn over_long_fields_are_truncated_where_opsgenie_truncates() {
    each_backend!(|app| {
        let id = app
            .create(ADMIN_KEY, json!({"message": "m".repeat(500), "alias": "a".repeat(600), "description": "d".repeat(20_000), "entity": "e".repeat(600), "source": "s".repeat(200), "tags": ["t".repeat(80)]}))
            .await;
        let a = app.alert(&id).await;
        let len = |k: &str| a[k].as_str().unwrap().chars().count();
        assert_eq!(
            (
                len("message"),
                len("alias"),
                len("description"),
                len("entity"),
                len("source")
            ),
            (130, 512, 15_000, 512, 100)
        );
        assert_eq!(a["tags"][0].as_str().unwrap().len(), 50);
    });
}

#[tokio::test]
async fn the_opsgenie_routes_can_live_under_a_prefix() {
    for backend in klaxon_store::testing::backends() {
        let app = TestApp::spawn_with(backend, &config("opsgenie_prefix: /og"), None).await;
        assert!(app.base.ends_with("/og"));
        let id = app
            .create(ADMIN_KEY, json!({"message": "via prefix"}))
            .await;
        assert_eq!(app.alert(&id).await["message"], "via prefix");
        let resp = app
            .http
            .post(format!("{}/v2/alerts", app.root()))
            .header("Authorization", format!("GenieKey {ADMIN_KEY}"))
            .json(&json!({"message": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status().as_u16(),
            404,
            "without the prefix the route does not exist"
        );
        let (_, v) = app.get("/v2/alerts?limit=1").await;
        assert!(v["paging"]["first"]
            .as_str()
            .unwrap()
            .contains("/og/v2/alerts?"));
        app.stop().await;
    }
}

#[tokio::test]
async fn trailing_slashes_are_accepted() {
    each_backend!(|app| {
        let (s, v) = app
            .post("/v2/alerts/", json!({"message": "slash", "alias": "s"}))
            .await;
        assert_eq!(s, 202, "{v}");
        let (s, v) = app.get("/v2/alerts/s/?identifierType=alias").await;
        assert_eq!((s, v["data"]["message"].clone()), (200, json!("slash")));
        let (s, v) = app.get("/v2/alerts/count/").await;
        assert_eq!((s, v["data"]["count"].clone()), (200, json!(1)));
    });
}
