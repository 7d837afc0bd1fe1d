//! Why a schedule, rotation, restriction or override was refused.

use chrono::{DateTime, Utc};

/// Every way schedule input can be wrong. Each message says what was wrong and how to fix it,
/// because these reach people editing YAML or calling the OpsGenie-compatible API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "unknown time zone `{0}`: use an IANA name such as `Europe/Berlin`, `America/New_York` or `UTC`"
    )]
    UnknownTimeZone(String),

    #[error("{what} ends at {end}, which is not after its start {start}: the end must be later than the start")]
    EndNotAfterStart {
        what: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },

    #[error("{what} uses the instant {at}, outside the supported years 0001–9999")]
    OutOfRange { what: String, at: DateTime<Utc> },

    #[error("hour {0} is outside 0–24 in a time restriction")]
    HourOutOfRange(u32),

    #[error("minute {0} is outside 0–59 in a time restriction")]
    MinuteOutOfRange(u32),

    #[error("24:{0:02} is not a time of day: with hour 24 the minute must be 0 (24:00 means end of day)")]
    PastEndOfDay(u32),

    #[error("`{0}` is not a time of day: write it as HH:MM, for example 09:00 or 21:30")]
    BadClockTime(String),

    #[error("rotation `{0}` has no participants: add at least one user (or `none` for a gap)")]
    EmptyParticipants(String),

    #[error("rotation `{0}` has length 0: a turn must last at least one hour, day or week")]
    ZeroLength(String),

    #[error("rotation `{0}` has a weekday-and-time-of-day restriction without windows: add a window or remove the restriction")]
    EmptyRestriction(String),

    #[error("a rotation has an empty name: give every rotation a name")]
    EmptyRotationName,

    #[error("rotation `{0}` lists a participant with an empty user name: name a user or use `none` for a gap")]
    EmptyParticipantName(String),

    #[error("an override has an empty user name: name a user or use `none` for nobody")]
    EmptyOverrideUser,

    #[error("a time off has an empty user name: name the user who is away")]
    EmptyTimeOffUser,

    #[error("time off for `{0}` names `{0}` as the replacement: name someone else, or nobody to leave the shifts uncovered")]
    SelfReplacement(String),

    #[error("two rotations are named `{0}`: rotation names must be unique within a schedule")]
    DuplicateRotation(String),

    #[error("an override for `{user}` names rotation `{rotation}`, which is not in this schedule: use one of its rotation names or leave `rotations` empty for all")]
    UnknownRotation { user: String, rotation: String },

    #[error("unknown rotation type `{0}`: expected hourly, daily or weekly")]
    UnknownRotationKind(String),

    #[error("unknown schedule mode `{0}`: expected cumulative or layered")]
    UnknownMode(String),
}
