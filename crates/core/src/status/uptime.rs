//! Uptime from a component's status history, day by day (UTC), as the 90-day bars show it.
//!
//! The history is the list of status changes `(at, status)`, the first one being the status
//! the component started with. Time before the first change is "no data", not uptime. Each day
//! counts the milliseconds spent in each status; like Statuspage, a major outage counts fully
//! as downtime and a partial outage counts at [`PARTIAL_WEIGHT`]; degraded performance and
//! maintenance count as up (they are shown, not subtracted).

use super::ComponentStatus;
use crate::clock::Millis;

pub const DAY_MS: Millis = 86_400_000;

/// The share of partial-outage time that counts as downtime.
pub const PARTIAL_WEIGHT: f64 = 0.3;

/// One UTC day of a component's history.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Day {
    /// Midnight UTC starting this day.
    pub start: Millis,
    /// Milliseconds with a known status (less than a day for the first day, today, or days
    /// before the component existed).
    pub known_ms: Millis,
    pub major_ms: Millis,
    pub partial_ms: Millis,
    pub degraded_ms: Millis,
    pub maintenance_ms: Millis,
}

impl Day {
    /// Downtime in milliseconds, partial outages weighted.
    pub fn down_ms(&self) -> f64 {
        self.major_ms as f64 + PARTIAL_WEIGHT * self.partial_ms as f64
    }

    /// Uptime in percent, or `None` for a day without data.
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.known_ms > 0).then(|| 100.0 * (1.0 - self.down_ms() / self.known_ms as f64))
    }

    /// The worst status seen during the day (for the bar's colour).
    pub fn worst(&self) -> Option<ComponentStatus> {
        if self.known_ms == 0 {
            None
        } else if self.major_ms > 0 {
            Some(ComponentStatus::MajorOutage)
        } else if self.partial_ms > 0 {
            Some(ComponentStatus::PartialOutage)
        } else if self.degraded_ms > 0 {
            Some(ComponentStatus::DegradedPerformance)
        } else if self.maintenance_ms > 0 {
            Some(ComponentStatus::UnderMaintenance)
        } else {
            Some(ComponentStatus::Operational)
        }
    }
}

/// Midnight UTC at or before `t`.
pub fn day_start(t: Millis) -> Millis {
    t.div_euclid(DAY_MS) * DAY_MS
}

/// The last `days` UTC days up to and including the day of `now`, oldest first. `history`
/// must be sorted by time; changes after `now` are ignored.
pub fn daily(history: &[(Millis, ComponentStatus)], now: Millis, days: usize) -> Vec<Day> {
    let first_day = day_start(now) - (days as Millis - 1) * DAY_MS;
    let mut out: Vec<Day> = (0..days as Millis)
        .map(|i| Day {
            start: first_day + i * DAY_MS,
            ..Day::default()
        })
        .collect();
    for (i, &(from, status)) in history.iter().enumerate() {
        let to = history.get(i + 1).map_or(now, |n| n.0).min(now);
        let from = from.max(first_day);
        if to <= from {
            continue;
        }
        // Spread [from, to) over the days it touches.
        let mut t = from;
        while t < to {
            let idx = ((t - first_day) / DAY_MS) as usize;
            let end = (day_start(t) + DAY_MS).min(to);
            let d = &mut out[idx];
            let span = end - t;
            d.known_ms += span;
            match status {
                ComponentStatus::MajorOutage => d.major_ms += span,
                ComponentStatus::PartialOutage => d.partial_ms += span,
                ComponentStatus::DegradedPerformance => d.degraded_ms += span,
                ComponentStatus::UnderMaintenance => d.maintenance_ms += span,
                ComponentStatus::Operational => {}
            }
            t = end;
        }
    }
    out
}

/// Uptime in percent over several days (time-weighted over the days with data), or `None`
/// when none has data.
pub fn overall_percent(days: &[Day]) -> Option<f64> {
    let known: Millis = days.iter().map(|d| d.known_ms).sum();
    let down: f64 = days.iter().map(Day::down_ms).sum();
    (known > 0).then(|| 100.0 * (1.0 - down / known as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    const H: Millis = 3_600_000;
    /// 2026-01-01T00:00:00Z
    const D0: Millis = 1_767_225_600_000;

    #[test]
    fn a_day_is_split_by_status_and_partial_outages_count_at_thirty_percent() {
        // Created at D0 00:00; 2 h major outage on day 1; 10 h partial outage on day 2; fine
        // since; now is the end of day 3.
        let h = [
            (D0, Operational),
            (D0 + 6 * H, MajorOutage),
            (D0 + 8 * H, Operational),
            (D0 + DAY_MS + 12 * H, PartialOutage),
            (D0 + DAY_MS + 22 * H, Operational),
        ];
        let now = D0 + 3 * DAY_MS - 1;
        let days = daily(&h, now, 3);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].start, D0);
        assert_eq!(days[0].major_ms, 2 * H);
        let pct = |d: &Day| (d.uptime_percent().unwrap() * 1000.0).round() / 1000.0;
        assert_eq!(pct(&days[0]), 91.667); // 22 of 24 h
        assert_eq!(pct(&days[1]), 87.5); // 10 h × 0.3 = 3 h down
        assert_eq!(pct(&days[2]), 100.0);
        assert_eq!(days[0].worst(), Some(MajorOutage));
        assert_eq!(days[1].worst(), Some(PartialOutage));
        // Overall: 5 h down over ~72 h.
        let all = overall_percent(&days).unwrap();
        assert!((all - (100.0 * (1.0 - 5.0 / 72.0))).abs() < 1e-3, "{all}");
    }

    #[test]
    fn days_before_the_component_existed_have_no_data() {
        let h = [(D0 + 2 * DAY_MS + 12 * H, Operational)];
        let days = daily(&h, D0 + 2 * DAY_MS + 18 * H, 90);
        assert_eq!(days.len(), 90);
        assert!(days[..89].iter().all(|d| d.uptime_percent().is_none()));
        assert_eq!(days[89].known_ms, 6 * H);
        assert_eq!(days[89].uptime_percent(), Some(100.0));
        assert_eq!(overall_percent(&days[..89]), None);
    }

    #[test]
    fn history_older_than_the_window_sets_the_status_at_its_start() {
        let h = [(D0 - 100 * DAY_MS, MajorOutage), (D0 + 12 * H, Operational)];
        let days = daily(&h, D0 + DAY_MS - 1, 1);
        assert_eq!(days[0].major_ms, 12 * H);
        assert_eq!(days[0].uptime_percent().map(f64::round), Some(50.0));
    }
}
