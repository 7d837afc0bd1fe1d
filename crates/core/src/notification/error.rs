//! Why a contact method, notification rule or throttle was refused.

/// Each message says what was wrong and how to fix it; these reach people editing YAML or
/// calling the OpsGenie user API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("`{0}` is not a contact method: use email, sms, voice, mobile, slack or webhook")]
    UnknownContactKind(String),

    #[error("{kind} contact `{to}` is not valid: {why}")]
    BadAddress {
        kind: &'static str,
        to: String,
        why: &'static str,
    },

    #[error("a contact method has an empty id: give every contact method an id")]
    EmptyContactId,

    #[error("two contact methods have the id `{0}`: contact ids must be unique per user")]
    DuplicateContact(String),

    #[error("a notification rule has an empty name: give every rule a name")]
    EmptyRuleName,

    #[error("two notification rules are named `{0}`: rule names must be unique per user")]
    DuplicateRule(String),

    #[error(
        "notification rule `{0}` has no steps: add at least one step (send after, contact method)"
    )]
    NoSteps(String),

    #[error("notification rule `{rule}`, step {step}: no contact method `{contact}`: add it first or name an existing one")]
    UnknownContact {
        rule: String,
        step: usize,
        contact: String,
    },

    #[error("notification rule `{rule}`, step {step} repeats step {first} (same delay and contact method): remove one of them")]
    DuplicateStep {
        rule: String,
        step: usize,
        first: usize,
    },

    #[error("notification rule `{rule}`: a delay of {delay} is too long: steps and loops wait at most {max}")]
    DelayTooLong {
        rule: String,
        delay: crate::duration::Duration,
        max: crate::duration::Duration,
    },

    #[error("notification rule `{0}` repeats without time between loops: give the repeat a loopAfter above 0 or a step a delay above 0")]
    RepeatWithoutTime(String),

    #[error(
        "a throttle must allow at least one message in a window longer than 0: e.g. 5 per 15m"
    )]
    BadThrottle,
}
