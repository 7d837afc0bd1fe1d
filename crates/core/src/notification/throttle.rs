//! Per-contact throttling: at most `max` messages in any `window`, so an alert storm does not
//! turn into an SMS or phone-call storm on one person.

use serde::{Deserialize, Serialize};

use super::error::NotificationError;
use crate::clock::Millis;
use crate::duration::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ThrottleSpec", into = "ThrottleSpec")]
pub struct Throttle {
    max: u32,
    window_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleSpec {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Not before this instant.
    NotBefore(Millis),
}

impl Throttle {
    /// Klaxon's default for SMS and voice: 5 per 15 minutes per contact.
    pub const PHONE: Throttle = Throttle {
        max: 5,
        window_ms: 15 * 60_000,
    };

    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    pub fn new(spec: ThrottleSpec) -> Result<Self, NotificationError> {
        let window_ms = spec.window.as_millis();
        if spec.max == 0 || window_ms <= 0 {
            return Err(NotificationError::BadThrottle);
        }
        Ok(Throttle {
            max: spec.max,
            window_ms,
        })
    }

    /// May one more message go out at `now`, given the earlier sends to this contact (any
    /// order; sends older than the window are ignored)? If not, the first instant it may:
    /// when enough of the recent sends have left the window `(t - window, t]`.
    pub fn check(&self, sent: &[Millis], now: Millis) -> Decision {
        let mut recent: Vec<Millis> = sent
            .iter()
            .copied()
            .filter(|t| *t > now - self.window_ms)
            .map(|t| t.min(now))
            .collect();
        let max = self.max as usize;
        if recent.len() < max {
            return Decision::Allowed;
        }
        recent.sort_unstable();
        // Sends leave the window oldest first; once `len - max + 1` have left, one fits.
        Decision::NotBefore(recent[recent.len() - max] + self.window_ms)
    }

    /// When one more message may go out, at `now` or later, given every message sent to this
    /// contact or already scheduled for it (`taken`, any order, future ones included). Messages
    /// keep their order: one goes after those scheduled before it, so no window ever holds
    /// more than `max` of them, however many arrive at once.
    pub fn schedule(&self, taken: &[Millis], now: Millis) -> Millis {
        let start = taken.iter().copied().fold(now, Millis::max);
        match self.check(taken, start) {
            Decision::Allowed => start,
            Decision::NotBefore(t) => t,
        }
    }
}

impl TryFrom<ThrottleSpec> for Throttle {
    type Error = NotificationError;
    fn try_from(spec: ThrottleSpec) -> Result<Self, Self::Error> {
        Throttle::new(spec)
    }
}

impl From<Throttle> for ThrottleSpec {
    fn from(t: Throttle) -> Self {
        ThrottleSpec {
            max: t.max,
            window: Duration(std::time::Duration::from_millis(t.window_ms as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn throttle(max: u32, window: &str) -> Throttle {
        Throttle::new(ThrottleSpec {
            max,
            window: window.parse().unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn allows_up_to_max_then_names_the_instant() {
        let t = throttle(3, "10m");
        let m = 60_000;
        assert_eq!(t.check(&[], 0), Decision::Allowed);
        assert_eq!(t.check(&[0, m], 2 * m), Decision::Allowed);
        assert_eq!(t.check(&[2 * m, 0, m], 3 * m), Decision::NotBefore(10 * m));
        assert_eq!(
            t.check(&[0, m, 2 * m], 10 * m),
            Decision::Allowed,
            "0 left the window"
        );
        assert_eq!(
            t.check(&[0, m, m, 2 * m], 5 * m),
            Decision::NotBefore(11 * m)
        );
        assert!(Throttle::new(ThrottleSpec {
            max: 0,
            window: "1m".parse().unwrap()
        })
        .is_err());
        assert!(Throttle::new(ThrottleSpec {
            max: 1,
            window: "0".parse().unwrap()
        })
        .is_err());
    }

    #[test]
    fn a_burst_is_spread_so_that_no_window_holds_more_than_max() {
        let t = throttle(5, "15m");
        let m = 60_000;
        let mut taken = vec![];
        // Twelve messages in the same instant: five now, five 15 minutes later, two after that.
        for _ in 0..12 {
            let at = t.schedule(&taken, 0);
            taken.push(at);
        }
        assert_eq!(
            taken,
            [
                0,
                0,
                0,
                0,
                0,
                15 * m,
                15 * m,
                15 * m,
                15 * m,
                15 * m,
                30 * m,
                30 * m
            ]
        );
        // A message scheduled ahead holds its place: a new one goes after it.
        assert_eq!(t.schedule(&[10 * m], 0), 10 * m);
        assert_eq!(t.schedule(&[], 7), 7);
    }

    proptest! {
        /// Whatever was sent or scheduled (and when), a message scheduled by `schedule` goes
        /// after all of them, at the first instant its window holds at most `max`.
        #[test]
        fn schedule_keeps_the_window_within_max(taken0 in prop::collection::vec(0i64..20_000, 0..8), n in 1usize..12, max in 1u32..5, window in 1i64..5_000) {
            let t = Throttle { max, window_ms: window };
            let now = 10_000;
            let mut taken = taken0;
            for _ in 0..n {
                let start = taken.iter().copied().fold(now, i64::max);
                let at = t.schedule(&taken, now);
                prop_assert!(at >= start);
                prop_assert!(at == start || t.check(&taken, at - 1) != Decision::Allowed, "not the first instant");
                taken.push(at);
                let in_window = taken.iter().filter(|b| **b > at - window && **b <= at).count();
                prop_assert!(in_window <= max as usize, "the window ending {} holds {}", at, in_window);
            }
        }
    }

    proptest! {
        /// The instant named is the first one allowed: allowed there, refused just before.
        #[test]
        fn not_before_is_exact(sent in prop::collection::vec(0i64..10_000, 0..12), max in 1u32..5, window in 1i64..5_000) {
            let t = Throttle { max, window_ms: window };
            let now = 10_000;
            match t.check(&sent, now) {
                Decision::Allowed => {
                    let in_window = sent.iter().filter(|s| **s > now - window).count();
                    prop_assert!(in_window < max as usize);
                }
                Decision::NotBefore(at) => {
                    prop_assert!(at > now);
                    prop_assert_eq!(t.check(&sent, at), Decision::Allowed);
                    prop_assert_ne!(t.check(&sent, at - 1), Decision::Allowed);
                }
            }
        }
    }
}
