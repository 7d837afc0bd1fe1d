//! Routing table tests: a tree in the style of Alertmanager's own routing tests and
//! documentation (nested routes, `continue`, inheritance, `group_by: ['...']`, legacy and new
//! matchers, regexes), and the answers Alertmanager gives for each alert.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const TREE: &str = r#"
receiver: default
group_by: [alertname]
routes:
- matchers: [owner="team-A"]
  receiver: team-A
  routes:
  - matchers: [env="testing"]
    receiver: testing
    group_by: ['...']
  - match: {env: production}
    receiver: prod-A
    group_wait: 1m
    continue: true
  - match_re: {env: 'produ.*', job: '.*'}
    receiver: prod-B
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: [job]
- match_re: {owner: 'team-(B|C)'}
  group_by: [foo, bar]
  group_wait: 2m
  receiver: team-BC
- matchers: ['group_by="role"']
  group_by: [role]
  routes:
  - matchers: [env="testing"]
    receiver: testing
    routes:
    - matchers: [wait="long"]
      group_wait: 2m
"#;

fn tree() -> Route {
    let spec: RouteSpec = serde_yaml::from_str(TREE).unwrap();
    Route::from_spec(&spec).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn group(names: &[&str]) -> GroupBy {
    GroupBy::Labels(names.iter().map(|s| s.to_string()).collect())
}

/// What Alertmanager reports for one matched route.
#[derive(Debug, PartialEq)]
struct Expect {
    receiver: &'static str,
    key: &'static str,
    group_by: GroupBy,
    group_wait_s: u64,
    group_interval_s: u64,
    repeat_interval_s: u64,
}

fn expect(receiver: &'static str, key: &'static str, group_by: GroupBy) -> Expect {
    Expect {
        receiver,
        key,
        group_by,
        group_wait_s: 30,
        group_interval_s: 300,
        repeat_interval_s: 4 * 3600,
    }
}

fn observed(r: &Route) -> Expect {
    Expect {
        receiver: String::leak(r.receiver().to_string()),
        key: String::leak(r.key().to_string()),
        group_by: r.group_by().clone(),
        group_wait_s: r.group_wait().0.as_secs(),
        group_interval_s: r.group_interval().0.as_secs(),
        repeat_interval_s: r.repeat_interval().0.as_secs(),
    }
}

#[test]
fn routes_like_alertmanager() {
    let root = tree();
    let cases: Vec<(Labels, Vec<Expect>)> = vec![
        (
            labels(&[("owner", "team-A")]),
            vec![expect(
                "team-A",
                r#"{}/{owner="team-A"}"#,
                group(&["alertname"]),
            )],
        ),
        (
            labels(&[("owner", "team-A"), ("env", "unset")]),
            vec![expect(
                "team-A",
                r#"{}/{owner="team-A"}"#,
                group(&["alertname"]),
            )],
        ),
        (
            labels(&[("owner", "team-C")]),
            vec![Expect {
                group_wait_s: 120,
                ..expect(
                    "team-BC",
                    r#"{}/{owner=~"team-(B|C)"}"#,
                    group(&["foo", "bar"]),
                )
            }],
        ),
        (
            // `continue` on prod-A lets prod-B match too; each keeps its own options.
            labels(&[("owner", "team-A"), ("env", "production")]),
            vec![
                Expect {
                    group_wait_s: 60,
                    ..expect(
                        "prod-A",
                        r#"{}/{owner="team-A"}/{env="production"}"#,
                        group(&["alertname"]),
                    )
                },
                Expect {
                    repeat_interval_s: 3600,
                    ..expect(
                        "prod-B",
                        r#"{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}"#,
                        group(&["job"]),
                    )
                },
            ],
        ),
        (
            labels(&[("owner", "team-A"), ("env", "testing")]),
            vec![expect(
                "testing",
                r#"{}/{owner="team-A"}/{env="testing"}"#,
                GroupBy::All,
            )],
        ),
        (
            // The group_by route has no receiver: it inherits the root's.
            labels(&[("group_by", "role")]),
            vec![expect(
                "default",
                r#"{}/{group_by="role"}"#,
                group(&["role"]),
            )],
        ),
        (
            labels(&[("group_by", "role"), ("env", "testing")]),
            vec![expect(
                "testing",
                r#"{}/{group_by="role"}/{env="testing"}"#,
                group(&["role"]),
            )],
        ),
        (
            // Three levels of inheritance: receiver from the parent, group_by from the
            // grandparent, group_wait its own.
            labels(&[("group_by", "role"), ("env", "testing"), ("wait", "long")]),
            vec![Expect {
                group_wait_s: 120,
                ..expect(
                    "testing",
                    r#"{}/{group_by="role"}/{env="testing"}/{wait="long"}"#,
                    group(&["role"]),
                )
            }],
        ),
        (
            labels(&[]),
            vec![expect("default", "{}", group(&["alertname"]))],
        ),
        (
            // Regexes are anchored: neither a prefix nor a suffix matches.
            labels(&[("owner", "team-BC")]),
            vec![expect("default", "{}", group(&["alertname"]))],
        ),
        (
            labels(&[("owner", "xteam-B")]),
            vec![expect("default", "{}", group(&["alertname"]))],
        ),
        (
            // First matching sibling wins: team-A is tried before team-(B|C).
            labels(&[("owner", "team-A"), ("group_by", "role")]),
            vec![expect(
                "team-A",
                r#"{}/{owner="team-A"}"#,
                group(&["alertname"]),
            )],
        ),
    ];
    for (alert, want) in cases {
        let got: Vec<Expect> = root.matching(&alert).into_iter().map(observed).collect();
        assert_eq!(got, want, "alert {alert:?}");
    }
}

#[test]
fn group_keys_of_matched_routes() {
    let root = tree();
    let alert = labels(&[
        ("owner", "team-A"),
        ("env", "production"),
        ("job", "api"),
        ("alertname", "HighLatency"),
    ]);
    let keys: Vec<String> = root
        .matching(&alert)
        .iter()
        .map(|r| r.group_key(&alert))
        .collect();
    assert_eq!(
        keys,
        [
            r#"{}/{owner="team-A"}/{env="production"}:{alertname="HighLatency"}"#,
            r#"{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}:{job="api"}"#,
        ]
    );
}

const MISSING_LABELS: &str = r#"
receiver: default
routes:
- matchers: ['env!="prod"', 'region=""']
  receiver: no-region-not-prod
- matchers: ['service=~".*"']
  receiver: anything
  continue: true
- matchers: ['service!~"db|cache"']
  receiver: not-storage
"#;

#[test]
fn missing_labels_read_as_empty() {
    let spec: RouteSpec = serde_yaml::from_str(MISSING_LABELS).unwrap();
    let root = Route::from_spec(&spec).unwrap();
    let receivers = |pairs: &[(&str, &str)]| -> Vec<String> {
        root.matching(&labels(pairs))
            .iter()
            .map(|r| r.receiver().to_string())
            .collect()
    };
    assert_eq!(receivers(&[]), ["no-region-not-prod"]);
    assert_eq!(receivers(&[("env", "prod")]), ["anything", "not-storage"]);
    assert_eq!(
        receivers(&[("env", "prod"), ("service", "db")]),
        ["anything"]
    );
    assert_eq!(
        receivers(&[("region", "eu"), ("service", "web")]),
        ["anything", "not-storage"]
    );
}

const CONTINUE: &str = r#"
receiver: default
routes:
- matchers: [team=db]
  receiver: db-log
  continue: true
- matchers: [severity=critical]
  receiver: pager
- matchers: [team=db]
  receiver: db
- matchers: [team=db]
  receiver: never
  continue: true
"#;

#[test]
fn continue_only_lets_later_siblings_be_tried() {
    let spec: RouteSpec = serde_yaml::from_str(CONTINUE).unwrap();
    let root = Route::from_spec(&spec).unwrap();
    let receivers = |pairs: &[(&str, &str)]| -> Vec<String> {
        root.matching(&labels(pairs))
            .iter()
            .map(|r| r.receiver().to_string())
            .collect()
    };
    // db-log continues; pager does not match; db matches and stops the search.
    assert_eq!(receivers(&[("team", "db")]), ["db-log", "db"]);
    // pager matches and does not continue: db is not tried.
    assert_eq!(
        receivers(&[("team", "db"), ("severity", "critical")]),
        ["db-log", "pager"]
    );
    // Only a continuing route matches: it is still the answer, not the root.
    let only_continue: RouteSpec = serde_yaml::from_str(
        "receiver: default\nroutes: [{matchers: [a=b], receiver: x, continue: true}]",
    )
    .unwrap();
    let root2 = Route::from_spec(&only_continue).unwrap();
    let got: Vec<&str> = root2
        .matching(&labels(&[("a", "b")]))
        .iter()
        .map(|r| r.receiver())
        .collect();
    assert_eq!(got, ["x"]);
}

#[test]
fn a_parent_whose_children_do_not_match_is_the_match() {
    let spec: RouteSpec = serde_yaml::from_str(
        "receiver: default\nroutes:\n- matchers: [team=db]\n  receiver: db\n  routes: [{matchers: [severity=critical], receiver: db-pager}]",
    )
    .unwrap();
    let root = Route::from_spec(&spec).unwrap();
    let got = |pairs: &[(&str, &str)]| -> Vec<String> {
        root.matching(&labels(pairs))
            .iter()
            .map(|r| r.receiver().to_string())
            .collect()
    };
    assert_eq!(got(&[("team", "db"), ("severity", "warning")]), ["db"]);
    assert_eq!(
        got(&[("team", "db"), ("severity", "critical")]),
        ["db-pager"]
    );
    assert_eq!(
        got(&[("team", "web"), ("severity", "critical")]),
        ["default"]
    );
}

#[test]
fn group_by_inheritance_and_override() {
    let spec: RouteSpec = serde_yaml::from_str(
        r#"
receiver: r
group_by: ['...']
routes:
- matchers: [a=1]
  routes:
  - matchers: [b=1]
    group_by: [cluster]
    routes: [{matchers: [c=1]}]
  - matchers: [b=2]
    group_by: []
"#,
    )
    .unwrap();
    let root = Route::from_spec(&spec).unwrap();
    let route_for = |pairs: &[(&str, &str)]| root.matching(&labels(pairs))[0].group_by().clone();
    assert_eq!(route_for(&[("a", "1")]), GroupBy::All);
    assert_eq!(route_for(&[("a", "1"), ("b", "1")]), group(&["cluster"]));
    assert_eq!(
        route_for(&[("a", "1"), ("b", "1"), ("c", "1")]),
        group(&["cluster"])
    );
    // An empty list inherits, as in Alertmanager.
    assert_eq!(route_for(&[("a", "1"), ("b", "2")]), GroupBy::All);
}

#[test]
fn matchers_written_three_ways_are_one_sorted_list() {
    let spec: RouteSpec = serde_yaml::from_str(
        r#"
receiver: r
routes:
- match: {zone: eu, code: 500}
  match_re: {service: 'api|web'}
  matchers: ['severity=~"critical|page", team!="web"', 'env=prod']
"#,
    )
    .unwrap();
    let root = Route::from_spec(&spec).unwrap();
    assert_eq!(
        root.routes()[0].matchers().to_string(),
        r#"{code="500",env="prod",service=~"api|web",severity=~"critical|page",team!="web",zone="eu"}"#
    );
}

fn any_labels() -> impl Strategy<Value = Labels> {
    let names = ["owner", "env", "job", "group_by", "wait", "alertname"];
    let values = [
        "team-A",
        "team-B",
        "team-C",
        "production",
        "testing",
        "role",
        "long",
        "x",
        "",
    ];
    proptest::collection::btree_map(
        proptest::sample::select(names.to_vec()).prop_map(str::to_string),
        proptest::sample::select(values.to_vec()).prop_map(str::to_string),
        0..6,
    )
}

/// The ancestors of each node, root first, by id.
fn ancestors(root: &Route) -> std::collections::HashMap<String, Vec<&Route>> {
    fn walk<'a>(
        r: &'a Route,
        path: &mut Vec<&'a Route>,
        out: &mut std::collections::HashMap<String, Vec<&'a Route>>,
    ) {
        out.insert(r.id().to_string(), path.clone());
        path.push(r);
        for c in r.routes() {
            walk(c, path, out);
        }
        path.pop();
    }
    let mut out = std::collections::HashMap::new();
    walk(root, &mut Vec::new(), &mut out);
    out
}

proptest! {
    #[test]
    fn every_alert_gets_distinct_routes_whose_whole_path_matches(alert in any_labels()) {
        let root = tree();
        let parents = ancestors(&root);
        let found = root.matching(&alert);
        prop_assert!(!found.is_empty());
        let ids: BTreeSet<&str> = found.iter().map(|r| r.id()).collect();
        prop_assert_eq!(ids.len(), found.len());
        for r in &found {
            prop_assert!(r.matchers().matches(&alert));
            for p in &parents[r.id()] {
                prop_assert!(p.matchers().matches(&alert));
            }
            // The group key starts with the route key and only holds the alert's labels.
            let key = r.group_key(&alert);
            let prefix = format!("{}:", r.key());
            prop_assert!(key.starts_with(&prefix));
            for (name, value) in r.group_labels(&alert) {
                prop_assert_eq!(alert.get(&name), Some(&value));
            }
        }
    }

    #[test]
    fn fingerprint_depends_on_content_not_insertion_order(alert in any_labels()) {
        let reversed: Labels = alert.iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect();
        prop_assert_eq!(Fingerprint::of(&alert), Fingerprint::of(&reversed));
    }
}
