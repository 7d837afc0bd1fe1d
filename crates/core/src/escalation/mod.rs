//! Escalation policies (OpsGenie `/v2/escalations`) and the pure planner the engine drives with
//! due-time rows. No I/O: the engine loads the policy and the alert's [`AlertHistory`], calls
//! [`plan`] with the window since its last call, sends the [`DueStep`]s (resolving recipients
//! through a [`Directory`] with [`resolve`]), applies the [`Effect`]s, and stores
//! [`Plan::next_due`] as the row's due time.
//!
//! # Semantics
//!
//! - **Timing.** Rule delays count from the start of the run (run 0: the alert's creation).
//!   Rules may be listed in any order; each fires at its own delay. With a repeat, cycle `c`
//!   starts `c × (longest delay + waitInterval)` after the run's start, for `c` in
//!   `0..=count`: the repeat waits `waitInterval` after the cycle's last rule, as OpsGenie says.
//! - **Conditions.** `if-not-acked` fires only while the alert is unacknowledged;
//!   `if-not-closed` fires while it is open, acknowledged or not. An acknowledgement or close
//!   at the same instant as a step wins: the step does not fire.
//! - **Acknowledge** stops the `if-not-acked` rules; `if-not-closed` rules and the repeat cycles
//!   go on. **Close** stops everything: nothing is ever due at or after the close.
//! - **Un-acknowledge restarts** the escalation from its beginning as a new *run*, with the
//!   delays counted from the un-acknowledgement and a fresh repeat count (what OpsGenie does;
//!   the on-call is paged again at once by a rule with no delay). An un-acknowledgement of an
//!   alert that is not acknowledged changes nothing.
//! - **Snooze** suppresses: steps due while snoozed are skipped, never sent later. When the
//!   snooze ends the alert is active and unacknowledged again ([`crate::lifecycle`]'s wake) and
//!   the escalation restarts as a new run, so the on-call is paged again at the snooze's end;
//!   steps of the old run that fall after the snooze end are dropped. (Simply continuing the old
//!   timetable would leave a long snooze silent forever once its steps had passed.) A snooze
//!   while snoozed moves the end.
//! - **resetRecipientStates**: at the start of every repeat cycle an acknowledgement is
//!   reverted ([`Effect::RevertAcknowledgement`]), so the `if-not-acked` rules notify again.
//!   This is not a restart: the run and its timetable go on.
//! - **closeAlertAfterAll**: one `waitInterval` after the last rule of the last repeat (when
//!   another repeat would have started), [`Effect::CloseAlert`] asks the engine to close the
//!   alert, if it is open, not snoozed, and the escalation was still going then: unacknowledged,
//!   or the policy has `if-not-closed` rules. An alert somebody acknowledged under a policy of
//!   only `if-not-acked` rules is theirs and is not closed under them.
//! - **Keys.** Every step has a [`StepKey`] `run.cycle.rule`, fixed once the step is due, and
//!   each key falls due at one instant only; the planner returns the steps due in
//!   `(since, now]`, so calls over consecutive windows return each key at most once.
//! - **Late steps** (the engine was down) fire as soon as it plans again, in order, if their
//!   condition still holds now and their run is still in force; otherwise they are dropped.

mod course;
mod directory;
mod error;
mod history;
mod plan;
mod policy;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod table_tests;

pub(crate) use course::Course;
pub use directory::{resolve, Directory, TeamMember, TeamRole, UserId};
pub use error::{EscalationError, HistoryError};
pub use history::{AlertEvent, AlertHistory};
pub use plan::{plan, DueStep, Effect, Plan, StepKey};
pub use policy::{
    Condition, EscalationPolicy, EscalationRule, EscalationSpec, NotifyType, Recipient,
    RecipientKind, Repeat, MAX_DELAY, MAX_REPEAT_COUNT,
};

#[cfg(test)]
pub(crate) use directory::fake::FakeDirectory;
