//! The storage contract, run against every backend (SQLite always, PostgreSQL when
//! KLAXON_TEST_POSTGRES is set, which scripts/test does).

use klaxon_core::alert::{Priority, ResponderKind, ResponderRef};
use klaxon_core::lifecycle::{Action, Actor, Status};
use klaxon_core::query;
use klaxon_store::testing::{backends, fresh_database};
use klaxon_store::*;
use std::collections::BTreeMap;

/// 2023-11-14T22:13:20Z: query times below 10^11 are read as seconds, so use real instants.
const T0: i64 = 1_700_000_000_000;

fn actor() -> Actor {
    Actor {
        user: "alice".into(),
        via: "API".into(),
        source: "test".into(),
    }
}

fn op(kind: WriteKind, now: i64, team_id: Option<String>) -> WriteOp {
    WriteOp {
        request_id: uuid::Uuid::new_v4().to_string(),
        integration_id: "int-1".into(),
        integration_name: "prom".into(),
        integration_type: "API".into(),
        team_id,
        actor: actor(),
        now,
        kind,
    }
}

fn new_alert(alias: &str, message: &str) -> NewAlert {
    NewAlert {
        alias: alias.into(),
        message: message.into(),
        description: String::new(),
        priority: Priority::P3,
        source: "test".into(),
        entity: String::new(),
        tags: vec![],
        details: BTreeMap::new(),
        actions: vec![],
        responders: vec![],
        visible_to: vec![],
        note: None,
    }
}

fn create(alias: &str, now: i64) -> WriteOp {
    op(
        WriteKind::Create(Box::new(new_alert(alias, &format!("{alias} is down")))),
        now,
        None,
    )
}

fn act(alias: &str, action: Action, now: i64) -> WriteOp {
    op(
        WriteKind::Act {
            target: Identifier::Alias(alias.into()),
            action: ActionRequest::Ready(action),
            note: None,
        },
        now,
        None,
    )
}

async fn write1(s: &Store, o: WriteOp) -> Outcome {
    s.write_batch(std::slice::from_ref(&o))
        .await
        .remove(0)
        .expect("write")
}

fn directory() -> DirectorySpec {
    DirectorySpec {
        users: vec![
            UserSpec {
                username: "alice@example.com".into(),
                full_name: "Alice".into(),
                role: "admin".into(),
                time_zone: "UTC".into(),
            },
            UserSpec {
                username: "bob@example.com".into(),
                full_name: "Bob".into(),
                role: "user".into(),
                time_zone: "UTC".into(),
            },
        ],
        teams: vec![
            TeamSpec {
                name: "sre".into(),
                description: String::new(),
                members: vec![
                    ("alice@example.com".into(), "admin".into()),
                    ("bob@example.com".into(), "user".into()),
                ],
            },
            TeamSpec {
                name: "web".into(),
                description: String::new(),
                members: vec![],
            },
        ],
        integrations: vec![IntegrationSpec {
            name: "prom".into(),
            kind: "api".into(),
            key_hash: "h1".into(),
            team: Some("sre".into()),
            default_priority: Some(Priority::P2),
            default_tags: vec!["prod".into()],
            enabled: true,
        }],
    }
}

async fn stores() -> Vec<(Dialect, Store)> {
    let mut v = vec![];
    for b in backends() {
        let url = fresh_database(b).await;
        v.push((b, Store::connect(&url).await.expect("connect")));
    }
    v
}

#[tokio::test]
async fn dedup_counts_up_and_a_closed_alias_opens_a_new_alert() {
    for (b, s) in stores().await {
        let first = write1(&s, create("disk", 1_000)).await;
        assert!(first.success && !first.deduplicated, "{b:?}");
        let again = write1(&s, create("disk", 2_000)).await;
        assert!(again.deduplicated, "{b:?}");
        assert_eq!(again.alert_id, first.alert_id);
        let a = s
            .get_alert(&Identifier::Alias("disk".into()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.count, a.last_occurred_at, a.message.as_str()),
            (2, 2_000, "disk is down"),
            "{b:?}"
        );

        assert!(write1(&s, act("disk", Action::Close, 3_000)).await.success);
        let reopened = write1(&s, create("disk", 4_000)).await;
        assert!(
            !reopened.deduplicated && reopened.alert_id != first.alert_id,
            "{b:?}"
        );
        let all = query::parse("alias:disk").unwrap();
        assert_eq!(
            s.count_alerts(&all, &Scope::global()).await.unwrap(),
            2,
            "{b:?}"
        );
        // By alias, the open alert wins over the closed one.
        let a = s
            .get_alert(&Identifier::Alias("disk".into()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.id.as_str(), a.status),
            (reopened.alert_id.as_str(), Status::Open)
        );
    }
}

