//! The escalation and notification engine on the virtual clock (issue 4, done-when 1 and 5):
//! real workers, real HTTP deliveries to a receiver in this process, time driven by the test.

use crate::helpers::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use klaxon_core::escalation::{
    Condition, EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient, Repeat,
};
use klaxon_core::notification::{
    ContactKind, ContactMethod, ContactSpec, Criteria, NotificationRule, Step,
};
use klaxon_store::{EscalationFields, Store};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    /// While set, every request gets 503.
    pub down: Arc<AtomicBool>,
    pub refused: Arc<Mutex<Vec<String>>>,
}

async fn record(
    State(r): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    if path.starts_with("gone") {
        return StatusCode::GONE;
    }
    if r.down.load(Ordering::SeqCst) {
        r.refused.lock().unwrap().push(path);
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.hits.lock().unwrap().push(Hit {
        path,
        headers,
        body,
    });
    StatusCode::OK
}

/// A local HTTP server that records every POST (webhooks, Twilio, ntfy alike).
pub async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut r = Receiver {
        url: format!("http://{}", listener.local_addr().unwrap()),
        ..Default::default()
    };
    r.url = r.url.clone();
    let app = Router::new()
        .route("/{*path}", post(record))
        .with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    r
}

impl Receiver {
    pub fn paths(&self) -> Vec<String> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.path.clone())
            .collect()
    }

    /// Waits (real time, at most 10 s) until `n` requests arrived; returns their paths.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            if self.hits.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.paths()
    }

    /// Lets the engine run a moment and returns what arrived: for "nothing more came".
    pub async fn settle(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.paths()
    }
}

pub fn engine_config(hook: &str) -> String {
    format!(
        r#"
users:
  - {{username: alice@example.com, full_name: Alice, role: admin}}
  - {{username: bob@example.com, full_name: Bob}}
  - {{username: carol@example.com, full_name: Carol}}
teams:
  - {{name: sre, members: [alice@example.com, bob@example.com, carol@example.com]}}
integrations:
  - {{name: global, type: api, api_key: {ADMIN_KEY}}}
schedules:
  - name: primary
    rotations:
      - {{name: r, type: weekly, start: 2025-12-01 00:00, participants: [alice@example.com]}}
  - name: backup
    rotations:
      - {{name: r, type: weekly, start: 2025-12-01 00:00, participants: [bob@example.com]}}
notify:
  twilio: {{base_url: "{hook}/twilio", account_sid: AC123, auth_token: tok, from: "+15550001111"}}
  ntfy: {{base_url: "{hook}/ntfy"}}
  webhook_secret: test-secret
  retry: {{max_attempts: 4, max_backoff: 10s}}
"#
    )
}

fn store(app: &TestApp) -> Store {
    app.app.as_ref().unwrap().state.store.clone()
}

fn contact(id: &str, kind: ContactKind, to: &str) -> ContactMethod {
    ContactMethod::new(ContactSpec {
        id: id.into(),
        kind,
        to: to.into(),
        enabled: true,
    })
    .unwrap()
}

async fn webhooks(app: &TestApp, hook: &str) {
    let s = store(app);
    for u in ["alice", "bob", "carol"] {
        s.create_contact_method(
            &format!("{u}@example.com"),
            &contact("hook", ContactKind::Webhook, &format!("{hook}/{u}")),
            T0,
        )
        .await
        .unwrap()
        .expect("user exists");
    }
}

fn rule(delay: &str, notify_type: NotifyType, recipient: Recipient) -> EscalationRule {
    EscalationRule {
        condition: Condition::IfNotAcked,
        notify_type,
        delay: delay.parse().unwrap(),
        recipient,
    }
}

async fn policy(app: &TestApp, name: &str, rules: Vec<EscalationRule>, repeat: Option<Repeat>) {
    let policy = EscalationPolicy::new(EscalationSpec { rules, repeat }).unwrap();
    store(app)
        .create_escalation(
            &EscalationFields {
                name: name.into(),
                description: String::new(),
                team: Some("sre".into()),
                policy,
            },
            T0,
        )
        .await
        .unwrap();
}

