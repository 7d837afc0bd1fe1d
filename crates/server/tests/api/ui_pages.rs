//! The web UI's profile, escalation-policy and team pages over HTTP, and the route-wide
//! security check: every page and form the UI links to, found by crawling it as an admin,
//! refuses strangers, cross-site posts and stakeholders.

use crate::engine::receiver;
use crate::helpers::{TestApp, ADMIN_KEY};
use crate::ui::{ui_config, Browser, PASSWORD};
use klaxon_core::clock::Clock;
use klaxon_store::Dialect;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const EXTRA: &str = r#"
escalations:
  - name: sre-p1
    team: sre
    rules:
      - {delay: 0m, recipient: {type: schedule, name: primary}}
"#;

async fn spawn(backend: Dialect) -> TestApp {
    let dir = std::env::temp_dir().join("klaxon-tests");
    std::fs::create_dir_all(&dir).unwrap();
    TestApp::spawn_with(backend, &format!("{}{EXTRA}", ui_config(&dir)), None).await
}

/// A user created through the API (so not managed by the config file) with a password.
async fn api_user(app: &TestApp, username: &str, role: &str) {
    let (status, body) = app
        .post(
            "/v2/users",
            json!({"username": username, "fullName": "Dave", "role": {"name": role}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let hash = klaxon_server::http::ui::session::hash_password(PASSWORD).unwrap();
    let store = &app.app.as_ref().unwrap().state.store;
    assert!(store
        .set_user_password(username, &hash, app.clock.now_ms())
        .await
        .unwrap());
}

fn flash(body: &str) -> String {
    body.split("class=\"flash")
        .nth(1)
        .map(|s| s[..s.find("</p>").unwrap_or(s.len())].to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn profile_contacts_rules_test_page_and_calendar_link() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let hook = receiver().await;
        api_user(&app, "dave@example.com", "user").await;
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("dave@example.com", PASSWORD).await.status, 303);

        let p = b.get("/ui/profile").await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains("No contact methods yet"), "{}", p.body);
        assert!(!p.body.contains("Managed in config"));
        let csrf = p.csrf();

        // A bad address is refused with the core's reason, and nothing is written.
        let r = b
            .post(
                "/ui/profile/contacts",
                &[("_csrf", &csrf), ("method", "sms"), ("to", "0170 1234")],
            )
            .await;
        assert_eq!(r.status, 303);
        let p = b.get(r.location.as_deref().unwrap()).await;
        assert!(flash(&p.body).contains("E.164"), "{}", flash(&p.body));
        let (_, contacts) = app.get("/v2/users/dave@example.com/contacts").await;
        assert_eq!(contacts["data"], json!([]));

        let url = format!("{}/test-page", hook.url);
        let r = b
            .post(
                "/ui/profile/contacts",
                &[("_csrf", &csrf), ("method", "webhook"), ("to", &url)],
            )
            .await;
        assert_eq!(r.status, 303);
        let (_, contacts) = app.get("/v2/users/dave@example.com/contacts").await;
        assert_eq!(contacts["data"][0]["method"], "webhook");
        assert_eq!(contacts["data"][0]["to"], url.as_str());
        let id = contacts["data"][0]["id"].as_str().unwrap().to_string();
        let p = b.get("/ui/profile").await;
        assert!(p.body.contains(&url));

        // The test page goes through the outbox to the real receiver.
        let r = b
            .post(
                &format!("/ui/profile/contacts/{id}/test"),
                &[("_csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, 303);
        assert!(r.location.unwrap().contains("Test+page+queued"));
        assert_eq!(hook.wait_for(1).await, vec!["test-page".to_string()]);
        let hit = hook.hits.lock().unwrap()[0].clone();
        let body: Value = serde_json::from_str(&hit.body).unwrap();
        assert_eq!(body["action"], "test");
        assert_eq!(body["user"], "dave@example.com");
        assert_eq!(body["alert"]["message"], "Test page from Klaxon");
        let key = hit.headers["idempotency-key"].to_str().unwrap();
        assert!(key.starts_with("test/"), "{key}");
        assert_eq!(body["idempotencyKey"], key);
        assert!(hit.headers.contains_key("x-klaxon-signature"));
        let mut sent = false;
        for _ in 0..100 {
            let p = b.get("/ui/profile/tests").await;
            if p.body.contains(r#"data-state="sent""#) {
                assert!(!p.body.contains("hx-trigger"), "no more polling once sent");
                sent = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(sent, "the profile shows the test page as sent");
        // A second one right away is refused (a button must not flood a phone).
        let r = b
            .post(
                &format!("/ui/profile/contacts/{id}/test"),
                &[("_csrf", &csrf)],
            )
            .await;
        let p = b.get(r.location.as_deref().unwrap()).await;
        assert!(flash(&p.body).contains("less than a minute ago"));
        assert_eq!(hook.settle().await.len(), 1);

        // A notification rule through the form; the API sees it.
        let r = b
            .post(
                "/ui/profile/rules",
                &[
                    ("_csrf", &csrf),
                    ("name", "wake me"),
                    ("priority", "P1"),
                    ("priority", "P2"),
                    ("step_contact", &id),
                    ("step_after", "0s"),
                    ("step_contact", &id),
                    ("step_after", "5m"),
                    ("step_contact", ""),
                    ("step_after", ""),
                    ("enabled", "true"),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let (_, rules) = app
            .get("/v2/users/dave@example.com/notification-rules")
            .await;
        assert_eq!(rules["data"].as_array().unwrap().len(), 1, "{rules}");
        assert_eq!(rules["data"][0]["name"], "wake me");
        let p = b.get("/ui/profile").await;
        assert!(p.body.contains("after 5m"), "{}", p.body);
        // The contact is in use: removing it is refused with the reason.
        let r = b
            .post(
                &format!("/ui/profile/contacts/{id}/delete"),
                &[("_csrf", &csrf)],
            )
            .await;
        let p = b.get(r.location.as_deref().unwrap()).await;
        assert!(flash(&p.body).contains("is used by notification rule"));
        let rule_id = rules["data"][0]["id"].as_str().unwrap().to_string();
        // A bad duration in an edit changes nothing.
        let r = b
            .post(
                &format!("/ui/profile/rules/{rule_id}"),
                &[
                    ("_csrf", &csrf),
                    ("name", "wake me"),
                    ("step_contact", &id),
                    ("step_after", "soon"),
                ],
            )
            .await;
        let p = b.get(r.location.as_deref().unwrap()).await;
        assert!(
            flash(&p.body).contains("invalid duration"),
            "{}",
            flash(&p.body)
        );
        let r = b
            .post(
                &format!("/ui/profile/rules/{rule_id}/delete"),
                &[("_csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, 303);
        let r = b
            .post(
                &format!("/ui/profile/contacts/{id}/delete"),
                &[("_csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, 303);
        let (_, contacts) = app.get("/v2/users/dave@example.com/contacts").await;
        assert_eq!(contacts["data"], json!([]));

        // The calendar link is shown once and opens the personal feed.
        let p = b.post("/ui/profile/calendar", &[("_csrf", &csrf)]).await;
        assert_eq!(p.status, 200);
        let at = p.body.find("id=\"calendar-url\">").unwrap() + "id=\"calendar-url\">".len();
        let link = p.body[at..at + p.body[at..].find('<').unwrap()].replace("&amp;", "&");
        assert!(
            link.contains("/v2/schedules/on-calls/dave@example.com.ics?token="),
            "{link}"
        );
        let ics = reqwest::get(&link).await.unwrap();
        assert_eq!(ics.status(), 200);
        assert!(ics.text().await.unwrap().starts_with("BEGIN:VCALENDAR"));
        let p = b.get("/ui/profile").await;
        assert!(p.body.contains("You made a calendar link on"));
        assert!(!p.body.contains(link.split("token=").nth(1).unwrap()));
        b.post("/ui/profile/calendar/delete", &[("_csrf", &csrf)])
            .await;
        assert_eq!(reqwest::get(&link).await.unwrap().status(), 401);

        // A user from the config file: contacts are managed there.
        let mut alice = Browser::new(&app);
        assert_eq!(
            alice.sign_in("alice@example.com", PASSWORD).await.status,
            303
        );
        let p = alice.get("/ui/profile").await;
        assert!(p.body.contains("Managed in config"));
        assert!(!p.body.contains("Add a contact method"));
        let csrf = p.csrf();
        let r = alice
            .post(
                "/ui/profile/contacts",
                &[
                    ("_csrf", &csrf),
                    ("method", "email"),
                    ("to", "a@example.com"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        let (_, contacts) = app.get("/v2/users/alice@example.com/contacts").await;
        assert_eq!(contacts["data"], json!([]));
        app.stop().await;
    }
}

#[tokio::test]
async fn escalation_policies_and_teams_create_edit_and_managed() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        let mut admin = Browser::new(&app);
        assert_eq!(
            admin.sign_in("alice@example.com", PASSWORD).await.status,
            303
        );

        // The config's policy and team are shown, read-only.
        let p = admin.get("/ui/escalations").await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains("sre-p1") && p.body.contains("managed in config"));
        assert!(p.body.contains("At once, if-not-acked: notify schedule"));
        let (_, managed) = app.get("/v2/escalations/sre-p1?identifierType=name").await;
        let managed_id = managed["data"]["id"].as_str().unwrap().to_string();
        let page = admin.get(&format!("/ui/escalations/{managed_id}")).await;
        assert!(!page.body.contains("Save policy"));
        let csrf = page.csrf();
        let r = admin
            .post(
                &format!("/ui/escalations/{managed_id}"),
                &[("_csrf", &csrf), ("name", "hijacked")],
            )
            .await;
        assert_eq!(r.status, 403);
        let (_, sre) = app.get("/v2/teams/sre?identifierType=name").await;
        let sre_id = sre["data"]["id"].as_str().unwrap().to_string();
        let p = admin.get(&format!("/ui/teams/{sre_id}")).await;
        assert!(p.body.contains("managed in config") && !p.body.contains("Save team"));
        assert!(p.body.contains("erin@example.com"));
        let r = admin
            .post(
                &format!("/ui/teams/{sre_id}"),
                &[("_csrf", &csrf), ("name", "renamed")],
            )
            .await;
        assert_eq!(r.status, 403);

        // A new team, with the defaults the API also makes.
        let r = admin
            .post(
                "/ui/teams",
                &[
                    ("_csrf", &csrf),
                    ("name", "ops"),
                    ("description", "Operations"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let team_path = r.location.unwrap();
        let team_path = team_path.split('?').next().unwrap().to_string();
        let (status, ops) = app.get("/v2/teams/ops?identifierType=name").await;
        assert_eq!(status, 200);
        assert_eq!(ops["data"]["description"], "Operations");
        let (status, _) = app
            .get("/v2/escalations/ops_escalation?identifierType=name")
            .await;
        assert_eq!(status, 200);
        let p = admin.get(&team_path).await;
        assert!(p.body.contains("Default Rule") && p.body.contains("ops_escalation"));
        let r = admin
            .post(
                &format!("{team_path}/members"),
                &[
                    ("_csrf", &csrf),
                    ("user", "bob@example.com"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let (_, ops) = app.get("/v2/teams/ops?identifierType=name").await;
        assert_eq!(
            ops["data"]["members"][0]["user"]["username"],
            "bob@example.com"
        );
        assert_eq!(ops["data"]["members"][0]["role"], "admin");

        // A new policy from the form, then an edit; the API reads what the form wrote.
        let (_, primary) = app.get("/v2/schedules/primary?identifierType=name").await;
        let primary_id = primary["data"]["id"].as_str().unwrap();
        let (_, bob) = app.get("/v2/users/bob@example.com").await;
        let bob_id = bob["data"]["id"].as_str().unwrap();
        let ops_id = ops["data"]["id"].as_str().unwrap();
        let schedule = format!("schedule:{primary_id}");
        let user = format!("user:{bob_id}");
        let r = admin
            .post(
                "/ui/escalations",
                &[
                    ("_csrf", &csrf),
                    ("name", "ops-night"),
                    ("team", ops_id),
                    ("delay", "0s"),
                    ("condition", "if-not-acked"),
                    ("notify_type", "default"),
                    ("recipient", &schedule),
                    ("delay", "5m"),
                    ("condition", "if-not-closed"),
                    ("notify_type", "default"),
                    ("recipient", &user),
                    ("delay", ""),
                    ("condition", "if-not-acked"),
                    ("notify_type", "default"),
                    ("recipient", ""),
                    ("repeat_count", "2"),
                    ("repeat_wait", "10m"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let esc_path = r.location.unwrap().split('?').next().unwrap().to_string();
        let (_, esc) = app
            .get("/v2/escalations/ops-night?identifierType=name")
            .await;
        let rules = esc["data"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2, "{esc}");
        assert_eq!(
            rules[1]["delay"],
            json!({"timeAmount": 5, "timeUnit": "minutes"})
        );
        assert_eq!(rules[1]["condition"], "if-not-closed");
        assert_eq!(rules[1]["recipient"]["type"], "user");
        assert_eq!(esc["data"]["repeat"]["count"], 2);
        assert_eq!(esc["data"]["ownerTeam"]["name"], "ops");
        let p = admin.get(&esc_path).await;
        assert!(
            p.body.contains("After 5m, if-not-closed: notify user"),
            "{}",
            p.body
        );
        assert!(p
            .body
            .contains("Repeats 2 time(s), 10m after the last rule"));

        // A bad edit (a user recipient with notify type "all") is refused with the core's
        // reason and changes nothing.
        let r = admin
            .post(
                &esc_path,
                &[
                    ("_csrf", &csrf),
                    ("name", "ops-night"),
                    ("delay", "1m"),
                    ("condition", "if-not-acked"),
                    ("notify_type", "all"),
                    ("recipient", &user),
                ],
            )
            .await;
        let p = admin.get(r.location.as_deref().unwrap()).await;
        assert!(flash(&p.body).contains("notify"), "{}", flash(&p.body));
        let (_, same) = app
            .get("/v2/escalations/ops-night?identifierType=name")
            .await;
        assert_eq!(same["data"]["rules"], esc["data"]["rules"]);
        let r = admin
            .post(
                &esc_path,
                &[
                    ("_csrf", &csrf),
                    ("name", "ops-night"),
                    ("description", "nights"),
                    ("delay", "1m"),
                    ("condition", "if-not-acked"),
                    ("notify_type", "default"),
                    ("recipient", &user),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let (_, esc) = app
            .get("/v2/escalations/ops-night?identifierType=name")
            .await;
        assert_eq!(esc["data"]["rules"].as_array().unwrap().len(), 1);
        assert_eq!(esc["data"]["description"], "nights");
        assert!(
            esc["data"].get("ownerTeam").is_none_or(Value::is_null),
            "{esc}"
        );

        // Everyone else may look, not change.
        let mut bob = Browser::new(&app);
        assert_eq!(bob.sign_in("bob@example.com", PASSWORD).await.status, 303);
        let p = bob.get(&esc_path).await;
        assert_eq!(p.status, 200);
        assert!(p.body.contains("ops-night") && !p.body.contains("Save policy"));
        let csrf = p.csrf();
        let r = bob
            .post("/ui/escalations", &[("_csrf", &csrf), ("name", "mine")])
            .await;
        assert_eq!(r.status, 403);
        let r = bob
            .post(
                &format!("{team_path}/members/remove"),
                &[("_csrf", &csrf), ("user", bob_id)],
            )
            .await;
        assert_eq!(r.status, 403);
        let (status, _) = app.get("/v2/escalations/mine?identifierType=name").await;
        assert_eq!(status, 404);
        app.stop().await;
    }
}

/// The `/ui/...` paths a page links to or posts to: `(gets, posts)`.
fn links(body: &str) -> (Vec<String>, Vec<String>) {
    let grab = |attr: &str| -> Vec<String> {
        body.split(&format!("{attr}=\""))
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(|v| v.replace("&amp;", "&"))
            .filter(|v| v.starts_with("/ui/"))
            .collect()
    };
    let mut gets = grab("href");
    gets.extend(grab("hx-get"));
    gets.extend(grab("data-live"));
    let mut posts = grab("action");
    posts.extend(grab("hx-post"));
    (gets, posts)
}

/// A path without its query, with ids replaced, to count distinct routes.
fn route_of(path: &str) -> String {
    path.split(['?', '#'])
        .next()
        .unwrap()
        .split('/')
        .map(|seg| {
            if seg.len() > 8 && seg.chars().any(|c| c.is_ascii_digit())
                || seg.parse::<i64>().is_ok()
            {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_linked_page_and_form_refuses_strangers_cross_site_and_stakeholders() {
    for backend in klaxon_store::testing::backends() {
        let app = spawn(backend).await;
        api_user(&app, "dave@example.com", "user").await;
        let id = app
            .create(ADMIN_KEY, json!({"message": "disk full", "alias": "d1"}))
            .await;
        let mut admin = Browser::new(&app);
        assert_eq!(
            admin.sign_in("alice@example.com", PASSWORD).await.status,
            303
        );
        let csrf = admin.get("/ui/profile").await.csrf();
        // Something editable of every kind, so its forms are on the pages.
        admin
            .post("/ui/teams", &[("_csrf", &csrf), ("name", "ops")])
            .await;
        let mut dave = Browser::new(&app);
        dave.sign_in("dave@example.com", PASSWORD).await;
        let dcsrf = dave.get("/ui/profile").await.csrf();
        dave.post(
            "/ui/profile/contacts",
            &[
                ("_csrf", &dcsrf),
                ("method", "email"),
                ("to", "dave@example.com"),
            ],
        )
        .await;

        // Crawl the UI as an admin (every page) and as dave (his own profile forms).
        let mut gets: BTreeSet<String> = BTreeSet::new();
        let mut posts: BTreeSet<String> = BTreeSet::new();
        let mut queue = vec!["/ui/alerts".to_string()];
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut per_route: std::collections::HashMap<String, usize> = Default::default();
        while let Some(path) = queue.pop() {
            if path.starts_with("/ui/assets/") || path == "/ui/events" {
                continue;
            }
            // Each page once whatever its query, and a few pages per route shape.
            let bare = path.split(['?', '#']).next().unwrap().to_string();
            let n = per_route.entry(route_of(&path)).or_default();
            if *n >= 6 || !seen.insert(bare) {
                continue;
            }
            *n += 1;
            let p = admin.get(&path).await;
            assert_eq!(p.status, 200, "{path}: {}", p.body);
            gets.insert(path);
            let (g, f) = links(&p.body);
            queue.extend(g);
            posts.extend(f);
        }
        let (_, f) = links(&dave.get("/ui/profile").await.body);
        posts.extend(f);
        let get_routes: BTreeSet<String> = gets.iter().map(|p| route_of(p)).collect();
        let post_routes: BTreeSet<String> = posts.iter().map(|p| route_of(p)).collect();
        for must in [
            "/ui/alerts",
            "/ui/alerts/{id}",
            "/ui/oncall",
            "/ui/oncall/{id}",
            "/ui/escalations",
            "/ui/escalations/{id}",
            "/ui/teams",
            "/ui/teams/{id}",
            "/ui/integrations",
            "/ui/profile",
        ] {
            assert!(
                get_routes.contains(must),
                "crawl missed {must}: {get_routes:?}"
            );
        }
        for must in [
            "/ui/alerts/bulk",
            "/ui/alerts/{id}/act",
            "/ui/oncall/{id}/override",
            "/ui/escalations",
            "/ui/teams",
            "/ui/teams/{id}/members",
            "/ui/integrations",
            "/ui/profile/contacts",
            "/ui/profile/contacts/{id}/test",
            "/ui/profile/contacts/{id}/delete",
            "/ui/profile/calendar",
            "/ui/logout",
        ] {
            assert!(
                post_routes.contains(must),
                "crawl missed POST {must}: {post_routes:?}"
            );
        }

        let mut anon = Browser::new(&app);
        for path in &gets {
            let p = anon.get(path).await;
            assert_eq!(p.status, 303, "GET {path} without a session");
            assert!(p.location.unwrap().starts_with("/ui/login"), "{path}");
            assert!(!p.body.contains("disk full"), "{path}");
        }
        let mut carol = Browser::new(&app);
        assert_eq!(
            carol.sign_in("carol@example.com", PASSWORD).await.status,
            303
        );
        let ccsrf = carol.get("/ui/profile").await.csrf();
        let evil = [
            ("Origin", "http://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ];
        for path in &posts {
            if path == "/ui/login" {
                continue;
            }
            let p = anon.post(path, &[("name", "x")]).await;
            assert_eq!(p.status, 401, "POST {path} without a session");
            // With the admin's own valid token, from another site: refused.
            for (h, v) in evil {
                let p = admin
                    .send(
                        admin
                            .http
                            .post(format!("{}{path}", admin.root))
                            .header(h, v)
                            .form(&[("_csrf", csrf.as_str()), ("name", "x")]),
                    )
                    .await;
                assert_eq!(p.status, 403, "cross-site ({h}) POST {path}");
            }
            // Same site, no token: refused.
            let p = admin.post(path, &[("name", "x")]).await;
            assert_eq!(p.status, 403, "POST {path} without the CSRF token");
            if path != "/ui/logout" {
                let p = carol.post(path, &[("_csrf", &ccsrf), ("name", "x")]).await;
                assert_eq!(p.status, 403, "stakeholder POST {path}");
            }
        }
        // Stakeholders see the pages (integrations are for admins).
        for path in &gets {
            let p = carol.get(path).await;
            let want = if path.starts_with("/ui/integrations") {
                403
            } else {
                200
            };
            assert_eq!(p.status, want, "stakeholder GET {path}");
        }
        // Nothing changed.
        assert_eq!(app.alert(&id).await["status"], "open");
        let (_, teams) = app.get("/v2/teams").await;
        assert_eq!(teams["data"].as_array().unwrap().len(), 3, "sre, web, ops");
        let (_, contacts) = app.get("/v2/users/dave@example.com/contacts").await;
        assert_eq!(contacts["data"].as_array().unwrap().len(), 1);
        app.stop().await;
    }
}