#[tokio::test]
async fn actions_change_the_alert_and_record_their_outcome() {
    for (b, s) in stores().await {
        let created = write1(&s, create("cpu", 1_000)).await;
        let o = write1(&s, act("cpu", Action::Acknowledge, 61_000)).await;
        assert!(o.success, "{b:?}");
        let refused = write1(&s, act("cpu", Action::Acknowledge, 62_000)).await;
        assert!(!refused.success && refused.status.contains("already acknowledged"));
        write1(
            &s,
            act(
                "cpu",
                Action::AddTags {
                    tags: vec!["db".into(), "prod".into()],
                },
                63_000,
            ),
        )
        .await;
        write1(
            &s,
            act(
                "cpu",
                Action::UpdatePriority {
                    priority: Priority::P1,
                },
                64_000,
            ),
        )
        .await;
        let closed_op = act("cpu", Action::Close, 121_000);
        let rid = closed_op.request_id.clone();
        write1(&s, closed_op).await;

        let a = s
            .get_alert(&Identifier::Id(created.alert_id.clone()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.status, Status::Closed, "{b:?}");
        assert_eq!((a.ack_time, a.close_time), (Some(60_000), Some(120_000)));
        assert_eq!(a.tags, ["db", "prod"]);
        assert_eq!(a.priority, Priority::P1);
        let by_tiny = s
            .get_alert(&Identifier::Tiny(a.tiny_id), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_tiny.id, a.id);

        let r = s.get_request(&rid).await.unwrap().unwrap();
        assert!(
            r.success && r.action == "Close" && r.alert_id == a.id && r.alias == "cpu",
            "{r:?}"
        );
        let missing = write1(&s, act("nope", Action::Close, 1)).await;
        assert_eq!(
            (missing.success, missing.status.as_str()),
            (false, "Alert does not exist")
        );

        let logs = s
            .list_logs(
                &a.id,
                &LogPage {
                    limit: 100,
                    descending: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let texts: Vec<&str> = logs.iter().map(|l| l.log.as_str()).collect();
        assert_eq!(texts.len(), 5, "{texts:?}");
        assert!(texts[0].starts_with("Alert created via API[prom]"));
        assert_eq!(texts[4], "Alert closed via API[test] by alice");
    }
}

#[tokio::test]
async fn one_bad_operation_does_not_sink_its_batch() {
    for (b, s) in stores().await {
        let good = create("a", 1);
        let mut dup = create("b", 1);
        dup.request_id = good.request_id.clone(); // primary-key clash in alert_requests
        let third = create("c", 1);
        let out = s.write_batch(&[good, dup, third]).await;
        assert!(
            out[0].is_ok() && out[1].is_err() && out[2].is_ok(),
            "{b:?}: {out:?}"
        );
        // The failed operation left nothing behind.
        let q = query::parse("").unwrap();
        assert_eq!(
            s.count_alerts(&q, &Scope::global()).await.unwrap(),
            2,
            "{b:?}"
        );
        assert!(s
            .get_alert(&Identifier::Alias("b".into()), &Scope::global())
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn team_scope_hides_other_teams_alerts_unless_visible_to() {
    for (b, s) in stores().await {
        s.apply_directory(&directory(), 0).await.unwrap();
        let sre = s.team_by_name("sre").await.unwrap().unwrap();
        let web = s.team_by_name("web").await.unwrap().unwrap();
        write1(
            &s,
            op(
                WriteKind::Create(Box::new(new_alert("sre-1", "m"))),
                1,
                Some(sre.id.clone()),
            ),
        )
        .await;
        let mut shared = new_alert("web-shared", "m");
        shared.visible_to = vec![ResponderRef {
            kind: ResponderKind::Team,
            id: None,
            name: Some("sre".into()),
            username: None,
        }];
        write1(
            &s,
            op(WriteKind::Create(Box::new(shared)), 2, Some(web.id.clone())),
        )
        .await;
        write1(
            &s,
            op(
                WriteKind::Create(Box::new(new_alert("web-only", "m"))),
                3,
                Some(web.id.clone()),
            ),
        )
        .await;

        let sre_scope = Scope {
            team_id: Some(sre.id.clone()),
        };
        let all = query::parse("").unwrap();
        let seen = s
            .list_alerts(&ListQuery {
                query: all.clone(),
                scope: sre_scope.clone(),
                sort: SortField::CreatedAt,
                descending: false,
                offset: 0,
                limit: 10,
            })
            .await
            .unwrap();
        let aliases: Vec<&str> = seen.iter().map(|a| a.alias.as_str()).collect();
        assert_eq!(aliases, ["sre-1", "web-shared"], "{b:?}");
        assert!(s
            .get_alert(&Identifier::Alias("web-only".into()), &sre_scope)
            .await
            .unwrap()
            .is_none());
        // Acting on an invisible alert is refused as if it did not exist.
        let mut close = act("web-only", Action::Close, 9);
        close.team_id = Some(sre.id.clone());
        assert!(!write1(&s, close).await.success);
        assert_eq!(s.count_alerts(&all, &Scope::global()).await.unwrap(), 3);

        // Team responders expand to recipients.
        let a = s
            .get_alert(&Identifier::Alias("sre-1".into()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.responders[0].name, "sre");
        let r = s.list_recipients(&a.id).await.unwrap();
        let names: Vec<&str> = r.iter().map(|r| r.username.as_str()).collect();
        assert_eq!(names, ["alice@example.com", "bob@example.com"], "{b:?}");
    }
}

#[tokio::test]
async fn search_sort_and_paging() {
    for (b, s) in stores().await {
        for i in 0..25 {
            let mut n = new_alert(&format!("al-{i:02}"), &format!("service {i} down"));
            n.priority = if i % 5 == 0 {
                Priority::P1
            } else {
                Priority::P4
            };
            n.tags = if i % 2 == 0 {
                vec!["db".into()]
            } else {
                vec!["web".into()]
            };
            write1(&s, op(WriteKind::Create(Box::new(n)), T0 + i * 1_000, None)).await;
        }
        write1(&s, act("al-00", Action::Close, T0 + 50_000)).await;
        let q = query::parse("status:open AND priority:P1 AND tag:db").unwrap();
        let hits = s
            .list_alerts(&ListQuery {
                query: q.clone(),
                scope: Scope::global(),
                sort: SortField::CreatedAt,
                descending: true,
                offset: 0,
                limit: 10,
            })
            .await
            .unwrap();
        let aliases: Vec<&str> = hits.iter().map(|a| a.alias.as_str()).collect();
        assert_eq!(aliases, ["al-20", "al-10"], "{b:?}");
        assert_eq!(s.count_alerts(&q, &Scope::global()).await.unwrap(), 2);

        let all = query::parse("message:down").unwrap();
        let page2 = s
            .list_alerts(&ListQuery {
                query: all.clone(),
                scope: Scope::global(),
                sort: SortField::TinyId,
                descending: false,
                offset: 10,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(page2.len(), 10);
        assert_eq!(page2[0].alias, "al-10", "{b:?}");
        let q = query::parse(&format!(
            "NOT tag:db AND (priority:P1 OR priority:P4) AND createdAt>{}",
            T0 + 20_000
        ))
        .unwrap();
        assert_eq!(
            s.count_alerts(&q, &Scope::global()).await.unwrap(),
            2,
            "{b:?}"
        ); // al-21, al-23
    }
}

#[tokio::test]
async fn notes_and_logs_page_with_cursors() {
    for (b, s) in stores().await {
        let c = write1(&s, create("n", 1)).await;
        for i in 0..5 {
            let mut o = act("n", Action::AddNote, 10 + i);
            if let WriteKind::Act { note, .. } = &mut o.kind {
                *note = Some(format!("note {i}"));
            }
            write1(&s, o).await;
        }
        let first = s
            .list_notes(
                &c.alert_id,
                &LogPage {
                    limit: 2,
                    descending: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            first.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(),
            ["note 4", "note 3"],
            "{b:?}"
        );
        let next = s
            .list_notes(
                &c.alert_id,
                &LogPage {
                    after: Some(first[1].seq),
                    limit: 2,
                    descending: true,
                    backwards: false,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            next.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(),
            ["note 2", "note 1"]
        );
        let asc = s
            .list_notes(
                &c.alert_id,
                &LogPage {
                    limit: 10,
                    descending: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(asc.len(), 5);
        assert_eq!(asc[0].note, "note 0");
    }
}

#[tokio::test]
async fn snooze_timers_are_found_when_due() {
    for (b, s) in stores().await {
        write1(&s, create("z", 1_000)).await;
        assert_eq!(s.next_snooze_end().await.unwrap(), None);
        write1(&s, act("z", Action::Snooze { end_time: 60_000 }, 2_000)).await;
        assert_eq!(s.next_snooze_end().await.unwrap(), Some(60_000), "{b:?}");
        assert!(s.due_snoozes(59_999, 10).await.unwrap().is_empty());
        let due = s.due_snoozes(60_000, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let mut wake = act("z", Action::Wake, 60_000);
        wake.kind = WriteKind::Act {
            target: Identifier::Id(due[0].clone()),
            action: ActionRequest::Ready(Action::Wake),
            note: None,
        };
        assert!(write1(&s, wake).await.success);
        assert_eq!(s.next_snooze_end().await.unwrap(), None);
        let a = s
            .get_alert(&Identifier::Alias("z".into()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert!(!a.snoozed);
    }
}

#[tokio::test]
async fn directory_is_applied_idempotently_and_removals_follow_the_config() {
    for (b, s) in stores().await {
        let d = directory();
        s.apply_directory(&d, 0).await.unwrap();
        s.apply_directory(&d, 1).await.unwrap();
        let i = s.integration_by_key_hash("h1").await.unwrap().unwrap();
        assert_eq!(
            (i.name.as_str(), i.team_name.as_deref(), i.default_priority),
            ("prom", Some("sre"), Some(Priority::P2)),
            "{b:?}"
        );
        assert_eq!(i.default_tags, ["prod"]);
        // An integration created through the API survives a config reload.
        s.create_integration(
            &IntegrationSpec {
                name: "manual".into(),
                kind: "api".into(),
                key_hash: "h2".into(),
                team: None,
                default_priority: None,
                default_tags: vec![],
                enabled: true,
            },
            2,
        )
        .await
        .unwrap();
        let mut d2 = d.clone();
        d2.integrations.clear();
        d2.teams.retain(|t| t.name != "web");
        s.apply_directory(&d2, 3).await.unwrap();
        assert!(
            s.integration_by_key_hash("h1").await.unwrap().is_none(),
            "{b:?}"
        );
        assert!(s.integration_by_key_hash("h2").await.unwrap().is_some());
        assert!(s.team_by_name("web").await.unwrap().is_none());
        assert_eq!(s.integration_count().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn concurrent_batches_keep_one_open_alert_per_alias_and_unique_tiny_ids() {
    for (b, s) in stores().await {
        let mut tasks = vec![];
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let ops: Vec<WriteOp> = (0..25)
                    .map(|j| {
                        if j % 5 == 0 {
                            create("same", i * 100 + j)
                        } else {
                            create(&format!("u-{i}-{j}"), i * 100 + j)
                        }
                    })
                    .collect();
                s.write_batch(&ops)
                    .await
                    .into_iter()
                    .map(|r| r.expect("write"))
                    .collect::<Vec<_>>()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let same = s
            .get_alert(&Identifier::Alias("same".into()), &Scope::global())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(same.count, 40, "{b:?}");
        let all = s
            .list_alerts(&ListQuery {
                query: query::parse("").unwrap(),
                scope: Scope::global(),
                sort: SortField::TinyId,
                descending: false,
                offset: 0,
                limit: 1000,
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 1 + 8 * 20);
        let mut tiny: Vec<i64> = all.iter().map(|a| a.tiny_id).collect();
        tiny.dedup();
        assert_eq!(tiny.len(), all.len(), "tiny ids must be unique");
    }
}

/// An escalation (or page) another round already started is not started twice, and leaves no
/// second line on the timeline, no second recipient state and no second delivery: what the
/// losing round planned for it is dropped with it.
#[tokio::test]
async fn a_duplicate_escalation_writes_nothing_of_its_own() {
    for (dialect, s) in stores().await {
        let a = write1(&s, create("dup-esc", T0)).await;
        let log = |text: &str| EngineLog {
            alert_id: a.alert_id.clone(),
            text: text.into(),
        };
        let started = |id: &str, text: &str, user: &str| {
            let escalation = NewEscalation {
                id: id.into(),
                alert_id: a.alert_id.clone(),
                origin: "team:sre".into(),
                policy_id: String::new(),
                policy_name: "sre".into(),
                policy: "{}".into(),
                started_at: T0,
                planned_to: Some(T0),
                due_at: None,
                logs: vec![log(&format!("{text}: escalation"))],
                recipients: vec![RecipientState {
                    alert_id: a.alert_id.clone(),
                    user_id: user.into(),
                    username: user.into(),
                    state: "pending".into(),
                    method: String::new(),
                }],
            };
            let page = NewPage {
                id: format!("{id}-page"),
                alert_id: a.alert_id.clone(),
                escalation_id: id.into(),
                step_key: "0".into(),
                user_id: user.into(),
                username: user.into(),
                paged_at: T0,
                planned_to: Some(T0),
                due_at: None,
                deliveries: vec![NewDelivery {
                    key: format!("{id}/delivery"),
                    alert_id: Some(a.alert_id.clone()),
                    user_id: Some(user.into()),
                    username: user.into(),
                    contact: "hook".into(),
                    channel: "webhook".into(),
                    target: "http://127.0.0.1:9/".into(),
                    payload: "{}".into(),
                    due_at: T0 + 60_000,
                }],
                logs: vec![log(&format!("{text}: page"))],
            };
            (escalation, page)
        };
        // The alert's routing row, then a second one (renotify): each round starts the
        // escalation of origin `team:sre`; the second finds it there.
        s.renotify(&a.alert_id, T0).await.unwrap();
        let rows = s
            .claim_escalations(T0, T0 + 10_000, "tok", 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{dialect:?}");
        for (n, row) in rows.iter().enumerate() {
            let user = ["bob", "carol"][n];
            let (e, p) = started(&format!("esc-{n}"), &format!("round {n}"), user);
            let done = EscalationDone {
                id: row.id.clone(),
                token: row.token.clone(),
                planned_to: T0,
                due_at: None,
                new_escalations: vec![e],
                pages: vec![p],
                logs: vec![log(&format!("round {n}: routed"))],
                recipients: vec![],
            };
            s.finish_escalations(&[done], T0, None).await.unwrap();
        }
        let logs = s
            .list_logs(
                &a.alert_id,
                &LogPage {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut texts: Vec<&str> = logs
            .iter()
            .map(|l| l.log.as_str())
            .filter(|t| t.starts_with("round"))
            .collect();
        texts.sort();
        assert_eq!(
            texts,
            [
                "round 0: escalation",
                "round 0: page",
                "round 0: routed",
                "round 1: routed"
            ],
            "{dialect:?}"
        );
        assert_eq!(
            s.delivery_counts().await.unwrap(),
            [("pending".to_string(), 1)],
            "{dialect:?}"
        );
        let recipients = s.list_recipients(&a.alert_id).await.unwrap();
        assert_eq!(recipients.len(), 1, "{dialect:?}: only round 0's recipient");
    }
}

/// A new PostgreSQL database gets statistics as soon as its tables grow, instead of after
/// autovacuum's first visit: a table with 500 rows changed and statistics of an empty table
/// (`alerts` is analyzed by a migration) is analyzed, and then left to autovacuum. SQLite has
/// nothing to do.
#[tokio::test]
async fn a_grown_table_without_statistics_is_analyzed_once() {
    for b in backends() {
        let url = fresh_database(b).await;
        let s = Store::connect(&url).await.expect("connect");
        if b == Dialect::Postgres {
            // Autovacuum must not get there first (it may visit a new database at any time).
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query("ALTER TABLE alerts SET (autovacuum_enabled = off)")
                .execute(&mut c)
                .await
                .unwrap();
        }
        let ops: Vec<WriteOp> = (0..1_200)
            .map(|i| create(&format!("grow-{i}"), T0))
            .collect();
        s.write_batch(&ops).await;
        if b == Dialect::Sqlite {
            assert_eq!(
                s.analyze_grown_tables().await.unwrap(),
                Vec::<String>::new()
            );
            continue;
        }
        // The server's table statistics arrive within a second or so of the commit.
        let mut analyzed = vec![];
        for _ in 0..50 {
            analyzed = s.analyze_grown_tables().await.unwrap();
            if analyzed.iter().any(|t| t == "alerts") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(analyzed.iter().any(|t| t == "alerts"), "{analyzed:?}");
        assert!(
            !analyzed.iter().any(|t| t == "users"),
            "a table that did not grow is left alone: {analyzed:?}"
        );
        // Twice the size now, but the statistics describe 1,200 rows: autovacuum's job.
        let ops: Vec<WriteOp> = (0..1_200)
            .map(|i| create(&format!("more-{i}"), T0))
            .collect();
        s.write_batch(&ops).await;
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
        let again = s.analyze_grown_tables().await.unwrap();
        assert!(!again.iter().any(|t| t == "alerts"), "{again:?}");
    }
}
