//! The Alertmanager sections of a configuration file (`route:`, `inhibit_rules:`,
//! `time_intervals:`, `mute_time_intervals:`, `receivers:`) and the checks `amtool
//! check-config` makes across them. [`AlertmanagerConfig::check`] turns the file as written
//! into [`Rules`] or reports every problem with its path.

use super::error::{ConfigErrorKind, ConfigErrors};
use super::inhibit::{self, InhibitRule, InhibitRuleSpec};
use super::labels::{Fingerprint, Labels};
use super::route::{Route, RouteSpec};
use super::time_interval::{any_contains, NamedTimeIntervalSpec, TimeInterval};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// An alertmanager.yml, or the same sections inside Klaxon's own file, as written. Sections
/// Klaxon does not evaluate (`global`, `templates`, the notifier settings of `receivers`) are
/// kept as raw YAML; unknown top-level keys are refused, as Alertmanager refuses them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    #[serde(default)]
    pub global: Option<serde_yaml::Value>,
    #[serde(default)]
    pub route: Option<RouteSpec>,
    #[serde(default)]
    pub inhibit_rules: Option<Vec<InhibitRuleSpec>>,
    #[serde(default)]
    pub receivers: Option<Vec<ReceiverSpec>>,
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// The older name of `time_intervals`; both may be used, names shared.
    #[serde(default)]
    pub mute_time_intervals: Option<Vec<NamedTimeIntervalSpec>>,
    #[serde(default)]
    pub time_intervals: Option<Vec<NamedTimeIntervalSpec>>,
}

/// A receiver: its name, and its notifier settings (`webhook_configs`, …) left as YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ReceiverSpec {
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_yaml::Value>,
}

/// Why a route's notifications are held back at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeMute {
    /// Inside this interval of the route's `mute_time_intervals`.
    MuteInterval(String),
    /// Outside every interval of the route's `active_time_intervals`.
    OutsideActiveIntervals,
}

/// The checked rules of a configuration: what the engine evaluates.
#[derive(Debug, Clone)]
pub struct Rules {
    route: Route,
    inhibit_rules: Vec<InhibitRule>,
    time_intervals: BTreeMap<String, Vec<TimeInterval>>,
}

impl AlertmanagerConfig {
    /// Parses YAML text; a syntax or type error carries its line and column.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigErrors> {
        serde_yaml::from_str(text).map_err(|e| {
            let mut errors = ConfigErrors::default();
            let at = match e.location() {
                Some(l) => format!("line {} column {}", l.line(), l.column()),
                None => "yaml".to_string(),
            };
            errors.push(at, ConfigErrorKind::Yaml(e.to_string()));
            errors
        })
    }

    /// The names under `receivers:`.
    pub fn receiver_names(&self) -> Vec<&str> {
        self.receivers
            .iter()
            .flatten()
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Checks everything `amtool check-config` checks and builds the rules. Routes may only
    /// name receivers in `known_receivers` (pass [`Self::receiver_names`] for a plain
    /// alertmanager.yml, or Klaxon's teams and escalation policies).
    pub fn check<'a>(
        &self,
        known_receivers: impl IntoIterator<Item = &'a str>,
    ) -> Result<Rules, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let known: BTreeSet<&str> = known_receivers.into_iter().collect();
        self.check_receivers_section(&mut errors);

        let time_intervals = self.build_time_intervals(&mut errors);

        let route = match &self.route {
            None => {
                errors.invalid(
                    "route",
                    "no route provided; add a route: section with at least a receiver",
                );
                None
            }
            Some(spec) => {
                check_root(spec, &mut errors);
                check_references(spec, "route", &known, &time_intervals, &mut errors);
                Some(Route::build(spec, None, 0, "route", &mut errors))
            }
        };

        let inhibit_rules = self
            .inhibit_rules
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, spec)| InhibitRule::build(spec, &format!("inhibit_rules[{i}]"), &mut errors))
            .collect();

        match route {
            Some(route) if errors.is_empty() => Ok(Rules {
                route,
                inhibit_rules,
                time_intervals,
            }),
            _ => Err(errors),
        }
    }

    fn check_receivers_section(&self, errors: &mut ConfigErrors) {
        let mut seen = BTreeSet::new();
        for (i, r) in self.receivers.iter().flatten().enumerate() {
            if r.name.is_empty() {
                errors.invalid(format!("receivers[{i}]"), "missing name in receiver");
            } else if !seen.insert(r.name.as_str()) {
                errors.invalid(
                    format!("receivers[{i}]"),
                    format!("notification config name {:?} is not unique", r.name),
                );
            }
        }
    }

    fn build_time_intervals(
        &self,
        errors: &mut ConfigErrors,
    ) -> BTreeMap<String, Vec<TimeInterval>> {
        let mut out = BTreeMap::new();
        let sections = [
            (
                "mute_time_intervals",
                "mute time interval",
                &self.mute_time_intervals,
            ),
            ("time_intervals", "time interval", &self.time_intervals),
        ];
        for (section, what, list) in sections {
            for (i, named) in list.iter().flatten().enumerate() {
                let at = format!("{section}[{i}]");
                if named.name.is_empty() {
                    errors.invalid(at, format!("missing name in {what}"));
                    continue;
                }
                if out.contains_key(&named.name) {
                    errors.invalid(
                        at.clone(),
                        format!("time interval {:?} is not unique", named.name),
                    );
                    continue;
                }
                let intervals = named
                    .time_intervals
                    .iter()
                    .enumerate()
                    .filter_map(|(j, spec)| {
                        TimeInterval::build(spec, &format!("{at}.time_intervals[{j}]"), errors)
                    })
                    .collect();
                out.insert(named.name.clone(), intervals);
            }
        }
        out
    }
}

