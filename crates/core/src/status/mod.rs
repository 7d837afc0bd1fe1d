//! Status pages: the words Statuspage uses (component statuses, incident statuses, impact) and
//! the rules that combine them — a page's overall indicator, an incident's computed impact,
//! uptime maths, the health-check threshold machine and scheduled-maintenance transitions.
//! Pure: the store keeps the rows, the server renders them.

pub mod config;
pub mod maintenance;
pub mod threshold;
pub mod tls;
pub mod uptime;

use std::fmt;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!($what, " {:?} is not one of: {}"),
                        other,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum!(
    /// A component's status, from best to worst (the order is the severity order).
    ComponentStatus, "component status" {
        Operational => "operational",
        UnderMaintenance => "under_maintenance",
        DegradedPerformance => "degraded_performance",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
    }
);

word_enum!(
    /// Where an incident or a scheduled maintenance stands.
    IncidentStatus, "incident status" {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Postmortem => "postmortem",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
);

word_enum!(
    /// How bad an incident is, from none to critical.
    Impact, "impact" {
        None => "none",
        Maintenance => "maintenance",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
    }
);

impl ComponentStatus {
    /// The words people see on the public page.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under Maintenance",
            ComponentStatus::DegradedPerformance => "Degraded Performance",
            ComponentStatus::PartialOutage => "Partial Outage",
            ComponentStatus::MajorOutage => "Major Outage",
        }
    }

    /// The impact an incident has when this is the worst status among its components
    /// (Statuspage's computed impact).
    pub fn impact(self) -> Impact {
        match self {
            ComponentStatus::Operational => Impact::None,
            ComponentStatus::UnderMaintenance => Impact::Maintenance,
            ComponentStatus::DegradedPerformance => Impact::Minor,
            ComponentStatus::PartialOutage => Impact::Major,
            ComponentStatus::MajorOutage => Impact::Critical,
        }
    }
}

impl IncidentStatus {
    /// A scheduled maintenance's statuses, as opposed to an incident's.
    pub fn is_maintenance(self) -> bool {
        matches!(
            self,
            IncidentStatus::Scheduled
                | IncidentStatus::InProgress
                | IncidentStatus::Verifying
                | IncidentStatus::Completed
        )
    }

    /// Over: resolved, postmortem (an incident) or completed (a maintenance).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::Postmortem | IncidentStatus::Completed
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
            IncidentStatus::Postmortem => "Postmortem",
            IncidentStatus::Scheduled => "Scheduled",
            IncidentStatus::InProgress => "In progress",
            IncidentStatus::Verifying => "Verifying",
            IncidentStatus::Completed => "Completed",
        }
    }
}

/// The page's overall indicator as `/api/v2/status.json` gives it: `none`, `minor`, `major`,
/// `critical` or `maintenance`, and the sentence that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageIndicator(pub Impact);

impl PageIndicator {
    /// The worst of the components' statuses and of the open incidents' impacts. A
    /// maintenance in progress shows only when nothing is broken.
    pub fn roll_up(
        components: impl IntoIterator<Item = ComponentStatus>,
        open_incident_impacts: impl IntoIterator<Item = Impact>,
    ) -> PageIndicator {
        let worst = components
            .into_iter()
            .map(ComponentStatus::impact)
            .chain(open_incident_impacts)
            .max()
            .unwrap_or(Impact::None);
        PageIndicator(worst)
    }

    pub fn indicator(self) -> &'static str {
        self.0.as_str()
    }

    pub fn description(self) -> &'static str {
        match self.0 {
            Impact::None => "All Systems Operational",
            Impact::Maintenance => "Service Under Maintenance",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major System Outage",
        }
    }
}

/// An incident's impact: the override when one is set, otherwise what its affected components'
/// worst status implies (none when it names no component).
pub fn incident_impact(
    impact_override: Option<Impact>,
    affected: impl IntoIterator<Item = ComponentStatus>,
) -> Impact {
    impact_override.unwrap_or_else(|| {
        affected
            .into_iter()
            .map(ComponentStatus::impact)
            .max()
            .unwrap_or(Impact::None)
    })
}

/// A group's status: its worst member's (operational when it has none).
pub fn group_status(members: impl IntoIterator<Item = ComponentStatus>) -> ComponentStatus {
    members
        .into_iter()
        .max()
        .unwrap_or(ComponentStatus::Operational)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn words_round_trip_and_bad_words_say_what_is_allowed() {
        for s in ComponentStatus::ALL {
            assert_eq!(s.as_str().parse::<ComponentStatus>().unwrap(), *s);
        }
        for s in IncidentStatus::ALL {
            assert_eq!(s.as_str().parse::<IncidentStatus>().unwrap(), *s);
        }
        let e = "down".parse::<ComponentStatus>().unwrap_err();
        assert!(e.contains("partial_outage"), "{e}");
    }

    #[test]
    fn the_page_shows_its_worst_component_or_incident() {
        let p = PageIndicator::roll_up([Operational, Operational], []);
        assert_eq!(
            (p.indicator(), p.description()),
            ("none", "All Systems Operational")
        );
        let p = PageIndicator::roll_up([Operational, PartialOutage, DegradedPerformance], []);
        assert_eq!(
            (p.indicator(), p.description()),
            ("major", "Partial System Outage")
        );
        let p = PageIndicator::roll_up([Operational], [Impact::Critical]);
        assert_eq!(p.indicator(), "critical");
        let p = PageIndicator::roll_up([UnderMaintenance, Operational], []);
        assert_eq!(p.indicator(), "maintenance");
        let p = PageIndicator::roll_up([UnderMaintenance, DegradedPerformance], []);
        assert_eq!(p.indicator(), "minor");
    }

    #[test]
    fn impact_follows_the_worst_component_unless_overridden() {
        assert_eq!(
            incident_impact(None, [PartialOutage, Operational]),
            Impact::Major
        );
        assert_eq!(incident_impact(None, [MajorOutage]), Impact::Critical);
        assert_eq!(incident_impact(None, []), Impact::None);
        assert_eq!(
            incident_impact(Some(Impact::Critical), [DegradedPerformance]),
            Impact::Critical
        );
        assert_eq!(group_status([Operational, MajorOutage]), MajorOutage);
        assert_eq!(group_status([]), Operational);
    }
}
