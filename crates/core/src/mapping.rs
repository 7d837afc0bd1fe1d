//! How alerts from label- and severity-based sources (the Alertmanager webhook, PagerDuty
//! events) get their priority and tags. Each integration has one [`AlertMapping`]; the config
//! file can change it per integration (`priority_label`, `priority_map`, `tag_labels`).

use crate::alert::Priority;
use std::collections::{BTreeMap, HashMap};

/// The label whose value picks the priority unless an integration names another.
pub const DEFAULT_PRIORITY_LABEL: &str = "severity";

/// Common labels whose values become tags unless an integration names others.
pub const DEFAULT_TAG_LABELS: [&str; 2] = ["alertname", "severity"];

/// Severity words every monitoring tool uses, and the priority each means. PagerDuty's four
/// severities are among them, so one table serves both sources.
pub const DEFAULT_PRIORITY_MAP: [(&str, Priority); 4] = [
    ("critical", Priority::P1),
    ("error", Priority::P2),
    ("warning", Priority::P3),
    ("info", Priority::P5),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMapping {
    pub priority_label: String,
    /// Lower-cased value → priority.
    priority_map: BTreeMap<String, Priority>,
    pub tag_labels: Vec<String>,
    /// Where the generic webhook (`type: webhook`) finds each field in a body.
    pub webhook: crate::webhook::WebhookMapping,
}

impl Default for AlertMapping {
    fn default() -> Self {
        AlertMapping {
            priority_label: DEFAULT_PRIORITY_LABEL.to_string(),
            priority_map: DEFAULT_PRIORITY_MAP
                .iter()
                .map(|(k, p)| (k.to_string(), *p))
                .collect(),
            tag_labels: DEFAULT_TAG_LABELS.iter().map(|s| s.to_string()).collect(),
            webhook: crate::webhook::WebhookMapping::default(),
        }
    }
}

impl AlertMapping {
    /// The defaults with `overrides` merged over the priority map (so `{page: P1}` adds a word
    /// and `{warning: P4}` changes one), and the label choices replaced where given.
    pub fn new(
        priority_label: Option<&str>,
        overrides: impl IntoIterator<Item = (String, Priority)>,
        tag_labels: Option<Vec<String>>,
    ) -> Self {
        let mut m = AlertMapping::default();
        if let Some(l) = priority_label {
            m.priority_label = l.to_string();
        }
        for (k, p) in overrides {
            m.priority_map.insert(k.trim().to_lowercase(), p);
        }
        if let Some(t) = tag_labels {
            m.tag_labels = t;
        }
        m
    }

    /// With the generic webhook's field mapping (the defaults when `None`).
    pub fn with_webhook(mut self, webhook: Option<crate::webhook::WebhookMapping>) -> Self {
        self.webhook = webhook.unwrap_or_default();
        self
    }

    /// The priority a label value (or PagerDuty severity) means: a word of the map, matched
    /// without regard to case, or a priority written as such (`P2`).
    pub fn priority_for(&self, value: &str) -> Option<Priority> {
        let v = value.trim();
        self.priority_map
            .get(&v.to_lowercase())
            .copied()
            .or_else(|| v.to_uppercase().parse().ok())
    }
}

/// Every integration's mapping, by integration name. Integrations not in the config file
/// (created through the API) use the defaults.
#[derive(Debug, Clone, Default)]
pub struct AlertMappings {
    by_name: HashMap<String, AlertMapping>,
    default: AlertMapping,
}

impl AlertMappings {
    pub fn new(by_name: impl IntoIterator<Item = (String, AlertMapping)>) -> Self {
        AlertMappings {
            by_name: by_name.into_iter().collect(),
            default: AlertMapping::default(),
        }
    }

    pub fn get(&self, integration: &str) -> &AlertMapping {
        self.by_name.get(integration).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_map_the_common_severity_words() {
        let m = AlertMapping::default();
        assert_eq!(m.priority_label, "severity");
        assert_eq!(m.priority_for("critical"), Some(Priority::P1));
        assert_eq!(m.priority_for("error"), Some(Priority::P2));
        assert_eq!(m.priority_for("warning"), Some(Priority::P3));
        assert_eq!(m.priority_for("info"), Some(Priority::P5));
        assert_eq!(m.priority_for(" CRITICAL "), Some(Priority::P1));
        assert_eq!(m.priority_for("p4"), Some(Priority::P4));
        assert_eq!(m.priority_for("page"), None);
        assert_eq!(m.tag_labels, ["alertname", "severity"]);
    }

    #[test]
    fn overrides_merge_over_the_defaults() {
        let m = AlertMapping::new(
            Some("level"),
            [
                ("Page".to_string(), Priority::P1),
                ("warning".to_string(), Priority::P4),
            ],
            Some(vec![]),
        );
        assert_eq!(m.priority_label, "level");
        assert_eq!(m.priority_for("page"), Some(Priority::P1));
        assert_eq!(m.priority_for("warning"), Some(Priority::P4));
        assert_eq!(m.priority_for("critical"), Some(Priority::P1));
        assert!(m.tag_labels.is_empty());
    }

    #[test]
    fn unknown_integrations_get_the_defaults() {
        let custom = AlertMapping::new(Some("level"), [], None);
        let all = AlertMappings::new([("prom".to_string(), custom.clone())]);
        assert_eq!(all.get("prom"), &custom);
        assert_eq!(all.get("other"), &AlertMapping::default());
    }
}
