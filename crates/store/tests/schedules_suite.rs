//! The schedule storage contract (schedules, rotations, overrides, time off, calendar tokens,
//! config apply), run against every backend.

use klaxon_core::schedule::{ClockTime, Restriction, RotationKind, ScheduleMode, WeekdayWindow};
use klaxon_store::testing::{backends, fresh_database};
use klaxon_store::*;

/// 2026-01-05T08:00:00Z, a Monday.
const T0: i64 = 1_767_600_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn user(name: &str) -> UserSpec {
    UserSpec {
        username: name.into(),
        full_name: String::new(),
        role: "user".into(),
        time_zone: "UTC".into(),
    }
}

fn directory(users: &[&str]) -> DirectorySpec {
    DirectorySpec {
        users: users.iter().map(|u| user(u)).collect(),
        teams: vec![TeamSpec {
            name: "sre".into(),
            description: String::new(),
            members: vec![],
        }],
        integrations: vec![],
    }
}

const PEOPLE: [&str; 3] = ["alice@example.com", "bob@example.com", "carol@example.com"];

async fn stores() -> Vec<(Dialect, Store)> {
    let mut v = vec![];
    for b in backends() {
        let url = fresh_database(b).await;
        let store = Store::connect(&url).await.expect("connect");
        store
            .apply_directory(&directory(&PEOPLE), T0)
            .await
            .expect("directory");
        v.push((b, store));
    }
    v
}

fn clock(s: &str) -> ClockTime {
    s.parse().expect("clock time")
}

fn fields(name: &str) -> ScheduleFields {
    ScheduleFields {
        name: name.into(),
        description: "the primary pager".into(),
        time_zone: "Europe/Berlin".into(),
        mode: ScheduleMode::Layered,
        enabled: true,
        team: Some("SRE".into()),
    }
}

fn rotation(name: &str, participants: &[Option<&str>]) -> RotationFields {
    RotationFields {
        name: name.into(),
        kind: RotationKind::Weekly,
        length: 1,
        start: T0,
        end: None,
        participants: participants.iter().map(|p| p.map(str::to_string)).collect(),
        restriction: None,
    }
}

fn weekend() -> Restriction {
    Restriction::WeekdayAndTimeOfDay(vec![WeekdayWindow {
        start_day: "fri".parse().expect("weekday"),
        start: clock("18:00"),
        end_day: "mon".parse().expect("weekday"),
        end: clock("09:00"),
    }])
}

fn names(s: &StoredSchedule) -> Vec<&str> {
    s.rotations.iter().map(|r| r.name.as_str()).collect()
}

fn usernames(r: &StoredRotation) -> Vec<Option<&str>> {
    r.participants
        .iter()
        .map(|p| p.as_ref().map(|u| u.username.as_str()))
        .collect()
}

fn override_fields(
    alias: &str,
    user: Option<&str>,
    start: i64,
    rotations: &[&str],
) -> OverrideFields {
    OverrideFields {
        alias: alias.into(),
        user: user.map(str::to_string),
        start,
        end: start + DAY,
        rotations: rotations.iter().map(|r| r.to_string()).collect(),
    }
}

async fn schedule(s: &Store, id: &str) -> StoredSchedule {
    s.schedule_by_id(id).await.expect("read").expect("exists")
}

