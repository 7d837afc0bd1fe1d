//! Scheduled maintenance moves by itself: `scheduled` → `in_progress` at `scheduled_for` and
//! → `completed` at `scheduled_until`, each only when its automatic switch is on. A
//! maintenance someone moved by hand (to `verifying`, say) is left alone until its end.

use super::IncidentStatus;
use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub scheduled_for: Millis,
    pub scheduled_until: Millis,
    pub auto_in_progress: bool,
    pub auto_completed: bool,
}

/// The status a maintenance should have at `now`, if it should change.
pub fn due_status(current: IncidentStatus, s: &Schedule, now: Millis) -> Option<IncidentStatus> {
    use IncidentStatus::*;
    match current {
        Scheduled | InProgress | Verifying if s.auto_completed && now >= s.scheduled_until => {
            Some(Completed)
        }
        Scheduled if s.auto_in_progress && now >= s.scheduled_for => Some(InProgress),
        _ => None,
    }
}

/// When the next automatic change is due (the worker's due row), or `None` when none will come.
pub fn next_due(current: IncidentStatus, s: &Schedule) -> Option<Millis> {
    use IncidentStatus::*;
    match current {
        Scheduled if s.auto_in_progress => Some(s.scheduled_for),
        Scheduled | InProgress | Verifying if s.auto_completed => Some(s.scheduled_until),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentStatus::*;

    const S: Schedule = Schedule {
        scheduled_for: 1_000,
        scheduled_until: 5_000,
        auto_in_progress: true,
        auto_completed: true,
    };

    #[test]
    fn moves_at_its_times() {
        assert_eq!(due_status(Scheduled, &S, 999), None);
        assert_eq!(due_status(Scheduled, &S, 1_000), Some(InProgress));
        assert_eq!(next_due(Scheduled, &S), Some(1_000));
        assert_eq!(next_due(InProgress, &S), Some(5_000));
        assert_eq!(due_status(InProgress, &S, 4_999), None);
        assert_eq!(due_status(InProgress, &S, 5_000), Some(Completed));
        assert_eq!(due_status(Verifying, &S, 6_000), Some(Completed));
        assert_eq!(next_due(Completed, &S), None);
        // Both times passed while nobody looked: straight to completed.
        assert_eq!(due_status(Scheduled, &S, 9_000), Some(Completed));
    }

    #[test]
    fn switches_off_mean_by_hand() {
        let manual = Schedule {
            auto_in_progress: false,
            auto_completed: false,
            ..S
        };
        assert_eq!(due_status(Scheduled, &manual, 9_000), None);
        assert_eq!(next_due(Scheduled, &manual), None);
        let start_only = Schedule {
            auto_completed: false,
            ..S
        };
        assert_eq!(due_status(Scheduled, &start_only, 9_000), Some(InProgress));
        assert_eq!(next_due(InProgress, &start_only), None);
    }
}
