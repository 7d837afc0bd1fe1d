//! Why an escalation policy or an alert history was refused.

use crate::clock::Millis;

/// Every way an escalation policy can be wrong. Each message says what was wrong and how to
/// fix it, because these reach people editing YAML or calling `/v2/escalations`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalationError {
    #[error(
        "rule {rule}: the recipient has an empty id: name the user, team or schedule to notify"
    )]
    EmptyRecipient { rule: usize },

    #[error("rule {rule}: notifyType `{notify_type}` does not apply to a {recipient} recipient: use {allowed}")]
    NotifyTypeMismatch {
        rule: usize,
        notify_type: &'static str,
        recipient: &'static str,
        allowed: &'static str,
    },

    #[error("rule {rule} repeats rule {first} (same condition, notifyType, delay and recipient): remove one of them")]
    DuplicateRule { rule: usize, first: usize },

    #[error("rule {rule}: a delay of {delay} is too long: escalation delays are at most {max}")]
    DelayTooLong {
        rule: usize,
        delay: crate::duration::Duration,
        max: crate::duration::Duration,
    },

    #[error("repeat count {0} is out of range: an escalation repeats 0 to 20 times")]
    RepeatCountOutOfRange(u32),

    #[error("repeat waitInterval {wait} is too long: it is at most {max}")]
    WaitTooLong {
        wait: crate::duration::Duration,
        max: crate::duration::Duration,
    },

    #[error("a repeating escalation needs time between its cycles: give repeat a waitInterval above 0 or a rule a delay above 0, otherwise every repeat fires at the same instant")]
    RepeatWithoutTime,

    #[error("`{value}` is not a valid {field}: use one of {allowed}")]
    UnknownValue {
        field: &'static str,
        value: String,
        allowed: &'static str,
    },
}

/// Why an alert history was refused: it must read like what happened, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("an event at {at} comes before the alert was created at {created_at}")]
    BeforeCreation { at: Millis, created_at: Millis },

    #[error("an event at {at} comes after a later one at {previous}: append events in time order")]
    OutOfOrder { at: Millis, previous: Millis },

    #[error("an event at {at} comes after the alert was closed at {closed_at}: a closed alert does not change")]
    AfterClose { at: Millis, closed_at: Millis },

    #[error("a snooze at {at} ends at {until}, which is not after it: the end must be later")]
    SnoozeEndNotAfterStart { at: Millis, until: Millis },
}
