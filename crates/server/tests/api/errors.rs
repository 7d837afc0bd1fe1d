//! Bad input gets a clear error in OpsGenie's shape, and nothing is written.

use crate::each_backend;
use crate::helpers::*;
use serde_json::json;

async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Vec<u8>,
) -> (u16, serde_json::Value, Option<String>) {
    let mut req = app
        .http
        .request(method.parse().unwrap(), format!("{}{path}", app.base))
        .body(body);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let rid = resp
        .headers()
        .get("x-request-id")
        .map(|h| h.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    assert!(
        v["requestId"].is_string() && v["took"].is_number(),
        "envelope missing in {v}"
    );
    (status, v, rid)
}

async fn assert_nothing_written(app: &TestApp) {
    let (_, c) = app.get("/v2/alerts/count").await;
    assert_eq!(c["data"]["count"], 0, "a refused request must not write");
}

#[tokio::test]
async fn unknown_priority_is_422_with_the_exact_opsgenie_body() {
    each_backend!(|app| {
        let (s, v) = app
            .post("/v2/alerts", json!({"message": "x", "priority": "P9"}))
            .await;
        assert_eq!(s, 422);
        let mut v = v;
        let obj = v.as_object_mut().unwrap();
        assert!(obj.remove("took").unwrap().is_number());
        assert!(obj.remove("requestId").unwrap().is_string());
        assert_eq!(
            v,
            json!({"message": "Request body is not processable. Please check the errors.", "errors": {"priority": "should be one of [ P1, P2, P3, P4, P5 ]"}})
        );
        assert_nothing_written(&app).await;
    });
}

#[tokio::test]
async fn authentication_failures_are_401_json() {
    each_backend!(|app| {
        for auth in [
            None,
            Some("GenieKey wrong-key-1234"),
            Some("Basic !!!"),
            Some("GenieKey "),
        ] {
            let (s, v, rid) = raw(
                &app,
                "POST",
                "/v2/alerts",
                auth,
                br#"{"message":"x"}"#.to_vec(),
            )
            .await;
            assert_eq!(s, 401, "{auth:?}");
            assert!(v["message"].as_str().unwrap().contains("authenticate"));
            assert_eq!(
                rid.as_deref(),
                v["requestId"].as_str(),
                "X-Request-Id matches the body"
            );
        }
        // The other accepted forms of the key.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        for auth in [
            format!("Basic {}", b64.encode(ADMIN_KEY)),
            format!("Basic {}", b64.encode(format!(":{ADMIN_KEY}"))),
            format!("GenieKey {ADMIN_KEY}"),
        ] {
            let (s, _, _) = raw(&app, "GET", "/v2/alerts/count", Some(&auth), vec![]).await;
            assert_eq!(s, 200, "{auth}");
        }
        let (s, _, _) = raw(
            &app,
            "GET",
            &format!("/v2/alerts/count?apiKey={ADMIN_KEY}"),
            None,
            vec![],
        )
        .await;
        assert_eq!(s, 200);
        assert_nothing_written(&app).await;
    });
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_refused_per_field() {
    each_backend!(|app| {
        let key = format!("GenieKey {ADMIN_KEY}");
        let (s, v, _) = raw(
            &app,
            "POST",
            "/v2/alerts",
            Some(&key),
            b"{\"message\": ".to_vec(),
        )
        .await;
        assert_eq!(s, 400);
        assert!(v["message"].as_str().unwrap().contains("not valid JSON"));
        let (s, _, _) = raw(&app, "POST", "/v2/alerts", Some(&key), b"[1,2]".to_vec()).await;
        assert_eq!(s, 400);
        let (s, v) = app.post("/v2/alerts", json!({"message": 12, "tags": "db", "details": ["x"], "responders": [{"type": "robot", "name": "x"}]})).await;
        assert_eq!(s, 422);
        let errs = v["errors"].as_object().unwrap();
        for field in ["message", "tags", "details", "responders"] {
            assert!(errs.contains_key(field), "{field} missing in {v}");
        }
        let (s, v) = app.post("/v2/alerts", json!({"alias": "no message"})).await;
        assert_eq!(s, 422);
        assert_eq!(v["errors"]["message"], "Message can not be empty.");
        let (s, v) = app
            .post(
                "/v2/alerts",
                json!({"message": "x", "tags": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()}),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        let (s, _) = app
            .post(
                "/v2/alerts",
                json!({"message": "x", "details": {"k": "v".repeat(8_001)}}),
            )
            .await;
        assert_eq!(s, 422);
        let (s, v) = app
            .post("/v2/alerts/x/snooze", json!({"endTime": "tomorrow"}))
            .await;
        assert_eq!(s, 422);
        assert!(v["errors"]["endTime"].is_string());
        let (s, _) = app.get("/v2/alerts/x?identifierType=uuid").await;
        assert_eq!(s, 422);
        assert_nothing_written(&app).await;
    });
}

#[tokio::test]
async fn oversized_bodies_unknown_routes_and_wrong_methods_answer_json() {
    each_backend!(|app| {
        let key = format!("GenieKey {ADMIN_KEY}");
        let big = format!(
            "{{\"message\":\"x\",\"description\":\"{}\"}}",
            "d".repeat(1_100_000)
        );
        let (s, v, _) = raw(&app, "POST", "/v2/alerts", Some(&key), big.into_bytes()).await;
        assert_eq!(s, 413);
        assert!(v["message"].as_str().unwrap().contains("too large"));
        let (s, v, _) = raw(&app, "GET", "/v2/nothing-here", Some(&key), vec![]).await;
        assert_eq!(s, 404);
        assert!(v["message"].is_string());
        let (s, _, _) = raw(&app, "PATCH", "/v2/alerts", Some(&key), vec![]).await;
        assert_eq!(s, 405);
        assert_nothing_written(&app).await;
    });
}
