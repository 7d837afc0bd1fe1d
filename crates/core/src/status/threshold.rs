//! The health-check state machine against flapping: a check goes down after
//! `failure_threshold` failures in a row and comes back after `success_threshold` successes in
//! a row. Anything shorter changes nothing.

/// What the store keeps between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckState {
    pub down: bool,
    pub failures: u32,
    pub successes: u32,
}

/// What a result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    WentDown,
    Recovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub failure: u32,
    pub success: u32,
}

impl CheckState {
    /// The state after one more result.
    pub fn record(self, ok: bool, t: Thresholds) -> (CheckState, Transition) {
        let (failures, successes) = if ok {
            (0, self.successes.saturating_add(1))
        } else {
            (self.failures.saturating_add(1), 0)
        };
        let mut next = CheckState {
            down: self.down,
            failures,
            successes,
        };
        let transition = if !self.down && failures >= t.failure.max(1) {
            next.down = true;
            Transition::WentDown
        } else if self.down && successes >= t.success.max(1) {
            next.down = false;
            Transition::Recovered
        } else {
            Transition::None
        };
        (next, transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(results: &str, t: Thresholds) -> Vec<Transition> {
        let mut s = CheckState::default();
        results
            .chars()
            .map(|c| {
                let (n, tr) = s.record(c == '+', t);
                s = n;
                tr
            })
            .collect()
    }

    const T: Thresholds = Thresholds {
        failure: 3,
        success: 2,
    };

    #[test]
    fn goes_down_after_n_failures_and_up_after_m_successes() {
        use Transition::*;
        assert_eq!(
            run("+---++", T),
            [None, None, None, WentDown, None, Recovered]
        );
    }

    #[test]
    fn flapping_below_the_threshold_changes_nothing() {
        assert!(run("--+--+--+-+--+", T)
            .iter()
            .all(|t| *t == Transition::None));
        // Down, then flapping successes below the recovery threshold keep it down.
        let tr = run("---+-+-+-", T);
        assert_eq!(tr[2], Transition::WentDown);
        assert!(tr[3..].iter().all(|t| *t == Transition::None));
    }

    #[test]
    fn a_zero_threshold_acts_as_one() {
        let t = Thresholds {
            failure: 0,
            success: 0,
        };
        assert_eq!(run("-+", t), [Transition::WentDown, Transition::Recovered]);
    }
}