#[tokio::test]
async fn a_schedule_round_trips_with_its_rotations_in_layer_order() {
    for (backend, s) in stores().await {
        let mut night = rotation("Night", &[Some("bob@example.com")]);
        night.kind = RotationKind::Daily;
        night.length = 2;
        night.end = Some(T0 + 30 * DAY);
        night.restriction = Some(Restriction::TimeOfDay {
            start: clock("21:00"),
            end: clock("09:00"),
        });
        let mut cover = rotation("weekend", &[Some("CAROL@example.com")]);
        cover.restriction = Some(weekend());
        let rotations = [
            rotation(
                "weekdays",
                &[Some("alice@example.com"), None, Some("bob@example.com")],
            ),
            night,
            cover,
        ];
        let id = s
            .create_schedule(&fields("Primary"), &rotations, T0)
            .await
            .expect("create");

        let got = schedule(&s, &id).await;
        assert_eq!(got.name, "Primary", "{backend:?}");
        assert_eq!(got.mode, ScheduleMode::Layered);
        assert_eq!(got.time_zone, "Europe/Berlin");
        assert_eq!(got.team.as_ref().map(|t| t.name.as_str()), Some("sre"));
        assert!(!got.managed && got.enabled);
        assert_eq!((got.created_at, got.updated_at), (T0, T0));
        assert_eq!(names(&got), ["weekdays", "Night", "weekend"]);
        assert_eq!(
            usernames(&got.rotations[0]),
            [Some("alice@example.com"), None, Some("bob@example.com")]
        );
        // Usernames are matched case-insensitively and stored as the user is named.
        assert_eq!(usernames(&got.rotations[2]), [Some("carol@example.com")]);
        let n = &got.rotations[1];
        assert_eq!(
            (n.kind, n.length, n.start, n.end),
            (RotationKind::Daily, 2, T0, Some(T0 + 30 * DAY))
        );
        assert_eq!(n.restriction, rotations[1].restriction);
        assert_eq!(got.rotations[2].restriction, Some(weekend()));

        assert_eq!(
            s.schedule_by_name("PRIMARY").await.unwrap(),
            Some(got.clone())
        );
        assert_eq!(s.list_schedules().await.unwrap(), vec![got]);
        assert_eq!(s.schedule_by_id("nope").await.unwrap(), None);
    }
}

#[tokio::test]
async fn bad_references_and_taken_names_are_refused_without_writing() {
    for (backend, s) in stores().await {
        s.create_schedule(&fields("primary"), &[], T0)
            .await
            .expect("create");
        let taken = s.create_schedule(&fields("PRIMARY"), &[], T0).await;
        assert!(
            matches!(&taken, Err(StoreError::Invalid(m)) if m.contains("already exists")),
            "{backend:?}: {taken:?}"
        );
        let ghost = s
            .create_schedule(
                &fields("other"),
                &[rotation("r", &[Some("ghost@example.com")])],
                T0,
            )
            .await;
        assert!(
            matches!(&ghost, Err(StoreError::Invalid(m)) if m.contains("ghost@example.com")),
            "{ghost:?}"
        );
        let no_team = s
            .create_schedule(
                &ScheduleFields {
                    team: Some("ghosts".into()),
                    ..fields("third")
                },
                &[],
                T0,
            )
            .await;
        assert!(matches!(&no_team, Err(StoreError::Invalid(m)) if m.contains("ghosts")));
        // Nothing of the refused writes was kept.
        let all = s.list_schedules().await.unwrap();
        assert_eq!(
            all.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["primary"]
        );
    }
}

#[tokio::test]
async fn replacing_rotations_keeps_ids_by_name_and_trims_overrides() {
    for (backend, s) in stores().await {
        let id = s
            .create_schedule(
                &fields("primary"),
                &[
                    rotation("a", &[Some("alice@example.com")]),
                    rotation("b", &[Some("bob@example.com")]),
                    rotation("c", &[Some("carol@example.com")]),
                ],
                T0,
            )
            .await
            .unwrap();
        let before = schedule(&s, &id).await;
        let ids: Vec<String> = before.rotations.iter().map(|r| r.id.clone()).collect();
        for (alias, rotations) in [
            ("only-b", vec!["b"]),
            ("a-and-b", vec!["a", "B"]),
            ("all", vec![]),
        ] {
            s.create_schedule_override(
                &id,
                &override_fields(alias, Some("carol@example.com"), T0, &rotations),
                T0 + 1,
            )
            .await
            .unwrap()
            .expect("schedule exists");
        }

        // New order c, a, d; b is gone.
        let mut c = rotation("C", &[Some("alice@example.com"), None]);
        c.length = 3;
        let done = s
            .update_schedule(
                &id,
                &ScheduleFields {
                    mode: ScheduleMode::Cumulative,
                    team: None,
                    ..fields("primary")
                },
                Some(&[
                    c,
                    rotation("a", &[Some("alice@example.com")]),
                    rotation("d", &[None]),
                ]),
                T0 + 2,
            )
            .await
            .unwrap();
        assert!(done);
        let after = schedule(&s, &id).await;
        assert_eq!(names(&after), ["C", "a", "d"], "{backend:?}");
        assert_eq!(after.rotations[0].id, ids[2]);
        assert_eq!(after.rotations[0].length, 3);
        assert_eq!(
            usernames(&after.rotations[0]),
            [Some("alice@example.com"), None]
        );
        assert_eq!(after.rotations[1].id, ids[0]);
        assert!(!ids.contains(&after.rotations[2].id));
        assert_eq!(
            (after.mode, after.team.clone(), after.updated_at),
            (ScheduleMode::Cumulative, None, T0 + 2)
        );

        let overrides = s.schedule_overrides(Some(&id), None).await.unwrap();
        let left: Vec<(&str, &Vec<String>)> = overrides
            .iter()
            .map(|o| (o.alias.as_str(), &o.rotation_ids))
            .collect();
        // The override of b alone went with b; the one of a and b keeps a.
        assert_eq!(left, [("a-and-b", &vec![ids[0].clone()]), ("all", &vec![])]);

        assert!(s.delete_rotation(&id, &ids[0], T0 + 3).await.unwrap());
        assert!(!s.delete_rotation(&id, &ids[0], T0 + 3).await.unwrap());
        let overrides = s.schedule_overrides(Some(&id), None).await.unwrap();
        assert_eq!(
            overrides
                .iter()
                .map(|o| o.alias.as_str())
                .collect::<Vec<_>>(),
            ["all"]
        );
        assert_eq!(names(&schedule(&s, &id).await), ["C", "d"]);
    }
}

