//! Reaching one user: contact methods, notification rules and their pure planner, and
//! per-contact throttling. No I/O: once an escalation step has paged a user, the engine calls
//! [`plan`] with the window since its last call, sends each [`DueNotification`] (after asking
//! the contact's [`Throttle`]) and stores [`NotificationPlan::next_due`] as the row's due time.
//!
//! # Semantics
//!
//! - A user's rules are tried in order; the first enabled rule whose [`Criteria`] match the
//!   alert's priority and tags applies. A user without rules, or whom no rule matches, gets
//!   every enabled contact method at once (a page is never dropped for want of a rule).
//! - Steps fire `send_after` after the page; with `loop_after` the steps run again every
//!   `longest send_after + loop_after` until the alert is answered.
//! - The first change to the alert after the page (acknowledge, close, snooze, un-acknowledge)
//!   answers it: nothing of the page is due at or after that instant. An un-acknowledgement
//!   restarts the escalation, which pages again under a new step key.
//! - Keys ([`NotificationKey`]: user, rule, step, loop) fall due at one instant each; windows
//!   `(since, now]` return each at most once.

mod contact;
mod error;
mod plan;
mod rule;
mod throttle;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod table_tests;

pub use contact::{ContactKind, ContactMethod, ContactSpec};
pub use error::NotificationError;
pub use plan::{plan, DueNotification, NotificationKey, NotificationPlan, Page, RuleRef};
pub use rule::{
    Criteria, NotificationProfile, NotificationRule, ProfileSpec, Selection, Step, TagMatch,
};
pub use throttle::{Decision, Throttle, ThrottleSpec};
