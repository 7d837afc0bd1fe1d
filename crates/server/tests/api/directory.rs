//! The directory APIs: `/v2/users` (+ contacts, notification rules), `/v2/teams` (+ members,
//! routing rules), `/v2/escalations`; bad input, conflicts, scopes, and config-managed objects.

use crate::each_backend;
use crate::helpers::*;
use serde_json::{json, Value};

async fn send(app: &TestApp, method: &str, path: &str, body: Value) -> (u16, Value) {
    app.call(method, path, Some(ADMIN_KEY), Some(body)).await
}

#[tokio::test]
async fn users_contacts_and_notification_rules_round_trip() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/users",
                json!({"username": "carol@example.com", "fullName": "Carol", "role": {"name": "user"}, "timeZone": "Europe/Berlin"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let id = v["data"]["id"].as_str().unwrap().to_string();
        assert_eq!(v["data"]["username"], "carol@example.com");
        assert!(v["requestId"].is_string() && v["took"].is_number());

        let (s, v) = app
            .post(
                "/v2/users",
                json!({"username": "CAROL@example.com", "fullName": "Again"}),
            )
            .await;
        assert_eq!(s, 409, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("already exists"),
            "{v}"
        );
        let (s, v) = app
            .post("/v2/users", json!({"username": "not-an-email"}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["errors"]["username"], "should be an e-mail address");
        let (s, v) = app
            .call(
                "POST",
                "/v2/users",
                Some(SRE_KEY),
                Some(json!({"username": "x@example.com"})),
            )
            .await;
        assert_eq!(s, 403, "{v}");

        let (s, v) = app.get("/v2/users/carol@example.com").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"]["id"], id.as_str());
        assert_eq!(v["data"]["timeZone"], "Europe/Berlin");
        assert_eq!(v["data"]["role"]["name"], "user");
        let (s, v) = app.get("/v2/users?limit=2&offset=1").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["totalCount"], 3);
        let names: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bob@example.com", "carol@example.com"]);
        assert!(v["paging"]["first"]
            .as_str()
            .unwrap()
            .contains("/v2/users?limit=2&offset=0"));

        // Contacts: checked addresses, normalised numbers, 422s that say what is wrong.
        let base = format!("/v2/users/{id}/contacts");
        let (s, v) = app
            .post(&base, json!({"method": "sms", "to": "+49 170 123-4567"}))
            .await;
        assert_eq!(s, 201, "{v}");
        let sms = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app
            .post(&base, json!({"method": "mobile", "to": "carol-pager"}))
            .await;
        assert_eq!(s, 201, "{v}");
        let push = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app
            .post(&base, json!({"method": "sms", "to": "0170 1234567"}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(v["errors"]["to"].as_str().unwrap().contains("E.164"), "{v}");
        let (s, v) = app.post(&base, json!({"method": "fax", "to": "1"})).await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["method"]
                .as_str()
                .unwrap()
                .contains("`fax` is not a contact method"),
            "{v}"
        );
        let (s, v) = app
            .post(&base, json!({"method": "sms", "to": "+491701234567"}))
            .await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = app.get(&format!("{base}/{sms}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["data"],
            json!({"id": sms, "method": "sms", "to": "+491701234567", "status": {"enabled": true}})
        );

        // Notification rules name contacts the OpsGenie way ({method, to}).
        let rules = "/v2/users/carol@example.com/notification-rules".to_string();
        let (s, v) = app
            .post(
                &rules,
                json!({"name": "urgent", "actionType": "create-alert",
                       "criteria": {"type": "match-any-condition", "conditions": [
                           {"field": "priority", "operation": "equals", "expectedValue": "P1"},
                           {"field": "priority", "operation": "equals", "expectedValue": "P2"}]},
                       "steps": [
                           {"contact": {"method": "mobile", "to": "carol-pager"}, "sendAfter": {"timeAmount": 0}, "enabled": true},
                           {"contact": {"method": "sms", "to": "+49 170 1234567"}, "sendAfter": {"timeAmount": 1, "timeUnit": "minutes"}}],
                       "repeat": {"loopAfter": 5, "enabled": true}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let rule = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app.get(&format!("{rules}/{rule}")).await;
        assert_eq!(s, 200, "{v}");
        let d = &v["data"];
        assert_eq!(d["name"], "urgent");
        assert_eq!(d["criteria"]["conditions"].as_array().unwrap().len(), 2);
        assert_eq!(
            d["steps"][1]["contact"],
            json!({"id": sms, "method": "sms", "to": "+491701234567"})
        );
        assert_eq!(
            d["steps"][1]["sendAfter"],
            json!({"timeAmount": 1, "timeUnit": "minutes"})
        );
        assert_eq!(d["repeat"], json!({"loopAfter": 5, "enabled": true}));

        let (s, v) = app
            .post(&rules, json!({"name": "bad", "steps": [{"contact": {"method": "voice", "to": "+491701234567"}}]}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["steps[0].contact"]
                .as_str()
                .unwrap()
                .contains("no voice contact"),
            "{v}"
        );
        let (s, v) = app
            .post(
                &rules,
                json!({"name": "URGENT", "steps": [{"contact": {"id": push}}]}),
            )
            .await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = app
            .post(&rules, json!({"name": "x", "actionType": "acknowledged-alert", "steps": [{"contact": {"id": push}}]}))
            .await;
        assert_eq!(s, 422, "{v}");

        // A contact in use by a rule cannot be deleted; disabling works.
        let (s, v) = app
            .call("DELETE", &format!("{base}/{sms}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 422, "{v}");
        let (s, v) = app
            .call(
                "POST",
                &format!("{base}/{sms}/disable"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let (_, v) = app.get(&base).await;
        assert_eq!(v["data"][0]["status"]["enabled"], false, "{v}");
        let (s, _) = app
            .call("DELETE", &format!("{rules}/{rule}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 200);
        let (s, v) = app
            .call("DELETE", &format!("{base}/{sms}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"], "Deleted");

        let (s, v) = send(
            &app,
            "PATCH",
            &format!("/v2/users/{id}"),
            json!({"fullName": "Carol C."}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            app.get(&format!("/v2/users/{id}")).await.1["data"]["fullName"],
            "Carol C."
        );
        let (s, _) = app
            .call("DELETE", &format!("/v2/users/{id}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(app.get(&format!("/v2/users/{id}")).await.0, 404);
    });
}

#[tokio::test]
async fn teams_escalations_and_routing_rules() {
    each_backend!(|app| {
        let (s, v) = app
            .post(
                "/v2/teams",
                json!({"name": "dba", "description": "databases",
                       "members": [{"user": {"username": "alice@example.com"}, "role": "admin"}]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let team = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app.post("/v2/teams", json!({"name": "DBA"})).await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = app
            .post(
                "/v2/teams",
                json!({"name": "x", "members": [{"user": {"username": "ghost@example.com"}}]}),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(
            app.get("/v2/teams/x?identifierType=name").await.0,
            404,
            "nothing half-written"
        );

        // As OpsGenie: the team comes with a schedule, an escalation and a default rule.
        let (s, v) = app
            .get("/v2/escalations/dba_escalation?identifierType=name")
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"]["rules"][0]["recipient"]["name"], "dba_schedule");
        assert_eq!(v["data"]["ownerTeam"]["name"], "dba");
        let (s, v) = app
            .get("/v2/teams/dba/routing-rules?teamIdentifierType=name")
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"][0]["isDefault"], true);
        assert_eq!(
            v["data"][0]["criteria"],
            json!({"type": "match-all", "conditions": []})
        );
        assert_eq!(v["data"][0]["notify"]["name"], "dba_escalation");
        let default_rule = v["data"][0]["id"].as_str().unwrap().to_string();

        let (s, v) = app
            .post(
                &format!("/v2/teams/{team}/members"),
                json!({"user": {"username": "bob@example.com"}, "role": "user"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let (_, v) = app.get("/v2/teams/dba?identifierType=name").await;
        assert_eq!(
            v["data"]["members"],
            json!([
                {"user": {"id": v["data"]["members"][0]["user"]["id"], "username": "alice@example.com"}, "role": "admin"},
                {"user": {"id": v["data"]["members"][1]["user"]["id"], "username": "bob@example.com"}, "role": "user"}
            ])
        );

        // Escalations: recipients by name or username, stored by id, rendered with both.
        let (s, v) = app
            .post(
                "/v2/escalations",
                json!({"name": "dba-p1", "ownerTeam": {"name": "dba"},
                       "rules": [
                         {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0},
                          "recipient": {"type": "schedule", "name": "dba_schedule"}},
                         {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 5},
                          "recipient": {"type": "user", "username": "bob@example.com"}},
                         {"condition": "if-not-closed", "notifyType": "all", "delay": {"timeAmount": 30, "timeUnit": "seconds"},
                          "recipient": {"type": "team", "name": "dba"}}],
                       "repeat": {"waitInterval": 10, "count": 2, "resetRecipientStates": false, "closeAlertAfterAll": true}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let esc = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app.get(&format!("/v2/escalations/{esc}")).await;
        assert_eq!(s, 200, "{v}");
        let d = &v["data"];
        assert_eq!(d["rules"][1]["recipient"]["username"], "bob@example.com");
        assert!(d["rules"][1]["recipient"]["id"].as_str().unwrap().len() > 10);
        assert_eq!(
            d["rules"][2]["delay"],
            json!({"timeAmount": 30, "timeUnit": "seconds"})
        );
        assert_eq!(
            d["repeat"],
            json!({"waitInterval": 10, "count": 2, "resetRecipientStates": false, "closeAlertAfterAll": true})
        );
        let (s, v) = app
            .post("/v2/escalations", json!({"name": "DBA-P1", "rules": []}))
            .await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = app
            .post("/v2/escalations", json!({"name": "bad", "rules": [{"notifyType": "next", "recipient": {"type": "user", "username": "bob@example.com"}}]}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["rules"]
                .as_str()
                .unwrap()
                .contains("does not apply to a user"),
            "{v}"
        );
        let (s, v) = app
            .post("/v2/escalations", json!({"name": "ghost", "rules": [{"recipient": {"type": "user", "username": "ghost@example.com"}}]}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["rules"]
                .as_str()
                .unwrap()
                .contains("ghost@example.com"),
            "{v}"
        );
        // A team key may not change another team's escalation.
        let (s, _) = app
            .call(
                "PATCH",
                &format!("/v2/escalations/{esc}"),
                Some(SRE_KEY),
                Some(json!({"description": "x"})),
            )
            .await;
        assert_eq!(s, 403);

        // Routing rules: in order, before the default rule; bad criteria are 422s.
        let routing = format!("/v2/teams/{team}/routing-rules");
        let (s, v) = app
            .post(
                &routing,
                json!({"name": "P1", "order": 0, "timezone": "Europe/Berlin",
                       "criteria": {"type": "match-all-conditions", "conditions": [
                           {"field": "priority", "operation": "equals", "expectedValue": "P1"}]},
                       "timeRestriction": {"type": "time-of-day", "restriction": {"startHour": 9, "startMin": 0, "endHour": 17, "endMin": 0}},
                       "notify": {"type": "escalation", "name": "dba-p1"}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let p1 = v["data"]["id"].as_str().unwrap().to_string();
        let (s, v) = app
            .post(&routing, json!({"name": "nights", "criteria": {"type": "match-all"}, "notify": {"type": "none"}}))
            .await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = app
            .post(&routing, json!({"criteria": {"type": "match-any-condition", "conditions": [{"field": "message", "operation": "matches", "expectedValue": "(("}]}, "notify": {"type": "none"}}))
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"]["criteria"]
                .as_str()
                .unwrap()
                .contains("regular expression"),
            "{v}"
        );
        let (s, v) = app
            .post(
                &routing,
                json!({"notify": {"type": "schedule", "name": "nope"}}),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        let (_, v) = app.get(&routing).await;
        let names: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["P1", "nights", "Default Rule"]);
        assert_eq!(v["data"][0]["timezone"], "Europe/Berlin");
        assert_eq!(
            v["data"][0]["notify"],
            json!({"type": "escalation", "id": esc, "name": "dba-p1"})
        );
        assert_eq!(
            v["data"][0]["timeRestriction"]["restriction"]["startHour"],
            9
        );
        let (s, _) = send(
            &app,
            "POST",
            &format!("{routing}/{p1}/change-order"),
            json!({"order": 1}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, v) = app.get(&routing).await;
        assert_eq!(v["data"][1]["id"], p1.as_str());
        let (s, v) = app
            .call(
                "DELETE",
                &format!("{routing}/{default_rule}"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 409, "{v}");
        let (s, _) = app
            .call("DELETE", &format!("{routing}/{p1}"), Some(ADMIN_KEY), None)
            .await;
        assert_eq!(s, 200);

        let (s, v) = send(
            &app,
            "PATCH",
            &format!("/v2/teams/{team}"),
            json!({"description": "DBs"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"], json!({"id": team, "name": "dba"}));
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/v2/teams/{team}/members/bob@example.com"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let (s, _) = app
            .call(
                "DELETE",
                &format!("/v2/teams/{team}"),
                Some(ADMIN_KEY),
                None,
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(app.get(&format!("/v2/teams/{team}")).await.0, 404);
    });
}

const DIRECTORY: &str = r#"
escalations:
  - name: sre_escalation
    team: sre
    rules:
      - {delay: 0, recipient: {type: user, name: alice@example.com}}
      - {delay: 5m, notify_type: all, recipient: {type: team, name: sre}}
"#;

#[tokio::test]
async fn config_declared_directory_is_applied_and_read_only() {
    for backend in klaxon_store::testing::backends() {
        let text = config(DIRECTORY).replace(
            "  - {username: bob@example.com, full_name: Bob}",
            "  - username: bob@example.com\n    contacts: [{id: push, method: mobile, to: bob}]\n    notification_rules: [{name: all, steps: [{contact: push}]}]",
        );
        let app = TestApp::spawn_with(backend, &text, None).await;
        let (s, v) = app
            .get("/v2/escalations/sre_escalation?identifierType=name")
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["data"]["managed"], true);
        assert_eq!(
            v["data"]["rules"][0]["recipient"]["username"],
            "alice@example.com"
        );
        assert_eq!(
            v["data"]["rules"][1]["delay"],
            json!({"timeAmount": 5, "timeUnit": "minutes"})
        );
        let (s, v) = send(
            &app,
            "PATCH",
            "/v2/escalations/sre_escalation?identifierType=name",
            json!({"description": "x"}),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("config file"),
            "{v}"
        );

        let (_, v) = app.get("/v2/users/bob@example.com/contacts").await;
        assert_eq!(
            v["data"],
            json!([{"id": "push", "method": "mobile", "to": "bob", "status": {"enabled": true}}])
        );
        let (s, _) = app
            .post(
                "/v2/users/bob@example.com/contacts",
                json!({"method": "email", "to": "b@example.com"}),
            )
            .await;
        assert_eq!(s, 403);
        let (_, v) = app
            .get("/v2/users/bob@example.com/notification-rules")
            .await;
        assert_eq!(v["data"][0]["name"], "all");

        // The config team's default rule notifies the conventional `<team>_escalation`.
        let (_, v) = app
            .get("/v2/teams/sre/routing-rules?teamIdentifierType=name")
            .await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["data"][0]["notify"]["name"], "sre_escalation");
        let (s, _) = app
            .post(
                "/v2/teams/sre/routing-rules?teamIdentifierType=name",
                json!({"notify": {"type": "none"}}),
            )
            .await;
        assert_eq!(s, 403);
        // A restart applies the same file again without duplicating anything.
        let db = app.database.clone();
        app.stop().await;
        let app = TestApp::spawn_with(backend, &text, Some(db)).await;
        let (_, v) = app.get("/v2/escalations").await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
        let (_, v) = app
            .get("/v2/users/bob@example.com/notification-rules")
            .await;
        assert_eq!(v["data"].as_array().unwrap().len(), 1, "{v}");
        app.stop().await;
    }
}