#[tokio::test]
async fn rotations_are_added_as_the_top_layer_updated_in_place_and_deleted() {
    for (backend, s) in stores().await {
        let id = s
            .create_schedule(&fields("primary"), &[rotation("a", &[None])], T0)
            .await
            .unwrap();
        let b = s
            .add_rotation(&id, &rotation("b", &[Some("bob@example.com")]), T0 + 1)
            .await
            .unwrap()
            .expect("schedule exists");
        assert_eq!(
            s.add_rotation("nope", &rotation("x", &[None]), T0)
                .await
                .unwrap(),
            None
        );
        let dup = s.add_rotation(&id, &rotation("A", &[None]), T0).await;
        assert!(
            matches!(&dup, Err(StoreError::Invalid(m)) if m.contains("\"A\"")),
            "{backend:?} {dup:?}"
        );

        let a = schedule(&s, &id).await.rotations[0].id.clone();
        let mut changed = rotation(
            "first",
            &[Some("carol@example.com"), Some("alice@example.com")],
        );
        changed.restriction = Some(weekend());
        assert!(s.update_rotation(&id, &a, &changed, T0 + 2).await.unwrap());
        assert!(!s
            .update_rotation(&id, "nope", &changed, T0 + 2)
            .await
            .unwrap());
        let got = schedule(&s, &id).await;
        assert_eq!(names(&got), ["first", "b"]);
        assert_eq!(got.rotations[1].id, b);
        assert_eq!(
            usernames(&got.rotations[0]),
            [Some("carol@example.com"), Some("alice@example.com")]
        );
        assert_eq!(got.rotations[0].restriction, Some(weekend()));
        assert_eq!(got.updated_at, T0 + 2);

        assert!(s.delete_schedule(&id).await.unwrap());
        assert!(!s.delete_schedule(&id).await.unwrap());
        assert_eq!(s.schedule_overrides(Some(&id), None).await.unwrap(), vec![]);
    }
}

