//! The alert's course as the escalation sees it: which run of the escalation is in force, and
//! whether the alert is acknowledged, snoozed or closed, at every instant.
//!
//! A *run* is one pass of the escalation from its beginning. Run 0 starts when the alert is
//! created; an un-acknowledgement and the end of a snooze each start a new run (the alert is
//! unacknowledged again and the escalation restarts). Transitions at one instant apply in this
//! order: the end of a snooze, the revert of an acknowledgement at a repeat, then the events in
//! the order they were recorded. A state at instant `t` includes everything that happened at `t`.

use super::history::{AlertEvent, AlertHistory};
use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    pub run: u32,
    pub acked: bool,
    pub snoozed: bool,
    pub closed: bool,
}

/// Where repeat cycles start, for policies that revert acknowledgements at each repeat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resets {
    pub cycle_ms: i64,
    pub count: u32,
}

/// An acknowledgement reverted at the start of repeat `cycle` of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Revert {
    pub at: Millis,
    pub run: u32,
    pub cycle: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Course {
    /// From each instant on, the state; ascending, and at one instant the last one counts.
    segments: Vec<(Millis, State)>,
    run_starts: Vec<Millis>,
    reverts: Vec<Revert>,
    closed_at: Option<Millis>,
}

impl Course {
    /// Plays `history` forward. Past its last event the course is what happens if nobody acts:
    /// a snooze still ends and repeats still revert acknowledgements.
    pub fn new(history: &AlertHistory, resets: Option<Resets>) -> Course {
        let created = history.created_at();
        let mut st = State {
            run: 0,
            acked: false,
            snoozed: false,
            closed: false,
        };
        let mut course = Course {
            segments: vec![(created, st)],
            run_starts: vec![created],
            reverts: Vec::new(),
            closed_at: None,
        };
        let mut run_start = created;
        let mut snooze_until: Option<Millis> = None;
        let mut next_cycle: u32 = 1;
        let mut events = history.events().iter().peekable();
        while !st.closed {
            let reset_at = resets
                .filter(|r| next_cycle <= r.count)
                .map(|r| run_start.saturating_add(i64::from(next_cycle) * r.cycle_ms));
            let event_at = events.peek().map(|e| e.at());
            let not_after_event = |t: Millis| event_at.is_none_or(|e| t <= e);
            if let Some(until) =
                snooze_until.filter(|u| not_after_event(*u) && reset_at.is_none_or(|r| *u <= r))
            {
                snooze_until = None;
                st.snoozed = false;
                st.acked = false;
                st.run += 1;
                run_start = until;
                next_cycle = 1;
                course.run_starts.push(until);
                course.segments.push((until, st));
            } else if let Some(at) = reset_at.filter(|r| not_after_event(*r)) {
                if st.acked {
                    st.acked = false;
                    course.reverts.push(Revert {
                        at,
                        run: st.run,
                        cycle: next_cycle,
                    });
                    course.segments.push((at, st));
                }
                next_cycle += 1;
            } else if let Some(event) = events.next() {
                let at = event.at();
                match *event {
                    AlertEvent::Acknowledged { .. } => st.acked = true,
                    AlertEvent::Unacknowledged { .. } => {
                        if st.acked {
                            st.acked = false;
                            st.run += 1;
                            run_start = at;
                            next_cycle = 1;
                            course.run_starts.push(at);
                        }
                    }
                    AlertEvent::Snoozed { until, .. } => {
                        st.snoozed = true;
                        snooze_until = Some(until);
                    }
                    AlertEvent::Closed { .. } => {
                        st.closed = true;
                        st.snoozed = false;
                        course.closed_at = Some(at);
                    }
                }
                course.segments.push((at, st));
            } else {
                break;
            }
        }
        course
    }

    /// The state at `t`; before creation, the state at creation.
    pub fn state_at(&self, t: Millis) -> State {
        let i = self.segments.partition_point(|(from, _)| *from <= t);
        self.segments[i.saturating_sub(1)].1
    }

    /// When each run starts, in order; index = run number.
    pub fn run_starts(&self) -> &[Millis] {
        &self.run_starts
    }

    /// When run `run` stops: the next run's start or the close, whichever comes first.
    pub fn run_end(&self, run: usize) -> Option<Millis> {
        match (self.run_starts.get(run + 1), self.closed_at) {
            (Some(next), Some(c)) => Some((*next).min(c)),
            (Some(next), None) => Some(*next),
            (None, c) => c,
        }
    }

    pub fn reverts(&self) -> &[Revert] {
        &self.reverts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(events: &[AlertEvent]) -> AlertHistory {
        AlertHistory::from_events(0, events.iter().copied()).unwrap()
    }

    #[test]
    fn unack_restarts_and_unack_without_ack_does_nothing() {
        let h = history(&[
            AlertEvent::Unacknowledged { at: 5 },
            AlertEvent::Acknowledged { at: 10 },
            AlertEvent::Unacknowledged { at: 20 },
        ]);
        let c = Course::new(&h, None);
        assert_eq!(c.run_starts(), [0, 20]);
        assert!(c.state_at(10).acked && !c.state_at(20).acked);
        assert_eq!(c.state_at(19).run, 0);
        assert_eq!(c.state_at(20).run, 1);
    }

    #[test]
    fn snooze_end_restarts_unacknowledged_and_a_resnooze_moves_the_end() {
        let h = history(&[
            AlertEvent::Acknowledged { at: 1 },
            AlertEvent::Snoozed { at: 2, until: 50 },
            AlertEvent::Snoozed { at: 30, until: 80 },
            // What the engine may record when it wakes the alert: no second restart.
            AlertEvent::Unacknowledged { at: 80 },
        ]);
        let c = Course::new(&h, None);
        assert_eq!(c.run_starts(), [0, 80]);
        assert!(c.state_at(79).snoozed && c.state_at(79).acked);
        let woke = c.state_at(80);
        assert!(!woke.snoozed && !woke.acked && woke.run == 1);
    }

    #[test]
    fn a_future_snooze_end_is_projected() {
        let c = Course::new(&history(&[AlertEvent::Snoozed { at: 2, until: 50 }]), None);
        assert_eq!(c.run_starts(), [0, 50]);
        assert_eq!(c.run_end(0), Some(50));
        assert_eq!(c.run_end(1), None);
    }

    #[test]
    fn repeats_revert_an_acknowledgement_but_an_ack_at_that_instant_stands() {
        let resets = Some(Resets {
            cycle_ms: 100,
            count: 3,
        });
        let c = Course::new(&history(&[AlertEvent::Acknowledged { at: 10 }]), resets);
        assert_eq!(
            c.reverts(),
            [Revert {
                at: 100,
                run: 0,
                cycle: 1
            }]
        );
        assert!(!c.state_at(100).acked);
        let c = Course::new(&history(&[AlertEvent::Acknowledged { at: 100 }]), resets);
        assert!(c.state_at(150).acked);
        assert_eq!(c.reverts()[0].at, 200, "the next repeat reverts it");
    }

    #[test]
    fn close_ends_everything() {
        let h = history(&[
            AlertEvent::Snoozed { at: 2, until: 50 },
            AlertEvent::Closed { at: 20 },
        ]);
        let c = Course::new(&h, None);
        assert_eq!(c.run_starts(), [0]);
        assert_eq!(c.run_end(0), Some(20));
        assert!(c.state_at(60).closed && !c.state_at(60).snoozed);
    }
}
