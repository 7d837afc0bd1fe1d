//! The directory storage contract (users, teams, contacts, notification rules, escalation
//! policies, team routing rules, config apply), run against every backend.

use klaxon_core::escalation::{
    EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient, RecipientKind, Repeat,
    TeamMember, TeamRole,
};
use klaxon_core::notification::{
    ContactKind, ContactMethod, ContactSpec, NotificationProfile, NotificationRule, ProfileSpec,
    Step,
};
use klaxon_core::routing::{Criteria, Target, TargetKind};
use klaxon_store::testing::{backends, fresh_database};
use klaxon_store::*;

const T0: i64 = 1_767_600_000_000;

fn user(name: &str) -> UserSpec {
    UserSpec {
        username: name.into(),
        full_name: format!("Full {name}"),
        role: "user".into(),
        time_zone: "Europe/Berlin".into(),
    }
}

fn base_directory() -> DirectorySpec {
    DirectorySpec {
        users: ["alice@example.com", "bob@example.com", "carol@example.com"]
            .iter()
            .map(|u| user(u))
            .collect(),
        teams: vec![TeamSpec {
            name: "sre".into(),
            description: "site reliability".into(),
            members: vec![
                ("carol@example.com".into(), "user".into()),
                ("alice@example.com".into(), "admin".into()),
            ],
        }],
        integrations: vec![],
    }
}

async fn stores() -> Vec<(Dialect, Store)> {
    let mut v = vec![];
    for b in backends() {
        let url = fresh_database(b).await;
        let store = Store::connect(&url).await.expect("connect");
        store
            .apply_directory(&base_directory(), T0)
            .await
            .expect("directory");
        v.push((b, store));
    }
    v
}

fn contact(id: &str, kind: ContactKind, to: &str) -> ContactMethod {
    ContactMethod::new(ContactSpec {
        id: id.into(),
        kind,
        to: to.into(),
        enabled: true,
    })
    .expect("contact")
}

fn rule(name: &str, steps: &[(&str, &str)]) -> NotificationRule {
    NotificationRule {
        name: name.into(),
        criteria: Default::default(),
        steps: steps
            .iter()
            .map(|(after, c)| Step {
                send_after: after.parse().unwrap(),
                contact: c.to_string(),
                enabled: true,
            })
            .collect(),
        loop_after: None,
        enabled: true,
    }
}

fn policy(rules: Vec<(&str, NotifyType, Recipient)>, repeat: Option<Repeat>) -> EscalationPolicy {
    EscalationPolicy::new(EscalationSpec {
        rules: rules
            .into_iter()
            .map(|(delay, notify_type, recipient)| EscalationRule {
                condition: Default::default(),
                notify_type,
                delay: delay.parse().unwrap(),
                recipient,
            })
            .collect(),
        repeat,
    })
    .expect("policy")
}