#[tokio::test]
async fn overrides_are_kept_in_the_order_they_were_last_written() {
    for (backend, s) in stores().await {
        let id = s
            .create_schedule(
                &fields("primary"),
                &[rotation("a", &[Some("alice@example.com")])],
                T0,
            )
            .await
            .unwrap();
        let first = override_fields("first", Some("bob@example.com"), T0, &[]);
        let second = override_fields("second", None, T0 + HOUR, &["a"]);
        s.create_schedule_override(&id, &first, T0 + 1)
            .await
            .unwrap()
            .unwrap();
        s.create_schedule_override(&id, &second, T0 + 2)
            .await
            .unwrap()
            .unwrap();
        let taken = s.create_schedule_override(&id, &first, T0 + 3).await;
        assert!(
            matches!(&taken, Err(StoreError::Invalid(m)) if m.contains("first")),
            "{backend:?} {taken:?}"
        );
        let bad_rotation = s
            .create_schedule_override(&id, &override_fields("x", None, T0, &["zzz"]), T0)
            .await;
        assert!(matches!(&bad_rotation, Err(StoreError::Invalid(m)) if m.contains("zzz")));
        assert_eq!(
            s.create_schedule_override("nope", &first, T0)
                .await
                .unwrap(),
            None
        );

        let aliases = |v: Vec<StoredOverride>| v.into_iter().map(|o| o.alias).collect::<Vec<_>>();
        assert_eq!(
            aliases(s.schedule_overrides(Some(&id), None).await.unwrap()),
            ["first", "second"]
        );
        let got = s
            .schedule_override(&id, "second")
            .await
            .unwrap()
            .expect("exists");
        assert_eq!(got.user, None);
        assert_eq!(got.rotation_ids.len(), 1);
        assert_eq!(
            (got.start, got.end, got.managed),
            (T0 + HOUR, T0 + HOUR + DAY, false)
        );

        // Rewriting "first" (and renaming it) makes it the latest.
        let renamed = OverrideFields {
            alias: "first-again".into(),
            user: Some("carol@example.com".into()),
            ..first.clone()
        };
        assert!(s
            .update_schedule_override(&id, "first", &renamed, T0 + 4)
            .await
            .unwrap());
        assert!(!s
            .update_schedule_override(&id, "first", &renamed, T0 + 4)
            .await
            .unwrap());
        let all = s.schedule_overrides(Some(&id), None).await.unwrap();
        assert_eq!(aliases(all.clone()), ["second", "first-again"]);
        assert_eq!(
            all[1].user.as_ref().map(|u| u.username.as_str()),
            Some("carol@example.com")
        );
        assert_eq!((all[1].created_at, all[1].updated_at), (T0 + 1, T0 + 4));

        // Only those still running after an instant, across schedules.
        assert_eq!(
            aliases(s.schedule_overrides(None, Some(T0 + DAY)).await.unwrap()),
            ["second"]
        );
        assert!(s
            .delete_schedule_override(&id, "second", T0 + 5)
            .await
            .unwrap());
        assert!(!s
            .delete_schedule_override(&id, "second", T0 + 5)
            .await
            .unwrap());
        assert_eq!(
            aliases(s.schedule_overrides(Some(&id), None).await.unwrap()),
            ["first-again"]
        );
    }
}

#[tokio::test]
async fn deleting_a_user_leaves_gaps_and_drops_their_overrides_and_time_off() {
    for (backend, s) in stores().await {
        let id = s
            .create_schedule(
                &fields("primary"),
                &[rotation(
                    "a",
                    &[Some("alice@example.com"), Some("carol@example.com")],
                )],
                T0,
            )
            .await
            .unwrap();
        s.create_schedule_override(
            &id,
            &override_fields("c", Some("carol@example.com"), T0, &[]),
            T0,
        )
        .await
        .unwrap();
        s.create_time_off(
            &TimeOffFields {
                user: "carol@example.com".into(),
                replacement: None,
                start: T0,
                end: T0 + DAY,
                reason: String::new(),
            },
            T0,
        )
        .await
        .unwrap();
        let away = s
            .create_time_off(
                &TimeOffFields {
                    user: "alice@example.com".into(),
                    replacement: Some("carol@example.com".into()),
                    start: T0,
                    end: T0 + DAY,
                    reason: String::new(),
                },
                T0,
            )
            .await
            .unwrap();
        // Carol leaves the config file.
        s.apply_directory(&directory(&PEOPLE[..2]), T0)
            .await
            .unwrap();
        let got = schedule(&s, &id).await;
        assert_eq!(
            usernames(&got.rotations[0]),
            [Some("alice@example.com"), None],
            "{backend:?}"
        );
        assert_eq!(s.schedule_overrides(Some(&id), None).await.unwrap(), vec![]);
        let left = s.time_off_between(T0, T0 + DAY, None).await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].id.as_str(), &left[0].replacement),
            (away.as_str(), &None)
        );
    }
}