/// Rules only the root obeys: it is the fallback, so it names a receiver and matches all.
fn check_root(spec: &RouteSpec, errors: &mut ConfigErrors) {
    if spec.receiver.as_deref().unwrap_or_default().is_empty() {
        errors.invalid(
            "route.receiver",
            "root route must specify a default receiver",
        );
    }
    let has = |m: &Option<BTreeMap<_, _>>| m.as_ref().is_some_and(|m| !m.is_empty());
    if has(&spec.r#match)
        || has(&spec.match_re)
        || spec.matchers.as_ref().is_some_and(|m| !m.is_empty())
    {
        errors.invalid(
            "route",
            "root route must not have any matchers; it receives every alert",
        );
    }
    if spec
        .mute_time_intervals
        .as_ref()
        .is_some_and(|m| !m.is_empty())
    {
        errors.invalid(
            "route.mute_time_intervals",
            "root route must not have any mute time intervals",
        );
    }
    if spec
        .active_time_intervals
        .as_ref()
        .is_some_and(|m| !m.is_empty())
    {
        errors.invalid(
            "route.active_time_intervals",
            "root route must not have any active time intervals",
        );
    }
    if spec.r#continue {
        errors.invalid("route.continue", "cannot have continue in root route");
    }
}

/// How many known receivers an error message lists.
const MAX_LISTED: usize = 20;

/// Receivers and time interval names used anywhere in the tree must exist.
fn check_references(
    spec: &RouteSpec,
    at: &str,
    receivers: &BTreeSet<&str>,
    time_intervals: &BTreeMap<String, Vec<TimeInterval>>,
    errors: &mut ConfigErrors,
) {
    if let Some(name) = spec.receiver.as_deref().filter(|r| !r.is_empty()) {
        if !receivers.contains(name) {
            let known = match receivers.len() {
                0 => "(none)".to_string(),
                n if n <= MAX_LISTED => receivers.iter().copied().collect::<Vec<_>>().join(", "),
                n => {
                    let first: Vec<&str> = receivers.iter().copied().take(MAX_LISTED).collect();
                    format!("{} and {} more", first.join(", "), n - MAX_LISTED)
                }
            };
            errors.push(
                format!("{at}.receiver"),
                ConfigErrorKind::UnknownReceiver {
                    name: name.to_string(),
                    known,
                },
            );
        }
    }
    for (field, names) in [
        ("mute_time_intervals", &spec.mute_time_intervals),
        ("active_time_intervals", &spec.active_time_intervals),
    ] {
        for (i, name) in names.iter().flatten().enumerate() {
            if !time_intervals.contains_key(name) {
                errors.push(
                    format!("{at}.{field}[{i}]"),
                    ConfigErrorKind::UnknownTimeInterval(name.clone()),
                );
            }
        }
    }
    for (i, child) in spec.routes.iter().flatten().enumerate() {
        check_references(
            child,
            &format!("{at}.routes[{i}]"),
            receivers,
            time_intervals,
            errors,
        );
    }
}

impl Rules {
    /// The root of the routing tree.
    pub fn route(&self) -> &Route {
        &self.route
    }

    pub fn inhibit_rules(&self) -> &[InhibitRule] {
        &self.inhibit_rules
    }

    /// Named time intervals from both `time_intervals` and `mute_time_intervals`.
    pub fn time_intervals(&self) -> &BTreeMap<String, Vec<TimeInterval>> {
        &self.time_intervals
    }

    /// The routes an alert goes to (see [`Route::matching`]).
    pub fn routes_for(&self, labels: &Labels) -> Vec<&Route> {
        self.route.matching(labels)
    }

