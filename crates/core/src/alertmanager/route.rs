//! The routing tree (`route:`), with Alertmanager's semantics:
//!
//! - **Matching** is depth-first, left to right. A node matches when all its matchers hold
//!   (a missing label is `""`). Among its children the first that matches wins, unless that
//!   child has `continue: true`, in which case the following siblings are tried too. A node
//!   none of whose children matches is itself the match.
//! - **Inheritance**: a child takes its parent's `receiver`, `group_by`, `group_wait` (30s at
//!   the root), `group_interval` (5m) and `repeat_interval` (4h) unless it sets them. An empty
//!   `group_by: []` inherits too. `mute_time_intervals` and `active_time_intervals` are *not*
//!   inherited: each node has only its own.
//! - **Matchers** of a node are `match` (equality), `match_re` (anchored regexes) and
//!   `matchers` (the text syntax) together, sorted by name, value and type.
//! - **Keys**: a route's key is its parent's key, `/`, and its matchers (`{}/{env="prod"}`);
//!   an alert group's key is `{route key}:{group labels}` with the labels as Go prints them
//!   (`{}:{alertname="DiskFull"}`). That is the `groupKey` of webhook payloads and what
//!   `opsgenie_configs` hashes (SHA-256) into the alias.

use super::duration::parse_duration;
use super::error::{ConfigErrorKind, ConfigErrors};
use super::labels::{is_valid_label_name, label_set_string, Labels};
use super::matcher::{MatchType, Matcher, Matchers};
use super::yaml::Scalar;
use crate::duration::Duration;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Defaults at the root of the tree.
pub const DEFAULT_GROUP_WAIT: Duration = Duration(std::time::Duration::from_secs(30));
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration(std::time::Duration::from_secs(5 * 60));
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration(std::time::Duration::from_secs(4 * 3600));

/// A route node as written in YAML (the `route:` section of an alertmanager.yml, as is).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    #[serde(default)]
    pub receiver: Option<String>,
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Deprecated in Alertmanager, still accepted: label → exact value.
    #[serde(default)]
    pub r#match: Option<BTreeMap<String, Scalar>>,
    /// Deprecated in Alertmanager, still accepted: label → regular expression.
    #[serde(default)]
    pub match_re: Option<BTreeMap<String, Scalar>>,
    /// Each entry is a matcher list in text syntax (`severity=~"critical|page"`).
    #[serde(default)]
    pub matchers: Option<Vec<String>>,
    #[serde(default)]
    pub mute_time_intervals: Option<Vec<String>>,
    #[serde(default)]
    pub active_time_intervals: Option<Vec<String>>,
    #[serde(default)]
    pub r#continue: bool,
    #[serde(default)]
    pub routes: Option<Vec<RouteSpec>>,
    #[serde(default)]
    pub group_wait: Option<Scalar>,
    #[serde(default)]
    pub group_interval: Option<Scalar>,
    #[serde(default)]
    pub repeat_interval: Option<Scalar>,
}

/// Which labels split alerts into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// These labels (empty: one group for the whole route).
    Labels(BTreeSet<String>),
    /// `group_by: ['...']`: every label, so each distinct label set is its own group.
    All,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy::Labels(BTreeSet::new())
    }
}

/// A node of the checked routing tree, with inherited options resolved.
#[derive(Debug, Clone)]
pub struct Route {
    receiver: String,
    group_by: GroupBy,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    matchers: Matchers,
    continues: bool,
    mute_time_intervals: Vec<String>,
    active_time_intervals: Vec<String>,
    routes: Vec<Route>,
    key: String,
    id: String,
}