#[tokio::test]
async fn time_off_is_found_by_window_and_user_and_can_be_changed() {
    for (backend, s) in stores().await {
        let t = |user: &str, start: i64, days: i64| TimeOffFields {
            user: user.into(),
            replacement: Some("carol@example.com".into()),
            start,
            end: start + days * DAY,
            reason: "vacation".into(),
        };
        let a = s
            .create_time_off(&t("alice@example.com", T0, 7), T0)
            .await
            .unwrap();
        let b = s
            .create_time_off(&t("bob@example.com", T0 + 7 * DAY, 1), T0 + 1)
            .await
            .unwrap();
        let ghost = s.create_time_off(&t("ghost@example.com", T0, 1), T0).await;
        assert!(
            matches!(&ghost, Err(StoreError::Invalid(m)) if m.contains("ghost")),
            "{backend:?}"
        );

        let ids = |v: Vec<StoredTimeOff>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.time_off_between(T0, T0 + 30 * DAY, None).await.unwrap()),
            [a.clone(), b.clone()]
        );
        // Half-open windows: touching is not overlapping.
        assert_eq!(
            ids(s
                .time_off_between(T0 + 7 * DAY, T0 + 8 * DAY, None)
                .await
                .unwrap()),
            [b.as_str()]
        );
        assert_eq!(
            ids(s.time_off_between(T0 - DAY, T0, None).await.unwrap()),
            Vec::<String>::new()
        );
        let alice = s
            .schedule_user("ALICE@example.com")
            .await
            .unwrap()
            .expect("alice");
        assert_eq!(
            ids(s
                .time_off_between(T0, T0 + 30 * DAY, Some(&alice.id))
                .await
                .unwrap()),
            [a.as_str()]
        );

        let got = s.time_off_by_id(&a).await.unwrap().expect("exists");
        assert_eq!(got.user, alice);
        assert_eq!(
            got.replacement.as_ref().map(|u| u.username.as_str()),
            Some("carol@example.com")
        );
        assert_eq!(
            (got.start, got.end, got.reason.as_str(), got.managed),
            (T0, T0 + 7 * DAY, "vacation", false)
        );

        let changed = TimeOffFields {
            replacement: None,
            reason: "sick".into(),
            ..t(&alice.id, T0 + DAY, 2)
        };
        assert!(s.update_time_off(&a, &changed).await.unwrap());
        let got = s.time_off_by_id(&a).await.unwrap().expect("exists");
        assert_eq!(
            (got.replacement, got.start, got.reason.as_str()),
            (None, T0 + DAY, "sick")
        );
        assert!(s.delete_time_off(&a).await.unwrap());
        assert!(!s.delete_time_off(&a).await.unwrap());
        assert_eq!(s.time_off_by_id(&a).await.unwrap(), None);
    }
}

#[tokio::test]
async fn calendar_tokens_are_one_per_user_and_replaced() {
    for (backend, s) in stores().await {
        let alice = s
            .schedule_user("alice@example.com")
            .await
            .unwrap()
            .expect("alice");
        s.set_calendar_token(&alice.id, "hash-1", T0).await.unwrap();
        assert_eq!(
            s.calendar_token_user("hash-1").await.unwrap(),
            Some(alice.id.clone()),
            "{backend:?}"
        );
        s.set_calendar_token(&alice.id, "hash-2", T0).await.unwrap();
        assert_eq!(s.calendar_token_user("hash-1").await.unwrap(), None);
        assert_eq!(
            s.calendar_token_user("hash-2").await.unwrap(),
            Some(alice.id.clone())
        );
        assert!(s.delete_calendar_token(&alice.id).await.unwrap());
        assert_eq!(s.calendar_token_user("hash-2").await.unwrap(), None);
        assert!(!s.delete_calendar_token(&alice.id).await.unwrap());
    }
}

fn decl(name: &str, participants: &[Option<&str>], overrides: Vec<OverrideFields>) -> ScheduleDecl {
    ScheduleDecl {
        fields: ScheduleFields {
            team: Some("sre".into()),
            ..fields(name)
        },
        rotations: vec![rotation("weekly", participants)],
        overrides,
    }
}