#[tokio::test]
async fn users_and_teams_are_found_by_id_or_name() {
    for (b, s) in stores().await {
        let alice = s
            .user_by_name_or_id("ALICE@example.com")
            .await
            .unwrap()
            .expect("alice");
        assert!(alice.managed, "{b:?}");
        assert_eq!(alice.time_zone, "Europe/Berlin");
        let same = s.user_by_name_or_id(&alice.id).await.unwrap().unwrap();
        assert_eq!(same, alice);
        assert!(s.user_by_name_or_id("nobody").await.unwrap().is_none());

        let id = s
            .create_user(
                &UserFields {
                    username: "dave@example.com".into(),
                    full_name: "Dave".into(),
                    role: "user".into(),
                    time_zone: "UTC".into(),
                },
                T0,
            )
            .await
            .unwrap();
        let dup = s
            .create_user(
                &UserFields {
                    username: "DAVE@example.com".into(),
                    full_name: "".into(),
                    role: "user".into(),
                    time_zone: "UTC".into(),
                },
                T0,
            )
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{b:?}: {dup:?}"
        );
        let (page, total) = s.list_users(1, 2).await.unwrap();
        assert_eq!(total, 4);
        assert_eq!(
            page.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(),
            ["bob@example.com", "carol@example.com"]
        );

        let team = s.team_by_name_or_id("SRE").await.unwrap().expect("team");
        assert!(team.managed);
        assert_eq!(
            team.members
                .iter()
                .map(|m| (m.user.username.as_str(), m.role))
                .collect::<Vec<_>>(),
            [
                ("alice@example.com", TeamRole::Admin),
                ("carol@example.com", TeamRole::User)
            ]
        );
        assert_eq!(
            s.team_members(&team.id).await.unwrap(),
            vec![
                TeamMember {
                    user: alice.id.clone(),
                    role: TeamRole::Admin
                },
                TeamMember {
                    user: team.members[1].user.id.clone(),
                    role: TeamRole::User
                },
            ]
        );

        let ops = s
            .create_team(
                "ops",
                "",
                &[("dave@example.com".into(), TeamRole::Admin)],
                T0,
            )
            .await
            .unwrap();
        assert!(matches!(
            s.create_team("OPS", "", &[], T0).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.create_team("x", "", &[("ghost".into(), TeamRole::User)], T0)
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(
            s.team_by_name_or_id("x").await.unwrap().is_none(),
            "no half-written team"
        );
        assert!(s
            .add_team_member("ops", "bob@example.com", TeamRole::User)
            .await
            .unwrap());
        assert_eq!(s.team_members(&ops).await.unwrap().len(), 2);
        assert!(s.remove_team_member(&ops, &id).await.unwrap());
        assert!(!s.remove_team_member(&ops, &id).await.unwrap());
        assert!(s.delete_user(&id).await.unwrap());
        assert!(s.delete_team(&ops).await.unwrap());
        assert_eq!(s.list_teams().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn contacts_and_rules_make_a_checked_profile() {
    for (b, s) in stores().await {
        let u = "bob@example.com";
        let empty = s.notification_profile(u).await.unwrap().expect("bob");
        assert!(empty.profile.contacts().is_empty() && empty.profile.rules().is_empty());
        assert_eq!(empty.full_name, "Full bob@example.com");

        s.create_contact_method(u, &contact("push", ContactKind::Mobile, "bob-pager"), T0)
            .await
            .unwrap()
            .unwrap();
        s.create_contact_method(u, &contact("sms", ContactKind::Sms, "+49 170 1234567"), T0)
            .await
            .unwrap()
            .unwrap();
        let dup = s
            .create_contact_method(u, &contact("push", ContactKind::Email, "b@example.com"), T0)
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{b:?}: {dup:?}"
        );
        assert!(s
            .create_contact_method("ghost", &contact("x", ContactKind::Mobile, "x"), T0)
            .await
            .unwrap()
            .is_none());

        let urgent = s
            .create_notification_rule(
                u,
                &rule("urgent", &[("0", "push"), ("1m", "sms")]),
                None,
                T0,
            )
            .await
            .unwrap()
            .expect("rule id");
        let first = s
            .create_notification_rule(u, &rule("first", &[("0", "sms")]), Some(0), T0)
            .await
            .unwrap()
            .unwrap();
        let bad = s
            .create_notification_rule(u, &rule("bad", &[("0", "voice")]), None, T0)
            .await;
        match bad {
            Err(StoreError::Invalid(m)) => assert!(m.contains("no contact method `voice`"), "{m}"),
            other => panic!("{b:?}: {other:?}"),
        }
        let dup = s
            .create_notification_rule(u, &rule("URGENT", &[("0", "sms")]), None, T0)
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{b:?}: {dup:?}"
        );

        let p = s.notification_profile(u).await.unwrap().unwrap();
        assert_eq!(
            p.profile
                .rules()
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["first", "urgent"]
        );
        assert_eq!(p.profile.contact("sms").unwrap().to(), "+491701234567");
        let by_id = s.notification_profile(&p.user_id).await.unwrap().unwrap();
        assert_eq!(by_id, p);

        // A contact in use cannot go; once the rules stop using it, it can.
        let refused = s.delete_contact_method(u, "sms", T0).await;
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{refused:?}"
        );
        assert_eq!(
            s.update_notification_rule(u, &urgent, &rule("urgent", &[("0", "push")]), Some(0), T0)
                .await
                .unwrap(),
            Some(true)
        );
        assert_eq!(
            s.delete_notification_rule(u, &first, T0).await.unwrap(),
            Some(true)
        );
        assert_eq!(
            s.delete_contact_method(u, "sms", T0).await.unwrap(),
            Some(true)
        );
        assert_eq!(
            s.delete_contact_method(u, "sms", T0).await.unwrap(),
            Some(false)
        );

        let mut off = ContactSpec::from(contact("push", ContactKind::Mobile, "bob-pager"));
        off.enabled = false;
        let off = ContactMethod::new(off).unwrap();
        assert_eq!(
            s.update_contact_method(u, &off, T0).await.unwrap(),
            Some(true)
        );
        let p = s.notification_profile(u).await.unwrap().unwrap();
        assert!(!p.profile.contact("push").unwrap().enabled());
        assert_eq!(p.profile.rules()[0].steps.len(), 1);
        let rules = s.notification_rules(&p.user_id).await.unwrap();
        assert_eq!(rules[0].id, urgent);
    }
}

#[tokio::test]
async fn escalation_policies_keep_ids_and_resolve_names() {
    for (b, s) in stores().await {
        let sched = s
            .create_schedule(
                &ScheduleFields {
                    name: "primary".into(),
                    description: String::new(),
                    time_zone: "UTC".into(),
                    mode: klaxon_core::schedule::ScheduleMode::Cumulative,
                    enabled: true,
                    team: Some("sre".into()),
                },
                &[],
                T0,
            )
            .await
            .unwrap();
        let p = policy(
            vec![
                ("0", NotifyType::Default, Recipient::schedule("primary")),
                (
                    "5m",
                    NotifyType::Default,
                    Recipient::user("bob@example.com"),
                ),
                ("10m", NotifyType::All, Recipient::team("sre")),
            ],
            Some(Repeat {
                wait_interval: "1m".parse().unwrap(),
                count: 2,
                reset_recipient_states: false,
                close_alert_after_all: true,
            }),
        );
        let fields = EscalationFields {
            name: "SRE escalation".into(),
            description: "pages".into(),
            team: Some("sre".into()),
            policy: p,
        };
        let id = s.create_escalation(&fields, T0).await.unwrap();
        let dup = s.create_escalation(&fields, T0).await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "{b:?}: {dup:?}"
        );

        let rec = s
            .escalation_policy("sre ESCALATION")
            .await
            .unwrap()
            .expect("by name");
        assert_eq!(rec.id, id);
        let team = s.team_by_name_or_id("sre").await.unwrap().unwrap();
        assert_eq!(rec.team_id.as_deref(), Some(team.id.as_str()));
        let bob = s
            .user_by_name_or_id("bob@example.com")
            .await
            .unwrap()
            .unwrap();
        let ids: Vec<(RecipientKind, &str)> = rec
            .policy
            .rules()
            .iter()
            .map(|r| (r.recipient.kind, r.recipient.id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                (RecipientKind::Schedule, sched.as_str()),
                (RecipientKind::User, bob.id.as_str()),
                (RecipientKind::Team, team.id.as_str())
            ]
        );
        assert_eq!(rec.policy.repeat_count(), 2);
        assert_eq!(s.escalation_policy(&id).await.unwrap().unwrap(), rec);

        let ghost = EscalationFields {
            name: "ghostly".into(),
            policy: policy(
                vec![(
                    "0",
                    NotifyType::Default,
                    Recipient::user("ghost@example.com"),
                )],
                None,
            ),
            ..fields.clone()
        };
        match s.create_escalation(&ghost, T0).await {
            Err(StoreError::Invalid(m)) => assert!(m.contains("ghost@example.com"), "{m}"),
            other => panic!("{b:?}: {other:?}"),
        }
        assert!(s.escalation_policy("ghostly").await.unwrap().is_none());

        let renamed = EscalationFields {
            name: "renamed".into(),
            ..fields.clone()
        };
        assert!(s.update_escalation(&id, &renamed, T0 + 1).await.unwrap());
        let stored = s.escalation("renamed").await.unwrap().unwrap();
        assert_eq!(stored.description, "pages");
        assert!(!stored.managed);
        assert_eq!(stored.updated_at, T0 + 1);
        assert_eq!(s.list_escalations().await.unwrap().len(), 1);
        assert!(s.delete_escalation(&id).await.unwrap());
        assert!(s.escalation_policy(&id).await.unwrap().is_none());
    }
}

