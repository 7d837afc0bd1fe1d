//! What happened to an alert that matters to its escalation: acknowledgements, snoozes and the
//! close, in order. The engine keeps these as rows and hands them to the planners.

use serde::{Deserialize, Serialize};

use super::error::HistoryError;
use crate::clock::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AlertEvent {
    Acknowledged {
        at: Millis,
    },
    Unacknowledged {
        at: Millis,
    },
    /// Snoozed at `at` until `until`. A snooze while snoozed replaces the end.
    Snoozed {
        at: Millis,
        until: Millis,
    },
    Closed {
        at: Millis,
    },
}

impl AlertEvent {
    pub fn at(&self) -> Millis {
        match *self {
            AlertEvent::Acknowledged { at }
            | AlertEvent::Unacknowledged { at }
            | AlertEvent::Snoozed { at, .. }
            | AlertEvent::Closed { at } => at,
        }
    }
}

/// The alert's creation and its events in time order (events at the same instant keep the
/// order they were appended in). Nothing follows a close. Built only through [`AlertHistory::push`]
/// and [`AlertHistory::from_events`], which keep it so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertHistory {
    created_at: Millis,
    events: Vec<AlertEvent>,
}

impl AlertHistory {
    pub fn new(created_at: Millis) -> Self {
        AlertHistory {
            created_at,
            events: Vec::new(),
        }
    }

    /// Builds a history from stored rows, checking them as [`AlertHistory::push`] does.
    pub fn from_events(
        created_at: Millis,
        events: impl IntoIterator<Item = AlertEvent>,
    ) -> Result<Self, HistoryError> {
        let mut h = AlertHistory::new(created_at);
        for e in events {
            h.push(e)?;
        }
        Ok(h)
    }

    /// Appends an event; it may not be earlier than the last one, nor follow a close.
    pub fn push(&mut self, event: AlertEvent) -> Result<(), HistoryError> {
        let at = event.at();
        if at < self.created_at {
            return Err(HistoryError::BeforeCreation {
                at,
                created_at: self.created_at,
            });
        }
        if let Some(closed_at) = self.closed_at() {
            return Err(HistoryError::AfterClose { at, closed_at });
        }
        if let Some(previous) = self.events.last().map(AlertEvent::at) {
            if at < previous {
                return Err(HistoryError::OutOfOrder { at, previous });
            }
        }
        if let AlertEvent::Snoozed { at, until } = event {
            if until <= at {
                return Err(HistoryError::SnoozeEndNotAfterStart { at, until });
            }
        }
        self.events.push(event);
        Ok(())
    }

    pub fn created_at(&self) -> Millis {
        self.created_at
    }

    pub fn events(&self) -> &[AlertEvent] {
        &self.events
    }

    pub fn closed_at(&self) -> Option<Millis> {
        match self.events.last() {
            Some(AlertEvent::Closed { at }) => Some(*at),
            _ => None,
        }
    }

    /// What was known at `now`: the events up to and including it.
    pub fn as_of(&self, now: Millis) -> AlertHistory {
        AlertHistory {
            created_at: self.created_at,
            events: self
                .events
                .iter()
                .take_while(|e| e.at() <= now)
                .copied()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_events_in_order_and_nothing_after_close() {
        let mut h = AlertHistory::new(100);
        assert_eq!(
            h.push(AlertEvent::Acknowledged { at: 50 }),
            Err(HistoryError::BeforeCreation {
                at: 50,
                created_at: 100
            })
        );
        h.push(AlertEvent::Acknowledged { at: 200 }).unwrap();
        assert!(matches!(
            h.push(AlertEvent::Unacknowledged { at: 150 }),
            Err(HistoryError::OutOfOrder { .. })
        ));
        assert!(h
            .push(AlertEvent::Snoozed {
                at: 300,
                until: 300
            })
            .is_err());
        h.push(AlertEvent::Closed { at: 400 }).unwrap();
        assert_eq!(h.closed_at(), Some(400));
        let err = h.push(AlertEvent::Acknowledged { at: 500 }).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[test]
    fn as_of_forgets_the_future() {
        let h = AlertHistory::from_events(
            0,
            [
                AlertEvent::Acknowledged { at: 10 },
                AlertEvent::Closed { at: 20 },
            ],
        )
        .unwrap();
        assert_eq!(h.as_of(19).events().len(), 1);
        assert_eq!(h.as_of(20).closed_at(), Some(20));
    }
}
