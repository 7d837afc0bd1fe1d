//! Inhibition (`inhibit_rules:`): a firing alert that matches a rule's source matchers mutes
//! the alerts that match its target matchers and carry the same values for the `equal` labels.
//!
//! As in Alertmanager:
//! - a label missing on both sides counts as equal (both are `""`);
//! - an alert that matches both the source and the target side of a rule is not inhibited by
//!   a source that also matches the target side, so an alert never inhibits itself and two
//!   such alerts do not inhibit each other;
//! - inhibited or silenced alerts still inhibit others; only firing alerts count as sources;
//! - rules are tried in order and the first that inhibits decides the source.
//!
//! Alertmanager reports an arbitrary source when several qualify; here it is the one with the
//! lowest fingerprint, so the answer does not change from one evaluation to the next.

use super::error::{ConfigErrorKind, ConfigErrors};
use super::labels::{is_valid_label_name, Fingerprint, Labels};
use super::matcher::Matchers;
use super::route::legacy_matchers;
use super::yaml::Scalar;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An inhibit rule as written in YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleSpec {
    #[serde(default)]
    pub source_match: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub source_match_re: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub source_matchers: Option<Vec<String>>,
    #[serde(default)]
    pub target_match: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub target_match_re: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    pub target_matchers: Option<Vec<String>>,
    #[serde(default)]
    pub equal: Option<Vec<String>>,
}

/// A checked inhibit rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InhibitRule {
    source: Matchers,
    target: Matchers,
    equal: BTreeSet<String>,
}

impl InhibitRule {
    pub fn new(
        source: Matchers,
        target: Matchers,
        equal: impl IntoIterator<Item = String>,
    ) -> Self {
        InhibitRule {
            source,
            target,
            equal: equal.into_iter().collect(),
        }
    }

    pub fn from_spec(spec: &InhibitRuleSpec) -> Result<Self, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let rule = InhibitRule::build(spec, "inhibit_rule", &mut errors);
        errors.into_result(rule)
    }

    pub(crate) fn build(spec: &InhibitRuleSpec, at: &str, errors: &mut ConfigErrors) -> Self {
        let side = |prefix: &str,
                    equal: &Option<BTreeMap<String, Scalar>>,
                    regex: &Option<BTreeMap<String, Scalar>>,
                    lines: &Option<Vec<String>>,
                    errors: &mut ConfigErrors| {
            let mut out = Matchers::default();
            legacy_matchers(
                &mut out,
                equal.as_ref(),
                regex.as_ref(),
                &format!("{at}.{prefix}_match"),
                errors,
            );
            for (i, line) in lines.iter().flatten().enumerate() {
                match Matchers::parse(line) {
                    Ok(ms) => ms.into_vec().into_iter().for_each(|m| out.push(m)),
                    Err(e) => errors.push(format!("{at}.{prefix}_matchers[{i}]"), e.into()),
                }
            }
            out
        };
        let source = side(
            "source",
            &spec.source_match,
            &spec.source_match_re,
            &spec.source_matchers,
            errors,
        );
        let target = side(
            "target",
            &spec.target_match,
            &spec.target_match_re,
            &spec.target_matchers,
            errors,
        );
        let mut equal = BTreeSet::new();
        for (i, name) in spec.equal.iter().flatten().enumerate() {
            if is_valid_label_name(name) {
                equal.insert(name.clone());
            } else {
                errors.push(
                    format!("{at}.equal[{i}]"),
                    ConfigErrorKind::BadLabelName(name.clone()),
                );
            }
        }
        InhibitRule {
            source,
            target,
            equal,
        }
    }

    pub fn source_matchers(&self) -> &Matchers {
        &self.source
    }

    pub fn target_matchers(&self) -> &Matchers {
        &self.target
    }

    pub fn equal(&self) -> &BTreeSet<String> {
        &self.equal
    }

    /// The firing alert (lowest fingerprint) that makes this rule inhibit `target`, if any.
    pub fn inhibiting_source(&self, target: &Labels, firing: &[Labels]) -> Option<Fingerprint> {
        if !self.target.matches(target) {
            return None;
        }
        let two_sided = self.source.matches(target);
        firing
            .iter()
            .filter(|source| {
                self.source.matches(source)
                    && self.same_equal_labels(source, target)
                    && !(two_sided && self.target.matches(source))
            })
            .map(Fingerprint::of)
            .min()
    }

    fn same_equal_labels(&self, a: &Labels, b: &Labels) -> bool {
        self.equal.iter().all(|n| value(a, n) == value(b, n))
    }

    fn equal_values<'a>(&self, labels: &'a Labels) -> Vec<&'a str> {
        self.equal.iter().map(|n| value(labels, n)).collect()
    }
}