async fn alert(app: &TestApp, responders: Value) -> String {
    let (s, v) = app
        .post(
            "/v2/alerts",
            json!({"message": "db down", "alias": format!("a-{}", uuid::Uuid::new_v4()), "priority": "P1", "responders": responders}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let rid = v["requestId"].as_str().unwrap();
    let (_, r) = app.get(&format!("/v2/alerts/requests/{rid}")).await;
    r["data"]["alertId"].as_str().unwrap().to_string()
}

const MIN: u64 = 60_000;

async fn at_minute(app: &TestApp, m: u64) {
    move_clock(app, T0 + (m * MIN) as i64).await;
}

/// Moves the test clock once every send in flight has its outcome recorded. A jump past the
/// outbox's claim deadline (30 s) while an outcome is still on its way would otherwise let the
/// outbox take the delivery for an interrupted one and send it again (with the same key), which
/// no real clock does in the milliseconds the finisher needs.
async fn move_clock(app: &TestApp, to: i64) {
    for _ in 0..200 {
        let counts = store(app).delivery_counts().await.unwrap();
        if !counts.iter().any(|(state, n)| state == "sending" && *n > 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.clock.set(to);
}

async fn logs(app: &TestApp, id: &str) -> Vec<String> {
    let (_, v) = app.get(&format!("/v2/alerts/{id}/logs?limit=100")).await;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["log"].as_str().unwrap().to_string())
        .collect()
}

fn p1_policy() -> Vec<EscalationRule> {
    vec![
        rule("0", NotifyType::Default, Recipient::schedule("primary")),
        rule("5m", NotifyType::Default, Recipient::schedule("backup")),
        rule("10m", NotifyType::All, Recipient::team("sre")),
    ]
}

#[tokio::test]
async fn escalates_primary_then_backup_then_team_and_an_ack_stops_it() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        webhooks(&app, &hook.url).await;
        policy(&app, "sre-p1", p1_policy(), None).await;

        // Not acknowledged: primary at 0, backup at 5, the whole team at 10.
        let id = alert(&app, json!([{"type": "escalation", "name": "sre-p1"}])).await;
        assert_eq!(hook.wait_for(1).await, ["alice"], "{backend:?}");
        at_minute(&app, 4).await;
        assert_eq!(hook.settle().await, ["alice"]);
        at_minute(&app, 5).await;
        assert_eq!(hook.wait_for(2).await, ["alice", "bob"]);
        at_minute(&app, 10).await;
        let mut paths = hook.wait_for(5).await;
        paths[2..].sort();
        assert_eq!(paths, ["alice", "bob", "alice", "bob", "carol"]);
        let l = logs(&app, &id).await;
        assert!(
            l.iter()
                .any(|l| l.contains("Escalation sre-p1: notifying alice@example.com")),
            "{l:?}"
        );

        // Acknowledged at 7: nothing after it.
        hook.hits.lock().unwrap().clear();
        move_clock(&app, T0).await;
        let base = T0 + 60 * MIN as i64;
        move_clock(&app, base).await;
        let id2 = alert(&app, json!([{"type": "escalation", "name": "sre-p1"}])).await;
        assert_eq!(hook.wait_for(1).await, ["alice"]);
        move_clock(&app, base + 5 * MIN as i64).await;
        assert_eq!(hook.wait_for(2).await, ["alice", "bob"]);
        move_clock(&app, base + 7 * MIN as i64).await;
        let (s, _) = app
            .post(
                &format!("/v2/alerts/{id2}/acknowledge"),
                json!({"user": "bob@example.com"}),
            )
            .await;
        assert_eq!(s, 202);
        move_clock(&app, base + 30 * MIN as i64).await;
        assert_eq!(
            hook.settle().await,
            ["alice", "bob"],
            "{backend:?}: nothing after the ack"
        );

        // Each delivery carries its idempotency key and a valid signature.
        let h = hook.hits.lock().unwrap()[0].clone();
        let key = h.headers["idempotency-key"].to_str().unwrap().to_string();
        assert!(key.starts_with(&id2), "{key}");
        let sig = h.headers["x-klaxon-signature"].to_str().unwrap();
        assert_eq!(
            sig,
            klaxon_server::engine::links::webhook_signature("test-secret", h.body.as_bytes())
        );
        let body: Value = serde_json::from_str(&h.body).unwrap();
        assert_eq!(body["alert"]["id"], id2);
        assert!(body["links"]["acknowledge"]
            .as_str()
            .unwrap()
            .contains("/act/"));

        // Recipients show who was paged and how.
        let (_, r) = app.get(&format!("/v2/alerts/{id2}/recipients")).await;
        let names: Vec<&str> = r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["user"]["username"].as_str().unwrap_or(""))
            .collect();
        assert!(
            names.contains(&"alice@example.com") && names.contains(&"bob@example.com"),
            "{r}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn repeats_and_closes_after_all_as_opsgenie_documents() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        webhooks(&app, &hook.url).await;
        // alice at 0; repeat twice, 2 minutes after the cycle's last rule; then close.
        policy(
            &app,
            "loop",
            vec![rule(
                "0",
                NotifyType::Default,
                Recipient::user("alice@example.com"),
            )],
            Some(Repeat {
                wait_interval: "2m".parse().unwrap(),
                count: 2,
                reset_recipient_states: false,
                close_alert_after_all: true,
            }),
        )
        .await;
        let id = alert(&app, json!([{"type": "escalation", "name": "loop"}])).await;
        assert_eq!(hook.wait_for(1).await, ["alice"]);
        at_minute(&app, 2).await;
        assert_eq!(hook.wait_for(2).await.len(), 2, "{backend:?}: first repeat");
        at_minute(&app, 4).await;
        assert_eq!(hook.wait_for(3).await.len(), 3, "second repeat");
        at_minute(&app, 6).await;
        let mut closed = false;
        for _ in 0..100 {
            let (_, v) = app.get(&format!("/v2/alerts/{id}")).await;
            if v["data"]["status"] == "closed" {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            closed,
            "{backend:?}: closeAlertAfterAll closes the alert one wait after the last repeat"
        );
        assert_eq!(hook.settle().await.len(), 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_users_rule_fires_push_then_sms_then_voice_and_stops_on_ack() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        let s = store(&app);
        let carol = "carol@example.com";
        s.create_contact_method(
            carol,
            &contact("push", ContactKind::Mobile, "carol-phone"),
            T0,
        )
        .await
        .unwrap();
        s.create_contact_method(
            carol,
            &contact("sms", ContactKind::Sms, "+491701234567"),
            T0,
        )
        .await
        .unwrap();
        s.create_contact_method(
            carol,
            &contact("call", ContactKind::Voice, "+491701234567"),
            T0,
        )
        .await
        .unwrap();
        let step = |after: &str, c: &str| Step {
            send_after: after.parse().unwrap(),
            contact: c.into(),
            enabled: true,
        };
        s.create_notification_rule(
            carol,
            &NotificationRule {
                name: "wake me".into(),
                criteria: Criteria::default(),
                steps: vec![step("0", "push"), step("1m", "sms"), step("3m", "call")],
                loop_after: None,
                enabled: true,
            },
            None,
            T0,
        )
        .await
        .unwrap();

        // Fires exactly those, at their times.
        let id = alert(&app, json!([{"type": "user", "username": carol}])).await;
        assert_eq!(hook.wait_for(1).await, ["ntfy"], "{backend:?}");
        let push: Value = serde_json::from_str(&hook.hits.lock().unwrap()[0].body).unwrap();
        assert_eq!(push["topic"], "carol-phone");
        assert_eq!(push["priority"], 5);
        assert_eq!(push["actions"][0]["label"], "Acknowledge");
        at_minute(&app, 1).await;
        assert_eq!(
            hook.wait_for(2).await,
            ["ntfy", "twilio/2010-04-01/Accounts/AC123/Messages.json"]
        );
        let sms = hook.hits.lock().unwrap()[1].body.clone();
        assert!(
            sms.contains("To=%2B491701234567") && sms.contains("From=%2B15550001111"),
            "{sms}"
        );
        assert!(sms.contains("ack+") || sms.contains("ack%20"), "{sms}");
        at_minute(&app, 3).await;
        let paths = hook.wait_for(3).await;
        assert_eq!(paths[2], "twilio/2010-04-01/Accounts/AC123/Calls.json");
        assert!(
            hook.hits.lock().unwrap()[2].body.contains("Url=http"),
            "voice points at Klaxon's TwiML"
        );

        // Acknowledged at 2 minutes: the voice call at 3 never comes.
        hook.hits.lock().unwrap().clear();
        let base = T0 + 60 * MIN as i64;
        move_clock(&app, base).await;
        let id2 = alert(&app, json!([{"type": "user", "username": carol}])).await;
        assert_eq!(hook.wait_for(1).await, ["ntfy"]);
        move_clock(&app, base + MIN as i64).await;
        assert_eq!(hook.wait_for(2).await.len(), 2);
        move_clock(&app, base + 2 * MIN as i64).await;
        let (st, _) = app
            .post(&format!("/v2/alerts/{id2}/acknowledge"), json!({}))
            .await;
        assert_eq!(st, 202);
        move_clock(&app, base + 10 * MIN as i64).await;
        assert_eq!(
            hook.settle().await.len(),
            2,
            "{backend:?}: no call after the ack"
        );
        let _ = id;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_page_when_it_recovers_and_the_timeline_shows_each_try() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        webhooks(&app, &hook.url).await;
        let s = store(&app);
        // bob's hook answers 410 Gone: a permanent failure, given up at once.
        s.create_contact_method(
            "bob@example.com",
            &contact(
                "gone",
                ContactKind::Webhook,
                &format!("{}/gone-bob", hook.url),
            ),
            T0,
        )
        .await
        .unwrap();
        hook.down.store(true, Ordering::SeqCst);
        let id = alert(&app, json!([{"type": "user", "username": "alice@example.com"}, {"type": "user", "username": "bob@example.com"}])).await;
        // First attempts fail (503), retried after 1 s, 2 s … on the virtual clock.
        for _ in 0..100 {
            if hook.refused.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.clock.set(T0 + 1_000);
        for _ in 0..100 {
            if hook.refused.lock().unwrap().len() >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        hook.down.store(false, Ordering::SeqCst);
        // Retries are due a few (virtual) seconds later; move time on until they ran.
        for i in 1..=40 {
            app.clock.set(T0 + 1_000 + i * 5_000);
            tokio::time::sleep(Duration::from_millis(100)).await;
            if hook.hits.lock().unwrap().len() >= 2 {
                break;
            }
        }
        let mut got = hook.wait_for(2).await;
        got.sort();
        assert_eq!(
            got,
            ["alice", "bob"],
            "{backend:?}: delivered after recovery"
        );
        let l = logs(&app, &id).await;
        let failed = l
            .iter()
            .filter(|l| {
                l.contains("webhook notification to alice@example.com")
                    && l.contains("failed (attempt")
            })
            .count();
        assert!(
            failed >= 2,
            "{backend:?}: each failed try is on the timeline: {l:?}"
        );
        assert!(
            l.iter()
                .any(|l| l.contains("Sent webhook notification to alice@example.com")),
            "{l:?}"
        );
        assert!(
            l.iter()
                .any(|l| l.contains("to bob@example.com") && l.contains("failed for good")),
            "{l:?}"
        );
        let ds = s.deliveries_of(&id).await.unwrap();
        let gone = ds.iter().find(|d| d.target.ends_with("gone-bob")).unwrap();
        assert_eq!((gone.state.as_str(), gone.attempts), ("failed", 1));
        app.stop().await;
    }
}

#[tokio::test]
async fn renotify_pages_the_responders_again_from_the_start() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        webhooks(&app, &hook.url).await;
        let id = alert(
            &app,
            json!([{"type": "user", "username": "alice@example.com"}]),
        )
        .await;
        assert_eq!(hook.wait_for(1).await, ["alice"]);
        at_minute(&app, 4).await;
        assert_eq!(hook.settle().await, ["alice"], "{backend:?}: paged once");
        // What Alertmanager's repeat_interval asks for an unacknowledged group.
        store(&app)
            .renotify(&id, T0 + 4 * MIN as i64)
            .await
            .unwrap();
        app.app.as_ref().unwrap().state.escalation_wake.notify_one();
        assert_eq!(hook.wait_for(2).await, ["alice", "alice"], "{backend:?}");
        let keys: Vec<String> = hook
            .hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| h.headers["idempotency-key"].to_str().unwrap().to_string())
            .collect();
        assert_ne!(
            keys[0], keys[1],
            "a new page, not a repeat of the old delivery"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_burst_of_pages_to_one_phone_is_throttled_to_five_per_fifteen_minutes() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        let carol = "carol@example.com";
        store(&app)
            .create_contact_method(
                carol,
                &contact("sms", ContactKind::Sms, "+491709999999"),
                T0,
            )
            .await
            .unwrap();
        // Eight alerts at once (one round of the engine, most likely): every one pages Carol,
        // who has no rules, so each sends her an SMS at once — five may go now.
        let ids = futures_util::future::join_all(
            (0..8).map(|_| alert(&app, json!([{"type": "user", "username": carol}]))),
        )
        .await;
        assert_eq!(hook.wait_for(5).await.len(), 5, "{backend:?}");
        assert_eq!(hook.settle().await.len(), 5, "{backend:?}: three held back");
        let mut held = 0;
        for id in &ids {
            held += logs(&app, id)
                .await
                .iter()
                .filter(|l| l.contains("throttled") && l.contains("T00:15:00"))
                .count();
        }
        assert_eq!(held, 3, "{backend:?}: the timeline says until when");
        // Fifteen minutes later the three go out (five fit in the new window).
        at_minute(&app, 14).await;
        assert_eq!(hook.settle().await.len(), 5, "{backend:?}");
        at_minute(&app, 15).await;
        assert_eq!(hook.wait_for(8).await.len(), 8, "{backend:?}");
        assert_eq!(hook.settle().await.len(), 8, "{backend:?}: each once");
        app.stop().await;
    }
}

/// The engine keeps users' profiles and policies between rounds (while the directory's version
/// stays the same): a contact added, a contact disabled or a policy changed through the API
/// applies to the very next page.
#[tokio::test]
async fn a_change_to_contacts_or_policies_applies_to_the_next_page() {
    for backend in klaxon_store::testing::backends() {
        let hook = receiver().await;
        let app = TestApp::spawn_with(backend, &engine_config(&hook.url), None).await;
        webhooks(&app, &hook.url).await;
        // A user managed through the API (those in the config file are read-only there).
        let (s, v) = app
            .post(
                "/v2/users",
                json!({"username": "dave@example.com", "fullName": "Dave"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let contacts = "/v2/users/dave@example.com/contacts";
        let (s, v) = app
            .post(
                contacts,
                json!({"method": "webhook", "to": format!("{}/dave", hook.url)}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let first = v["data"]["id"].as_str().unwrap().to_string();
        policy(
            &app,
            "now",
            vec![rule(
                "0",
                NotifyType::Default,
                Recipient::user("dave@example.com"),
            )],
            None,
        )
        .await;
        let via_policy = json!([{"type": "escalation", "name": "now"}]);
        alert(&app, via_policy.clone()).await;
        assert_eq!(hook.wait_for(1).await, ["dave"], "{backend:?}");

        // A second contact: the next page goes to both.
        let (s, v) = app
            .post(
                contacts,
                json!({"method": "webhook", "to": format!("{}/dave-2", hook.url)}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        alert(&app, via_policy.clone()).await;
        hook.wait_for(3).await;
        let mut got = hook.settle().await;
        got.sort();
        assert_eq!(got, ["dave", "dave", "dave-2"], "{backend:?}");

        // The first contact disabled: only the second one.
        let (s, v) = app
            .post(&format!("{contacts}/{first}/disable"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
        alert(&app, via_policy.clone()).await;
        hook.wait_for(4).await;
        assert_eq!(
            hook.settle().await[3..],
            ["dave-2"],
            "{backend:?}: the disabled contact is not used"
        );

        // The policy now pages Bob instead.
        let (s, v) = app
            .call(
                "PATCH",
                "/v2/escalations/now?identifierType=name",
                Some(ADMIN_KEY),
                Some(json!({"rules": [{"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0},
                                  "recipient": {"type": "user", "username": "bob@example.com"}}]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        alert(&app, via_policy).await;
        hook.wait_for(5).await;
        assert_eq!(
            hook.settle().await[4..],
            ["bob"],
            "{backend:?}: the changed policy is used"
        );
        app.stop().await;
    }
}
