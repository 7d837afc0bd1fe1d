//! Alertmanager's webhook notification (payload version 4) and the Klaxon alert it stands for:
//! one alert per group (`groupKey`), whose alias is the hex SHA-256 of the group key — the alias
//! `opsgenie_configs` and the dedup key `pagerduty_configs` use, so the three receivers agree.
//! Fields Klaxon does not use are ignored; Grafana's Alertmanager-shaped webhook works too.

use crate::http::ingest::{self, Details};
use klaxon_core::alert::{limits, truncate_chars, Priority};
use klaxon_core::alertmanager::Labels;
use klaxon_core::mapping::AlertMapping;
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupStatus {
    Firing,
    Resolved,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    pub group_key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub truncated_alerts: u64,
    pub status: GroupStatus,
    #[serde(default, deserialize_with = "nullable")]
    pub receiver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub group_labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub common_labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub common_annotations: Labels,
    #[serde(default, rename = "externalURL", deserialize_with = "nullable")]
    pub external_url: String,
    #[serde(default, deserialize_with = "nullable")]
    pub alerts: Vec<GroupMember>,
}

/// One Prometheus alert of the group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub fingerprint: String,
}

/// `null` reads as the empty value.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl GroupMember {
    fn is_firing(&self) -> bool {
        self.status != "resolved"
    }
}

/// The alert fields a firing group maps to.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupAlert {
    pub message: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub details: std::collections::BTreeMap<String, String>,
}

impl Notification {
    /// Parses a request body, saying what is wrong when it is not a notification.
    pub fn parse(body: &[u8]) -> Result<Notification, String> {
        let n: Notification = serde_json::from_slice(body)
            .map_err(|e| format!("Request body is not an Alertmanager webhook payload: {e}"))?;
        if n.group_key.trim().is_empty() {
            return Err("groupKey is empty: it identifies the alert group".into());
        }
        Ok(n)
    }

    /// Hex SHA-256 of the group key.
    pub fn alias(&self) -> String {
        hex::encode(Sha256::digest(self.group_key.as_bytes()))
    }

    fn firing(&self) -> impl Iterator<Item = &GroupMember> {
        self.alerts.iter().filter(|a| a.is_firing())
    }