fn routing(name: &str, criteria: &str, notify: Target) -> RoutingRuleFields {
    RoutingRuleFields {
        name: name.into(),
        is_default: false,
        criteria: serde_json::from_str(criteria).unwrap(),
        time_restriction: None,
        time_zone: None,
        notify,
    }
}

#[tokio::test]
async fn routing_rules_keep_their_order_and_the_default_last() {
    for (b, s) in stores().await {
        let team = s.team_by_name_or_id("sre").await.unwrap().unwrap();
        let esc = s
            .create_escalation(
                &EscalationFields {
                    name: "sre_escalation".into(),
                    description: String::new(),
                    team: Some(team.id.clone()),
                    policy: policy(vec![("0", NotifyType::All, Recipient::team("sre"))], None),
                },
                T0,
            )
            .await
            .unwrap();
        let default = RoutingRuleFields {
            is_default: true,
            ..routing(
                "Default",
                r#"{"type":"match-all"}"#,
                Target::escalation("sre_escalation"),
            )
        };
        let d = s
            .create_team_routing_rule("sre", &default, None, T0)
            .await
            .unwrap()
            .unwrap();
        let p1 = r#"{"type":"match-all-conditions","conditions":[{"field":"priority","operation":"equals","expectedValue":"P1"}]}"#;
        let a = s
            .create_team_routing_rule("sre", &routing("a", p1, Target::none()), None, T0)
            .await
            .unwrap()
            .unwrap();
        let mut with_tz = routing(
            "b",
            r#"{"type":"match-all"}"#,
            Target::escalation(esc.clone()),
        );
        with_tz.time_zone = Some("Europe/Berlin".into());
        with_tz.time_restriction = Some(
            serde_json::from_str(r#"{"type":"time-of-day","restriction":{"startHour":9,"startMin":0,"endHour":17,"endMin":0}}"#)
                .unwrap(),
        );
        let bb = s
            .create_team_routing_rule(&team.id, &with_tz, Some(0), T0)
            .await
            .unwrap()
            .unwrap();
        let ghost = s
            .create_team_routing_rule("sre", &routing("g", p1, Target::schedule("nope")), None, T0)
            .await;
        assert!(
            matches!(ghost, Err(StoreError::Invalid(_))),
            "{b:?}: {ghost:?}"
        );
        assert!(s
            .create_team_routing_rule("nosuchteam", &routing("g", p1, Target::none()), None, T0)
            .await
            .unwrap()
            .is_none());

        let rules = s.team_routing_rules(&team.id).await.unwrap();
        assert_eq!(
            rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            [bb.as_str(), a.as_str(), d.as_str()],
            "{b:?}"
        );
        assert_eq!(rules[0].notify.kind, TargetKind::Escalation);
        assert_eq!(rules[0].notify.id.as_deref(), Some(esc.as_str()));
        assert_eq!(rules[0].notify.name.as_deref(), Some("sre_escalation"));
        assert_eq!(
            rules[0].time_zone.map(|z| z.to_string()).as_deref(),
            Some("Europe/Berlin")
        );
        assert!(rules[0].time_restriction.is_some());
        assert_eq!(rules[1].criteria.conditions().len(), 1);
        assert!(rules[2].is_default);
        assert_eq!(rules[2].criteria, Criteria::match_all());

        // Moving a rule to the end keeps the default rule last.
        assert!(s
            .update_team_routing_rule(&team.id, &bb, &with_tz, Some(9))
            .await
            .unwrap());
        let order: Vec<String> = s
            .team_routing_rules(&team.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(order, [a.clone(), bb.clone(), d.clone()]);
        assert!(matches!(
            s.delete_team_routing_rule(&team.id, &d).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(s.delete_team_routing_rule(&team.id, &a).await.unwrap());
        assert_eq!(s.team_routing_rules(&team.id).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn config_apply_replaces_the_declared_directory() {
    for (b, s) in stores().await {
        let profile = NotificationProfile::new(ProfileSpec {
            contacts: vec![
                contact("push", ContactKind::Mobile, "alice"),
                contact("mail", ContactKind::Email, "alice@example.com"),
            ],
            rules: vec![rule("all", &[("0", "push"), ("2m", "mail")])],
        })
        .unwrap();
        let decl = DirectoryDecl {
            profiles: vec![ProfileDecl {
                username: "alice@example.com".into(),
                profile: profile.clone(),
            }],
            escalations: vec![EscalationFields {
                name: "sre_escalation".into(),
                description: "from the file".into(),
                team: Some("sre".into()),
                policy: policy(
                    vec![
                        (
                            "0",
                            NotifyType::Default,
                            Recipient::user("alice@example.com"),
                        ),
                        ("5m", NotifyType::Admins, Recipient::team("sre")),
                    ],
                    None,
                ),
            }],
            routing: vec![RoutingDecl {
                team: "sre".into(),
                rules: vec![RoutingRuleFields {
                    is_default: true,
                    ..routing(
                        "Default",
                        r#"{"type":"match-all"}"#,
                        Target::escalation("sre_escalation"),
                    )
                }],
            }],
        };
        s.apply_directory_decl(&decl, T0).await.expect("apply");
        // An API-created policy survives a re-apply; a second apply changes nothing else.
        s.create_escalation(
            &EscalationFields {
                name: "api-made".into(),
                description: String::new(),
                team: None,
                policy: policy(
                    vec![("0", NotifyType::Default, Recipient::user("bob@example.com"))],
                    None,
                ),
            },
            T0,
        )
        .await
        .unwrap();
        let rule_ids = |s: Store| async move {
            let alice = s
                .user_by_name_or_id("alice@example.com")
                .await
                .unwrap()
                .unwrap();
            s.notification_rules(&alice.id).await.unwrap()
        };
        let before = rule_ids(s.clone()).await;
        s.apply_directory_decl(&decl, T0 + 1)
            .await
            .expect("re-apply");
        assert_eq!(
            rule_ids(s.clone()).await,
            before,
            "{b:?}: unchanged rules keep their ids"
        );

        let alice = s
            .notification_profile("alice@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(alice.profile, profile);
        let esc = s.escalation("sre_escalation").await.unwrap().unwrap();
        assert!(esc.managed);
        assert_eq!(esc.record.policy.rules()[0].recipient.id, alice.user_id);
        let team = s.team_by_name_or_id("sre").await.unwrap().unwrap();
        let rules = s.team_routing_rules(&team.id).await.unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].notify.id.as_deref(), Some(esc.record.id.as_str()));

        // The file shrinks: alice's contacts go, the managed policy goes, the API one stays.
        s.apply_directory_decl(
            &DirectoryDecl {
                routing: vec![RoutingDecl {
                    team: "sre".into(),
                    rules: vec![RoutingRuleFields {
                        is_default: true,
                        ..routing("Default", r#"{"type":"match-all"}"#, Target::none())
                    }],
                }],
                ..DirectoryDecl::default()
            },
            T0 + 2,
        )
        .await
        .unwrap();
        let alice = s
            .notification_profile("alice@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(alice.profile.contacts().is_empty());
        assert!(s.escalation("sre_escalation").await.unwrap().is_none());
        assert!(s.escalation("api-made").await.unwrap().is_some());
        let rules = s.team_routing_rules(&team.id).await.unwrap();
        assert_eq!(rules[0].notify, Target::none());

        // A profile for a user the file does not declare is refused, and nothing is written.
        let bad = DirectoryDecl {
            profiles: vec![ProfileDecl {
                username: "nobody@example.com".into(),
                profile: profile.clone(),
            }],
            ..DirectoryDecl::default()
        };
        assert!(matches!(
            s.apply_directory_decl(&bad, T0 + 3).await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(s.team_routing_rules(&team.id).await.unwrap().len(), 1);
    }
}