fn value<'a>(labels: &'a Labels, name: &str) -> &'a str {
    labels.get(name).map_or("", String::as_str)
}

/// The source that inhibits `target`: the first rule that inhibits decides.
pub fn inhibited_by(
    rules: &[InhibitRule],
    target: &Labels,
    firing: &[Labels],
) -> Option<Fingerprint> {
    rules
        .iter()
        .find_map(|rule| rule.inhibiting_source(target, firing))
}

/// Every inhibited alert among `firing`, by fingerprint, with the fingerprint of its source.
/// Same answers as [`inhibited_by`] for each alert, in O(n log n) per rule.
pub fn inhibitions(rules: &[InhibitRule], firing: &[Labels]) -> BTreeMap<Fingerprint, Fingerprint> {
    let mut out = BTreeMap::new();
    for rule in rules {
        // Sources by their `equal` values, lowest fingerprint first, with whether each also
        // matches the target side.
        let mut sources: HashMap<Vec<&str>, Vec<(Fingerprint, bool)>> = HashMap::new();
        for alert in firing.iter().filter(|a| rule.source.matches(a)) {
            sources
                .entry(rule.equal_values(alert))
                .or_default()
                .push((Fingerprint::of(alert), rule.target.matches(alert)));
        }
        if sources.is_empty() {
            continue;
        }
        for list in sources.values_mut() {
            list.sort_unstable();
        }
        for target in firing.iter().filter(|a| rule.target.matches(a)) {
            let fp = Fingerprint::of(target);
            if out.contains_key(&fp) {
                continue; // an earlier rule already decided
            }
            let two_sided = rule.source.matches(target);
            let source = sources.get(&rule.equal_values(target)).and_then(|list| {
                list.iter()
                    .find(|(_, also_target)| !(two_sided && *also_target))
            });
            if let Some((source, _)) = source {
                out.insert(fp, *source);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rule(yaml: &str) -> InhibitRule {
        let spec: InhibitRuleSpec = serde_yaml::from_str(yaml).unwrap();
        InhibitRule::from_spec(&spec).unwrap_or_else(|e| panic!("{e}"))
    }

    fn fp(pairs: &[(&str, &str)]) -> Fingerprint {
        Fingerprint::of(&labels(pairs))
    }

    /// Checks `inhibited_by` and `inhibitions` agree on every alert.
    fn both(rules: &[InhibitRule], firing: &[Labels]) -> BTreeMap<Fingerprint, Fingerprint> {
        let all = inhibitions(rules, firing);
        for alert in firing {
            assert_eq!(
                inhibited_by(rules, alert, firing),
                all.get(&Fingerprint::of(alert)).copied(),
                "{alert:?}"
            );
        }
        all
    }

    const CRITICAL_MUTES_WARNING: &str = r#"
source_matchers: [severity="critical"]
target_matchers: [severity="warning"]
equal: [alertname, cluster]
"#;

    #[test]
    fn critical_mutes_warning_with_equal_labels() {
        let rules = [rule(CRITICAL_MUTES_WARNING)];
        let crit = [
            ("alertname", "Disk"),
            ("cluster", "a"),
            ("severity", "critical"),
        ];
        let warn_a = [
            ("alertname", "Disk"),
            ("cluster", "a"),
            ("severity", "warning"),
        ];
        let warn_b = [
            ("alertname", "Disk"),
            ("cluster", "b"),
            ("severity", "warning"),
        ];
        let other = [
            ("alertname", "Cpu"),
            ("cluster", "a"),
            ("severity", "warning"),
        ];
        let firing = [
            labels(&crit),
            labels(&warn_a),
            labels(&warn_b),
            labels(&other),
        ];
        let got = both(&rules, &firing);
        assert_eq!(got, BTreeMap::from([(fp(&warn_a), fp(&crit))]));
    }

    #[test]
    fn missing_equal_labels_count_as_equal() {
        let rules = [rule(CRITICAL_MUTES_WARNING)];
        // Neither has `cluster`: equal. One has it: not equal.
        let crit = [("alertname", "Disk"), ("severity", "critical")];
        let warn = [("alertname", "Disk"), ("severity", "warning")];
        let warn_cluster = [
            ("alertname", "Disk"),
            ("cluster", "a"),
            ("severity", "warning"),
        ];
        let firing = [labels(&crit), labels(&warn), labels(&warn_cluster)];
        assert_eq!(
            both(&rules, &firing),
            BTreeMap::from([(fp(&warn), fp(&crit))])
        );
        // An explicitly empty value is the same as a missing one.
        let warn_empty = [
            ("alertname", "Disk"),
            ("cluster", ""),
            ("severity", "warning"),
        ];
        let firing = [labels(&crit), labels(&warn_empty)];
        assert_eq!(both(&rules, &firing).len(), 1);
    }

    #[test]
    fn no_equal_means_any_source_inhibits() {
        let rules = [rule(
            "source_match: {alertname: ClusterDown}\ntarget_match_re: {alertname: '.+'}",
        )];
        let down = [("alertname", "ClusterDown")];
        let other = [("alertname", "Disk"), ("team", "x")];
        let firing = [labels(&down), labels(&other)];
        // ClusterDown matches both sides but does not inhibit itself.
        assert_eq!(
            both(&rules, &firing),
            BTreeMap::from([(fp(&other), fp(&down))])
        );
    }

    #[test]
    fn alerts_matching_both_sides_do_not_inhibit_each_other() {
        let rules = [rule(
            "source_matchers: [team=db]\ntarget_matchers: [team=db]",
        )];
        let a = [("alertname", "A"), ("team", "db")];
        let b = [("alertname", "B"), ("team", "db")];
        assert!(both(&rules, &[labels(&a), labels(&b)]).is_empty());
    }

    #[test]
    fn only_firing_alerts_inhibit_and_the_lowest_fingerprint_is_reported() {
        let rules = [rule(CRITICAL_MUTES_WARNING)];
        let warn = [("alertname", "Disk"), ("severity", "warning")];
        assert_eq!(both(&rules, &[labels(&warn)]), BTreeMap::new());
        let c1 = [
            ("alertname", "Disk"),
            ("instance", "1"),
            ("severity", "critical"),
        ];
        let c2 = [
            ("alertname", "Disk"),
            ("instance", "2"),
            ("severity", "critical"),
        ];
        let firing = [labels(&c1), labels(&c2), labels(&warn)];
        let lowest = fp(&c1).min(fp(&c2));
        assert_eq!(both(&rules, &firing), BTreeMap::from([(fp(&warn), lowest)]));
        // A target need not be among the firing alerts to be checked.
        assert_eq!(
            inhibited_by(&rules, &labels(&warn), &firing[..1]),
            Some(fp(&c1))
        );
    }

    #[test]
    fn chains_and_rule_order() {
        // page > ticket > info; an inhibited ticket still inhibits info.
        let rules = [
            rule("source_matchers: [sev=page]\ntarget_matchers: [sev=ticket]"),
            rule("source_matchers: [sev=ticket]\ntarget_matchers: ['sev=~ticket|info']"),
        ];
        let page = [("sev", "page")];
        let ticket = [("sev", "ticket")];
        let info = [("sev", "info")];
        let firing = [labels(&page), labels(&ticket), labels(&info)];
        assert_eq!(
            both(&rules, &firing),
            BTreeMap::from([(fp(&ticket), fp(&page)), (fp(&info), fp(&ticket))])
        );
    }

    #[test]
    fn legacy_fields_and_regexes() {
        let r = rule(
            "source_match: {severity: critical}\nsource_match_re: {service: 'api|web'}\ntarget_match_re: {severity: 'warn.*'}\nequal: [service]",
        );
        assert_eq!(
            r.source_matchers().to_string(),
            r#"{severity="critical",service=~"api|web"}"#
        );
        let src = [("service", "api"), ("severity", "critical")];
        let tgt = [("service", "api"), ("severity", "warning")];
        let tgt_other = [("service", "db"), ("severity", "warning")];
        let firing = [labels(&src), labels(&tgt), labels(&tgt_other)];
        assert_eq!(both(&[r], &firing), BTreeMap::from([(fp(&tgt), fp(&src))]));
    }

    #[test]
    fn bad_rules_are_reported_with_paths() {
        let spec: InhibitRuleSpec = serde_yaml::from_str(
            "source_match_re: {a: '('}\ntarget_matchers: ['x=~\"[\"']\nequal: ['not-valid']\nsource_match: {'1x': y}",
        )
        .unwrap();
        let text = InhibitRule::from_spec(&spec).unwrap_err().to_string();
        for want in [
            "inhibit_rule.source_match_re.a: invalid regular expression",
            "inhibit_rule.target_matchers[0]: invalid regular expression",
            "inhibit_rule.equal[0]: invalid label name \"not-valid\"",
            "inhibit_rule.source_match.1x: invalid label name",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text}");
        }
    }
}