    fn common(&self, key: &str) -> Option<&str> {
        self.common_annotations
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// `commonAnnotations.summary`, else `alertname`, else the group labels; with the number of
    /// firing alerts when there is more than one.
    pub fn message(&self) -> String {
        let base = self
            .common("summary")
            .map(str::to_string)
            .or_else(|| {
                self.common_labels
                    .get("alertname")
                    .filter(|n| !n.trim().is_empty())
                    .cloned()
            })
            .unwrap_or_else(|| {
                if self.group_labels.is_empty() {
                    format!("Alerts for receiver {}", self.receiver)
                } else {
                    format!("Alert group {}", pairs(&self.group_labels))
                }
            });
        let n = self.firing().count();
        let suffix = if n > 1 {
            format!(" ({n} firing)")
        } else {
            String::new()
        };
        let room = limits::MESSAGE - suffix.chars().count();
        format!("{}{suffix}", truncate_chars(base.trim(), room))
    }

    /// The common description, then each alert: its own labels and, when it says something the
    /// common annotations do not, its description (or summary).
    pub fn description(&self) -> String {
        let common = self.common("description");
        let mut out = String::new();
        if let Some(d) = common {
            out.push_str(d);
            out.push_str("\n\n");
        }
        let (firing, resolved): (Vec<&GroupMember>, Vec<&GroupMember>) =
            self.alerts.iter().partition(|a| a.is_firing());
        for (title, members) in [("Firing", firing), ("Resolved", resolved)] {
            if members.is_empty() {
                continue;
            }
            out.push_str(&format!("{title} ({}):\n", members.len()));
            for a in members {
                let own: Labels = a
                    .labels
                    .iter()
                    .filter(|(k, v)| self.common_labels.get(*k) != Some(*v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let name = if own.is_empty() {
                    pairs(&a.labels)
                } else {
                    pairs(&own)
                };
                out.push_str(&format!("- {name}"));
                let text = ["description", "summary"].iter().find_map(|k| {
                    a.annotations
                        .get(*k)
                        .map(|s| s.trim())
                        .filter(|s| !s.is_empty() && Some(*s) != self.common(k))
                });
                if let Some(t) = text {
                    out.push_str(": ");
                    out.push_str(t);
                }
                out.push('\n');
            }
        }
        if self.truncated_alerts > 0 {
            out.push_str(&format!(
                "({} more alerts were left out by Alertmanager)\n",
                self.truncated_alerts
            ));
        }
        truncate_chars(out.trim_end(), limits::DESCRIPTION)
    }

    /// The mapped value of the priority label: the common one, else the most urgent among the
    /// firing alerts (their severities differ), else `fallback`.
    pub fn priority(&self, mapping: &AlertMapping, fallback: Priority) -> Priority {
        let label = mapping.priority_label.as_str();
        if let Some(p) = self
            .common_labels
            .get(label)
            .and_then(|v| mapping.priority_for(v))
        {
            return p;
        }
        self.firing()
            .filter_map(|a| a.labels.get(label).and_then(|v| mapping.priority_for(v)))
            .min()
            .unwrap_or(fallback)
    }

    /// `runbook_url` first (so it survives a tight budget), then the common labels.
    pub fn details(&self) -> std::collections::BTreeMap<String, String> {
        let mut d = Details::default();
        let runbook = self.common("runbook_url").or_else(|| {
            self.alerts.iter().find_map(|a| {
                a.annotations
                    .get("runbook_url")
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
            })
        });
        if let Some(r) = runbook {
            d.add("runbook_url", r);
        }
        for (k, v) in &self.common_labels {
            d.add(k, v);
        }
        d.into_map()
    }

    pub fn to_alert(
        &self,
        mapping: &AlertMapping,
        fallback: Priority,
        default_tags: &[String],
    ) -> GroupAlert {
        let tag_values = mapping
            .tag_labels
            .iter()
            .filter_map(|l| self.common_labels.get(l).map(String::as_str));
        GroupAlert {
            message: self.message(),
            description: self.description(),
            priority: self.priority(mapping, fallback),
            tags: ingest::tags(tag_values, default_tags),
            details: self.details(),
        }
    }
}

/// `a=x, b=y`
fn pairs(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notification(v: serde_json::Value) -> Notification {
        Notification::parse(v.to_string().as_bytes()).unwrap()
    }

    fn two_disks() -> Notification {
        notification(json!({
            "version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0,
            "status": "firing", "receiver": "team\\.x", "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull", "severity": "warning", "team": "db"},
            "commonAnnotations": {"summary": "disk almost full", "runbook_url": "https://rb/disk"},
            "externalURL": "http://am:9093", "newField": [1, 2],
            "alerts": [
                {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "warning", "team": "db", "instance": "db1"},
                 "annotations": {"summary": "disk almost full", "description": "db1 at 91%"},
                 "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                 "generatorURL": "http://prom/graph", "fingerprint": "a1"},
                {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "warning", "team": "db", "instance": "db2"},
                 "annotations": {"summary": "disk almost full"}, "fingerprint": "a2"},
                {"status": "resolved", "labels": {"alertname": "DiskFull", "severity": "warning", "team": "db", "instance": "db3"},
                 "annotations": {}, "fingerprint": "a3"}
            ]
        }))
    }

    #[test]
    fn alias_is_the_sha256_of_the_group_key() {
        // Python: hashlib.sha256(b'{}:{alertname="DiskFull"}').hexdigest()
        assert_eq!(
            two_disks().alias(),
            hex::encode(Sha256::digest(b"{}:{alertname=\"DiskFull\"}"))
        );
        assert_eq!(two_disks().alias().len(), 64);
    }

    #[test]
    fn a_group_becomes_one_alert() {
        let a = two_disks().to_alert(&AlertMapping::default(), Priority::P3, &["prod".into()]);
        assert_eq!(a.message, "disk almost full (2 firing)");
        assert_eq!(
            a.description,
            "Firing (2):\n- instance=db1: db1 at 91%\n- instance=db2\nResolved (1):\n- instance=db3"
        );
        assert_eq!(a.priority, Priority::P3);
        assert_eq!(a.tags, ["DiskFull", "warning", "prod"]);
        assert_eq!(
            serde_json::to_value(&a.details).unwrap(),
            json!({"alertname": "DiskFull", "severity": "warning", "team": "db", "runbook_url": "https://rb/disk"})
        );
    }

    #[test]
    fn message_falls_back_to_alertname_then_group_labels() {
        let mut n = two_disks();
        n.common_annotations.clear();
        assert_eq!(n.message(), "DiskFull (2 firing)");
        n.common_labels.clear();
        assert_eq!(n.message(), "Alert group alertname=DiskFull (2 firing)");
        n.group_labels.clear();
        n.alerts.truncate(1);
        assert_eq!(n.message(), "Alerts for receiver team\\.x");
        n.common_annotations
            .insert("summary".into(), "y".repeat(200));
        assert_eq!(n.message(), "y".repeat(130));
    }

    #[test]
    fn priority_comes_from_the_configured_label() {
        let mut n = two_disks();
        let default = AlertMapping::default();
        n.common_labels.insert("severity".into(), "critical".into());
        assert_eq!(n.priority(&default, Priority::P3), Priority::P1);
        // Differing severities: the most urgent firing one.
        n.common_labels.remove("severity");
        n.alerts[1].labels.insert("severity".into(), "error".into());
        n.alerts[2]
            .labels
            .insert("severity".into(), "critical".into());
        assert_eq!(n.priority(&default, Priority::P3), Priority::P2);
        // Another label, and the fallback when no value maps.
        let level = AlertMapping::new(Some("level"), [("page".to_string(), Priority::P1)], None);
        assert_eq!(n.priority(&level, Priority::P4), Priority::P4);
        n.common_labels.insert("level".into(), "page".into());
        assert_eq!(n.priority(&level, Priority::P4), Priority::P1);
    }

    #[test]
    fn malformed_payloads_say_what_is_wrong() {
        let e = Notification::parse(b"{").unwrap_err();
        assert!(
            e.starts_with("Request body is not an Alertmanager webhook payload: EOF"),
            "{e}"
        );
        let e = Notification::parse(br#"{"status": "firing", "alerts": []}"#).unwrap_err();
        assert!(e.contains("missing field `groupKey`"), "{e}");
        let e = Notification::parse(br#"{"groupKey": "g", "status": "exploded"}"#).unwrap_err();
        assert!(e.contains("unknown variant `exploded`"), "{e}");
        let e = Notification::parse(br#"{"groupKey": " ", "status": "firing"}"#).unwrap_err();
        assert!(e.contains("groupKey is empty"), "{e}");
        let e = Notification::parse(
            br#"{"groupKey": "g", "status": "firing", "commonLabels": {"a": 1}}"#,
        )
        .unwrap_err();
        assert!(e.contains("expected a string"), "{e}");
        let n = Notification::parse(br#"{"groupKey": "g", "status": "resolved", "alerts": null}"#)
            .unwrap();
        assert_eq!(n.status, GroupStatus::Resolved);
    }
}