#[tokio::test]
async fn config_schedules_are_applied_idempotently_and_keep_api_additions() {
    for (backend, s) in stores().await {
        let api = s
            .create_schedule(&fields("api-made"), &[], T0)
            .await
            .unwrap();
        let d = ScheduleDirectory {
            schedules: vec![
                decl(
                    "from-file",
                    &[Some("alice@example.com")],
                    vec![override_fields(
                        "config-1",
                        Some("bob@example.com"),
                        T0,
                        &["weekly"],
                    )],
                ),
                decl("second", &[None], vec![]),
            ],
            time_off: vec![TimeOffFields {
                user: "alice@example.com".into(),
                replacement: Some("bob@example.com".into()),
                start: T0,
                end: T0 + DAY,
                reason: "file".into(),
            }],
        };
        s.apply_schedules(&d, T0).await.unwrap();
        let file = s
            .schedule_by_name("from-file")
            .await
            .unwrap()
            .expect("applied");
        assert!(file.managed, "{backend:?}");
        assert_eq!(file.team.as_ref().map(|t| t.name.as_str()), Some("sre"));
        let first_config_override = s
            .schedule_override(&file.id, "config-1")
            .await
            .unwrap()
            .expect("declared override")
            .id;
        // Swaps through the API are allowed on a declared schedule and survive a re-apply.
        s.create_schedule_override(
            &file.id,
            &override_fields("swap", Some("carol@example.com"), T0, &[]),
            T0,
        )
        .await
        .unwrap();
        s.create_time_off(
            &TimeOffFields {
                user: "bob@example.com".into(),
                replacement: None,
                start: T0,
                end: T0 + DAY,
                reason: "api".into(),
            },
            T0,
        )
        .await
        .unwrap();

        s.apply_schedules(&d, T0 + 1).await.unwrap();
        let again = s
            .schedule_by_name("from-file")
            .await
            .unwrap()
            .expect("still there");
        assert_eq!(again.id, file.id);
        assert_eq!(again.rotations[0].id, file.rotations[0].id);
        let overrides = s.schedule_overrides(Some(&file.id), None).await.unwrap();
        let aliases: Vec<(&str, bool)> = overrides
            .iter()
            .map(|o| (o.alias.as_str(), o.managed))
            .collect();
        // The unchanged file override kept its row, so the swap made since still wins.
        assert_eq!(aliases, [("config-1", true), ("swap", false)]);
        assert_eq!(overrides[0].id, first_config_override);
        // A changed file override is written anew and so becomes the latest.
        let mut moved = d.clone();
        moved.schedules[0].overrides[0].end += HOUR;
        s.apply_schedules(&moved, T0 + 2).await.unwrap();
        let aliases: Vec<String> = s
            .schedule_overrides(Some(&file.id), None)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.alias)
            .collect();
        assert_eq!(aliases, ["swap", "config-1"]);
        let offs = s.time_off_between(T0, T0 + DAY, None).await.unwrap();
        let mut reasons: Vec<(&str, bool)> = offs
            .iter()
            .map(|o| (o.reason.as_str(), o.managed))
            .collect();
        reasons.sort();
        assert_eq!(reasons, [("api", false), ("file", true)]);

        // A schedule that left the file is deleted; one made through the API stays; one made
        // through the API with a name the file now declares is taken over.
        let d2 = ScheduleDirectory {
            schedules: vec![decl("API-MADE", &[Some("bob@example.com")], vec![])],
            time_off: vec![],
        };
        s.apply_schedules(&d2, T0 + 2).await.unwrap();
        let all = s.list_schedules().await.unwrap();
        assert_eq!(
            all.iter()
                .map(|x| (x.name.as_str(), x.managed))
                .collect::<Vec<_>>(),
            [("API-MADE", true)]
        );
        assert_eq!(all[0].id, api);
        assert_eq!(
            s.time_off_between(T0, T0 + DAY, None)
                .await
                .unwrap()
                .iter()
                .map(|o| o.reason.as_str())
                .collect::<Vec<_>>(),
            ["api"]
        );

        let bad = ScheduleDirectory {
            schedules: vec![decl("broken", &[Some("ghost@example.com")], vec![])],
            time_off: vec![],
        };
        assert!(matches!(
            s.apply_schedules(&bad, T0).await,
            Err(StoreError::Invalid(_))
        ));
        // The failed apply changed nothing.
        assert_eq!(s.list_schedules().await.unwrap(), all);
    }
}