impl Route {
    /// Builds a tree from its root as written, checking each node (matchers, regexes,
    /// durations, group_by). Checks that need the rest of the file (receivers, time interval
    /// names, root-only rules) are in [`super::AlertmanagerConfig::check`].
    pub fn from_spec(spec: &RouteSpec) -> Result<Route, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let route = Route::build(spec, None, 0, "route", &mut errors);
        errors.into_result(route)
    }

    /// Builds one node and its children; problems go to `errors` and the node is still
    /// returned, so that every problem of the tree is reported at once.
    pub(crate) fn build(
        spec: &RouteSpec,
        parent: Option<&Route>,
        index: usize,
        at: &str,
        errors: &mut ConfigErrors,
    ) -> Route {
        let inherited = |f: fn(&Route) -> Duration, default: Duration| parent.map_or(default, f);
        let mut duration = |name: &str, value: &Option<Scalar>, inherit: Duration| match value {
            None => inherit,
            Some(text) => match parse_duration(text.as_str()) {
                Ok(d) => d,
                Err(reason) => {
                    errors.push(
                        format!("{at}.{name}"),
                        ConfigErrorKind::BadDuration {
                            value: text.to_string(),
                            reason,
                        },
                    );
                    inherit
                }
            },
        };
        let group_wait = duration(
            "group_wait",
            &spec.group_wait,
            inherited(|r| r.group_wait, DEFAULT_GROUP_WAIT),
        );
        let group_interval = duration(
            "group_interval",
            &spec.group_interval,
            inherited(|r| r.group_interval, DEFAULT_GROUP_INTERVAL),
        );
        let repeat_interval = duration(
            "repeat_interval",
            &spec.repeat_interval,
            inherited(|r| r.repeat_interval, DEFAULT_REPEAT_INTERVAL),
        );
        for (name, value, d) in [
            ("group_interval", &spec.group_interval, group_interval),
            ("repeat_interval", &spec.repeat_interval, repeat_interval),
        ] {
            if value.is_some() && d == Duration::default() {
                errors.invalid(
                    format!("{at}.{name}"),
                    format!("{name} cannot be zero; write e.g. 5m"),
                );
            }
        }

        let group_by = match build_group_by(spec.group_by.as_deref(), at, errors) {
            Some(g) => g,
            None => parent.map(|p| p.group_by.clone()).unwrap_or_default(),
        };
        let mut matchers = build_matchers(spec, at, errors);
        matchers.sort();

        let key = match parent {
            Some(p) => format!("{}/{}", p.key, matchers),
            None => matchers.to_string(),
        };
        let id = match parent {
            Some(p) => format!("{}/{}/{}", p.id, matchers, index),
            None => matchers.to_string(),
        };
        let receiver = match spec.receiver.as_deref() {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => parent.map(|p| p.receiver.clone()).unwrap_or_default(),
        };
        let mut route = Route {
            receiver,
            group_by,
            group_wait,
            group_interval,
            repeat_interval,
            matchers,
            continues: spec.r#continue,
            mute_time_intervals: spec.mute_time_intervals.clone().unwrap_or_default(),
            active_time_intervals: spec.active_time_intervals.clone().unwrap_or_default(),
            routes: Vec::new(),
            key,
            id,
        };
        let children = spec.routes.as_deref().unwrap_or_default();
        route.routes = children
            .iter()
            .enumerate()
            .map(|(i, child)| {
                Route::build(child, Some(&route), i, &format!("{at}.routes[{i}]"), errors)
            })
            .collect();
        route
    }

    /// The nodes an alert with `labels` is routed to, in tree order; empty only when the
    /// root's own matchers fail (a root has none in a valid config).
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        let mut found = Vec::new();
        self.collect_matches(labels, &mut found);
        found
    }

    /// Appends this node's matches to `found`; returns whether there were any.
    fn collect_matches<'a>(&'a self, labels: &Labels, found: &mut Vec<&'a Route>) -> bool {
        if !self.matchers.matches(labels) {
            return false;
        }
        let before = found.len();
        for child in &self.routes {
            if child.collect_matches(labels, found) && !child.continues {
                break;
            }
        }
        if found.len() == before {
            found.push(self);
        }
        true
    }

    /// The labels of `labels` that form the group: those named in `group_by` that the alert
    /// has, or all of them for `...`.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => labels
                .iter()
                .filter(|(name, _)| names.contains(*name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        }
    }

    /// The aggregation group key of an alert routed here: `{route key}:{group labels}`.
    pub fn group_key(&self, labels: &Labels) -> String {
        format!(
            "{}:{}",
            self.key,
            label_set_string(&self.group_labels(labels))
        )
    }

    /// This node and all below it, depth-first, parents before children.
    pub fn walk(&self) -> Vec<&Route> {
        let mut out = Vec::new();
        self.walk_into(&mut out);
        out
    }

    fn walk_into<'a>(&'a self, out: &mut Vec<&'a Route>) {
        out.push(self);
        for child in &self.routes {
            child.walk_into(out);
        }
    }

    pub fn receiver(&self) -> &str {
        &self.receiver
    }

    pub fn group_by(&self) -> &GroupBy {
        &self.group_by
    }

    pub fn group_wait(&self) -> Duration {
        self.group_wait
    }

    pub fn group_interval(&self) -> Duration {
        self.group_interval
    }

    pub fn repeat_interval(&self) -> Duration {
        self.repeat_interval
    }

    /// This node's own matchers, sorted.
    pub fn matchers(&self) -> &Matchers {
        &self.matchers
    }

    /// `continue: true`: siblings after this one are tried even when it matches.
    pub fn continues(&self) -> bool {
        self.continues
    }

    pub fn mute_time_intervals(&self) -> &[String] {
        &self.mute_time_intervals
    }

    pub fn active_time_intervals(&self) -> &[String] {
        &self.active_time_intervals
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Alertmanager's route key (`{}/{team="db"}`); siblings with the same matchers share it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// A key unique in the tree: the key with each node's position among its siblings
    /// (`{}/{team="db"}/0`), as later Alertmanager versions build it. Stable while the tree
    /// is unchanged; use it to store which route a group belongs to.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// `None` when `group_by` is absent or empty (inherit).
fn build_group_by(
    names: Option<&[String]>,
    at: &str,
    errors: &mut ConfigErrors,
) -> Option<GroupBy> {
    let names = names.filter(|n| !n.is_empty())?;
    let at = format!("{at}.group_by");
    let all = names.iter().any(|n| n == "...");
    let mut labels = BTreeSet::new();
    for name in names.iter().filter(|n| *n != "...") {
        if !is_valid_label_name(name) {
            errors.push(at.clone(), ConfigErrorKind::BadLabelName(name.clone()));
        } else if !labels.insert(name.clone()) {
            errors.invalid(at.clone(), format!("duplicated label {name:?} in group_by"));
        }
    }
    if all && !labels.is_empty() {
        errors.invalid(
            at,
            "cannot have wildcard group_by ('...') and other labels at the same time",
        );
    }
    Some(if all {
        GroupBy::All
    } else {
        GroupBy::Labels(labels)
    })
}

fn build_matchers(spec: &RouteSpec, at: &str, errors: &mut ConfigErrors) -> Matchers {
    let mut out = Matchers::default();
    legacy_matchers(
        &mut out,
        spec.r#match.as_ref(),
        spec.match_re.as_ref(),
        &format!("{at}.match"),
        errors,
    );
    for (i, line) in spec.matchers.iter().flatten().enumerate() {
        match Matchers::parse(line) {
            Ok(ms) => ms.into_vec().into_iter().for_each(|m| out.push(m)),
            Err(e) => errors.push(format!("{at}.matchers[{i}]"), e.into()),
        }
    }
    out
}

/// `match` / `match_re` maps (routes and inhibit rules); `at` names the `match` field and
/// `match_re` errors go to `{at}_re`.
pub(crate) fn legacy_matchers(
    out: &mut Matchers,
    equal: Option<&BTreeMap<String, Scalar>>,
    regex: Option<&BTreeMap<String, Scalar>>,
    at: &str,
    errors: &mut ConfigErrors,
) {
    for (name, value) in equal.into_iter().flatten() {
        if is_valid_label_name(name) {
            out.push(Matcher::equal(name, value.as_str()));
        } else {
            errors.push(
                format!("{at}.{name}"),
                ConfigErrorKind::BadLabelName(name.clone()),
            );
        }
    }
    for (name, value) in regex.into_iter().flatten() {
        let field = format!("{at}_re.{name}");
        if !is_valid_label_name(name) {
            errors.push(field, ConfigErrorKind::BadLabelName(name.clone()));
            continue;
        }
        match Matcher::new(MatchType::Regexp, name, value.as_str()) {
            Ok(m) => out.push(m),
            Err(e) => errors.push(field, e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(yaml: &str) -> Route {
        let spec: RouteSpec = serde_yaml::from_str(yaml).unwrap();
        Route::from_spec(&spec).unwrap_or_else(|e| panic!("{e}"))
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn secs(d: Duration) -> u64 {
        d.0.as_secs()
    }

    #[test]
    fn defaults_at_the_root() {
        let root = tree("receiver: default");
        assert_eq!(root.receiver(), "default");
        assert_eq!(secs(root.group_wait()), 30);
        assert_eq!(secs(root.group_interval()), 300);
        assert_eq!(secs(root.repeat_interval()), 4 * 3600);
        assert_eq!(root.group_by(), &GroupBy::default());
        assert_eq!(root.key(), "{}");
        assert_eq!(root.id(), "{}");
    }

    #[test]
    fn group_key_for_a_root_route() {
        let root = tree("receiver: default\ngroup_by: [alertname]");
        let alert = labels(&[("alertname", "DiskFull"), ("instance", "db1")]);
        assert_eq!(
            root.group_labels(&alert),
            labels(&[("alertname", "DiskFull")])
        );
        assert_eq!(root.group_key(&alert), r#"{}:{alertname="DiskFull"}"#);
        // A group_by label the alert lacks is left out, not set to "".
        let root = tree("receiver: default\ngroup_by: [alertname, cluster]");
        assert_eq!(root.group_key(&alert), r#"{}:{alertname="DiskFull"}"#);
        // No group_by: one group for everything.
        assert_eq!(tree("receiver: x").group_key(&alert), "{}:{}");
    }

    #[test]
    fn group_by_all_and_group_key_quoting() {
        let root = tree("receiver: x\ngroup_by: ['...']");
        let alert = labels(&[("b", "say \"hi\"\n"), ("a", "1")]);
        assert_eq!(root.group_by(), &GroupBy::All);
        assert_eq!(root.group_labels(&alert), alert);
        assert_eq!(root.group_key(&alert), r#"{}:{a="1", b="say \"hi\"\n"}"#);
    }

    #[test]
    fn child_keys_and_ids() {
        let root = tree(
            r#"
receiver: x
routes:
- matchers: ['team="db"', 'env=~"prod|staging"']
  group_by: [alertname]
  routes:
  - match: {severity: critical}
- match: {team: db}
  match_re: {env: prod|staging}
"#,
        );
        let child = &root.routes()[0];
        assert_eq!(child.key(), r#"{}/{env=~"prod|staging",team="db"}"#);
        assert_eq!(child.id(), r#"{}/{env=~"prod|staging",team="db"}/0"#);
        let grandchild = &child.routes()[0];
        assert_eq!(
            grandchild.key(),
            r#"{}/{env=~"prod|staging",team="db"}/{severity="critical"}"#
        );
        // Same matchers written the legacy way: same key, different id.
        let twin = &root.routes()[1];
        assert_eq!(twin.key(), child.key());
        assert_ne!(twin.id(), child.id());
        let alert = labels(&[("team", "db"), ("env", "prod"), ("alertname", "Down")]);
        assert_eq!(
            child.group_key(&alert),
            r#"{}/{env=~"prod|staging",team="db"}:{alertname="Down"}"#
        );
    }

    #[test]
    fn walk_is_depth_first() {
        let root = tree(
            "receiver: r\nroutes:\n- receiver: a\n  routes: [{receiver: a1}, {receiver: a2}]\n- receiver: b",
        );
        let order: Vec<&str> = root.walk().iter().map(|r| r.receiver()).collect();
        assert_eq!(order, ["r", "a", "a1", "a2", "b"]);
    }

    #[test]
    fn node_problems_are_all_reported() {
        let spec: RouteSpec = serde_yaml::from_str(
            r#"
receiver: x
group_wait: 30 s
group_by: [alertname, alertname, 'bad-name']
routes:
- matchers: ['a=~"("']
  match_re: {b: '[z-a]'}
  match: {'c-d': x}
  group_interval: 0s
- repeat_interval: 1.5h
  group_by: ['...', cluster]
  matchers: ['a="unterminated']
"#,
        )
        .unwrap();
        let errors = Route::from_spec(&spec).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let expect = [
            "route.group_wait: invalid duration \"30 s\"",
            "route.group_by: duplicated label \"alertname\"",
            "route.group_by: invalid label name \"bad-name\"",
            "route.routes[0].group_interval: group_interval cannot be zero",
            "route.routes[0].match.c-d: invalid label name",
            "route.routes[0].match_re.b: invalid regular expression \"[z-a]\"",
            "route.routes[0].matchers[0]: invalid regular expression \"(\"",
            "route.routes[1].repeat_interval: invalid duration \"1.5h\"",
            "route.routes[1].group_by: cannot have wildcard",
            "route.routes[1].matchers[0]: matcher value contains unescaped double quote",
        ];
        for want in expect {
            assert!(
                text.iter().any(|t| t.starts_with(want)),
                "missing {want:?} in {text:#?}"
            );
        }
        assert_eq!(text.len(), expect.len(), "{text:#?}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_yaml::from_str::<RouteSpec>("receiver: x\ngroup_wiat: 30s").unwrap_err();
        assert!(e.to_string().contains("group_wiat"));
    }
}