    /// Whether `route` holds its notifications back at `now`, and why: first its mute
    /// intervals, then its active intervals (none set: always active), as Alertmanager's
    /// pipeline checks them.
    pub fn time_mute(&self, route: &Route, now: DateTime<Utc>) -> Option<TimeMute> {
        let holds = |name: &String| {
            self.time_intervals
                .get(name)
                .is_some_and(|intervals| any_contains(intervals, now))
        };
        if let Some(name) = route.mute_time_intervals().iter().find(|n| holds(n)) {
            return Some(TimeMute::MuteInterval(name.clone()));
        }
        let active = route.active_time_intervals();
        if !active.is_empty() && !active.iter().any(holds) {
            return Some(TimeMute::OutsideActiveIntervals);
        }
        None
    }

    /// See [`inhibit::inhibited_by`].
    pub fn inhibited_by(&self, target: &Labels, firing: &[Labels]) -> Option<Fingerprint> {
        inhibit::inhibited_by(&self.inhibit_rules, target, firing)
    }

    /// See [`inhibit::inhibitions`].
    pub fn inhibitions(&self, firing: &[Labels]) -> BTreeMap<Fingerprint, Fingerprint> {
        inhibit::inhibitions(&self.inhibit_rules, firing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<Rules, ConfigErrors> {
        let cfg = AlertmanagerConfig::from_yaml(yaml)?;
        let names: Vec<String> = cfg.receiver_names().iter().map(|s| s.to_string()).collect();
        cfg.check(names.iter().map(String::as_str))
    }

    fn errors(yaml: &str) -> Vec<String> {
        match check(yaml) {
            Ok(_) => panic!("expected errors for:\n{yaml}"),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    fn assert_has(errors: &[String], want: &str) {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "missing {want:?} in {errors:#?}"
        );
    }

    #[test]
    fn accepts_a_full_alertmanager_yml() {
        let rules = check(
            r#"
global:
  resolve_timeout: 5m
  slack_api_url: https://hooks.example/x
templates: ['/etc/alertmanager/*.tmpl']
route:
  receiver: default
  group_by: ['alertname', 'cluster']
  routes:
  - matchers: ['severity="critical"']
    receiver: pager
    mute_time_intervals: [weekends]
  - matchers: ['team="db"']
    receiver: db
    active_time_intervals: [business-hours]
receivers:
- name: default
- name: pager
  webhook_configs: [{url: 'http://127.0.0.1:9000/hook', send_resolved: true}]
- name: db
  slack_configs: [{channel: '#db'}]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [alertname]
time_intervals:
- name: business-hours
  time_intervals:
  - times: [{start_time: '09:00', end_time: '17:00'}]
    weekdays: ['monday:friday']
    location: Europe/Berlin
mute_time_intervals:
- name: weekends
  time_intervals:
  - weekdays: [saturday, sunday]
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.route().routes().len(), 2);
        assert_eq!(rules.inhibit_rules().len(), 1);
        assert_eq!(
            rules.time_intervals().keys().collect::<Vec<_>>(),
            ["business-hours", "weekends"]
        );
    }

    #[test]
    fn time_mute_follows_mute_then_active_intervals() {
        let rules = check(
            r#"
route:
  receiver: r
  routes:
  - matchers: [a=1]
    mute_time_intervals: [weekends]
  - matchers: [a=2]
    active_time_intervals: [business-hours, evenings]
  - matchers: [a=3]
    routes: [{matchers: [b=1]}]
    mute_time_intervals: [weekends]
receivers: [{name: r}]
time_intervals:
- name: weekends
  time_intervals: [{weekdays: [saturday, sunday]}]
- name: business-hours
  time_intervals: [{times: [{start_time: '09:00', end_time: '17:00'}], location: Europe/Berlin}]
- name: evenings
  time_intervals: [{times: [{start_time: '20:00', end_time: '22:00'}], location: Europe/Berlin}]
"#,
        )
        .unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let routes = rules.route().routes();
        let saturday = at("2024-05-11T12:00:00Z");
        let monday_noon = at("2024-05-13T10:00:00Z"); // 12:00 in Berlin
        let monday_early = at("2024-05-13T06:00:00Z"); // 08:00 in Berlin
        let monday_evening = at("2024-05-13T19:00:00Z"); // 21:00 in Berlin
        assert_eq!(
            rules.time_mute(&routes[0], saturday),
            Some(TimeMute::MuteInterval("weekends".into()))
        );
        assert_eq!(rules.time_mute(&routes[0], monday_noon), None);
        assert_eq!(rules.time_mute(&routes[1], monday_noon), None);
        assert_eq!(rules.time_mute(&routes[1], monday_evening), None);
        assert_eq!(
            rules.time_mute(&routes[1], monday_early),
            Some(TimeMute::OutsideActiveIntervals)
        );
        // Time intervals are not inherited: the child of a muted route is not muted.
        assert_eq!(rules.time_mute(&routes[2].routes()[0], saturday), None);
        assert_eq!(rules.time_mute(rules.route(), saturday), None);
    }

    #[test]
    fn reports_unknown_receivers_and_time_intervals_with_paths() {
        let e = errors(
            r#"
route:
  receiver: default
  routes:
  - receiver: team-x
    mute_time_intervals: [holidays]
    routes:
    - receiver: team-y
      active_time_intervals: [office]
receivers: [{name: default}]
"#,
        );
        assert_has(
            &e,
            r#"route.routes[0].receiver: undefined receiver "team-x" used in route; known receivers: default"#,
        );
        assert_has(
            &e,
            r#"route.routes[0].routes[0].receiver: undefined receiver "team-y""#,
        );
        assert_has(
            &e,
            r#"route.routes[0].mute_time_intervals[0]: undefined time interval "holidays""#,
        );
        assert_has(
            &e,
            r#"route.routes[0].routes[0].active_time_intervals[0]: undefined time interval "office""#,
        );
        assert_eq!(e.len(), 4, "{e:#?}");
    }

    #[test]
    fn receivers_come_from_the_caller() {
        let cfg =
            AlertmanagerConfig::from_yaml("route: {receiver: team-db, routes: [{receiver: sre}]}")
                .unwrap();
        assert!(cfg.check(["team-db", "sre"]).is_ok());
        let e = cfg.check(["team-db"]).unwrap_err().to_string();
        assert!(e.contains(r#"undefined receiver "sre""#), "{e}");
        let e = cfg.check([]).unwrap_err().to_string();
        assert!(e.contains("known receivers: (none)"), "{e}");
    }

    #[test]
    fn root_route_rules() {
        let e = errors(
            r#"
route:
  matchers: [a=b]
  continue: true
  mute_time_intervals: [x]
  active_time_intervals: [x]
time_intervals: [{name: x, time_intervals: [{}]}]
"#,
        );
        assert_has(
            &e,
            "route.receiver: root route must specify a default receiver",
        );
        assert_has(&e, "route: root route must not have any matchers");
        assert_has(&e, "route.continue: cannot have continue in root route");
        assert_has(
            &e,
            "route.mute_time_intervals: root route must not have any mute time intervals",
        );
        assert_has(
            &e,
            "route.active_time_intervals: root route must not have any active time intervals",
        );
        assert_has(
            &errors("receivers: [{name: x}]"),
            "route: no route provided",
        );
    }

    #[test]
    fn reports_bad_regexes_durations_and_intervals_everywhere() {
        let e = errors(
            r#"
route:
  receiver: r
  group_wait: 30sec
  routes:
  - match_re: {service: 'api(' }
    repeat_interval: 0
inhibit_rules:
- source_matchers: ['severity=~"crit(ical"']
receivers: [{name: r}, {name: r}, {}]
time_intervals:
- name: t
  time_intervals: [{weekdays: [funday]}]
- name: t
  time_intervals: []
mute_time_intervals:
- time_intervals: []
"#,
        );
        assert_has(&e, r#"route.group_wait: invalid duration "30sec""#);
        assert_has(
            &e,
            r#"route.routes[0].match_re.service: invalid regular expression "api(""#,
        );
        assert_has(
            &e,
            "route.routes[0].repeat_interval: repeat_interval cannot be zero",
        );
        assert_has(
            &e,
            r#"inhibit_rules[0].source_matchers[0]: invalid regular expression "crit(ical""#,
        );
        assert_has(
            &e,
            r#"receivers[1]: notification config name "r" is not unique"#,
        );
        assert_has(&e, "receivers[2]: missing name in receiver");
        assert_has(
            &e,
            r#"time_intervals[0].time_intervals[0].weekdays[0]: "funday" is not a valid weekday"#,
        );
        assert_has(&e, r#"time_intervals[1]: time interval "t" is not unique"#);
        assert_has(
            &e,
            "mute_time_intervals[0]: missing name in mute time interval",
        );
        assert_eq!(e.len(), 9, "{e:#?}");
    }

    #[test]
    fn yaml_errors_carry_their_line() {
        let e = AlertmanagerConfig::from_yaml("route:\n  receiver: x\n  group_wiat: 30s\n")
            .unwrap_err();
        let first = &e.0[0];
        assert_eq!(first.at, "line 3 column 3");
        assert!(first.to_string().contains("group_wiat"), "{first}");
        let e = AlertmanagerConfig::from_yaml("routes: []").unwrap_err();
        assert!(e.to_string().contains("unknown field `routes`"), "{e}");
    }
}
