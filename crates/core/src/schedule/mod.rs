//! On-call schedule maths (rotations, restrictions, layers, overrides). Pure: no I/O.
//!
//! A [`Schedule`] has a time zone, a [`ScheduleMode`], [`Rotation`]s and [`Override`]s, all
//! checked when built. It answers who is on call at an instant ([`Schedule::on_call_at`],
//! [`Schedule::on_call_per_rotation_at`]), who is next ([`Schedule::next_on_call_after`]) and
//! what a window looks like ([`Schedule::final_timeline`], [`Schedule::base_timeline`],
//! [`Schedule::override_timeline`]).
//!
//! # Semantics
//!
//! - **Turns.** Turn k of a rotation starts k × `length` hours/days/weeks after its start and
//!   belongs to `participants[k % n]`; [`Participant::None`] leaves the turn uncovered. Hourly
//!   turns step in real hours; daily and weekly turns hand off at the start's wall-clock time in
//!   the schedule's time zone, whatever DST does (a 09:00 handoff stays at 09:00 local).
//! - **Wall-clock times that do not exist or exist twice** (handoffs, restriction windows): a
//!   nonexistent time moves forward to the instant the clocks jump; an ambiguous time takes the
//!   earlier instant, which keeps the mapping from wall clock to instant monotonic.
//! - **Restrictions** mask a rotation: its turn-holder is on call only inside the windows, while
//!   the turns keep their own clock. Windows whose end is not after their start wrap (21:00 →
//!   09:00; Fri 18:00 → Mon 09:00); an end equal to the start means the whole day (or week).
//! - **Modes.** [`ScheduleMode::Cumulative`] (OpsGenie): everyone on call in any rotation is on
//!   call. [`ScheduleMode::Layered`] (PagerDuty): the last rotation in the list that has someone
//!   on call at that instant is the only one that counts.
//! - **Overrides** (see [`Override`]): a schedule-wide override decides the final answer during
//!   its window; a rotation override replaces that rotation's holder where the rotation is in
//!   effect. Where overrides overlap, **the later one in the list wins**.
//! - **Time off** (see [`TimeOff`], added with [`Schedule::with_time_off`]): while a user is
//!   away, wherever the schedule would put them (rotations, rotation overrides, schedule-wide
//!   overrides) their replacement is on call instead, or nobody: their rotation time becomes a
//!   gap and a schedule-wide override naming them stops counting. Applied once, after overrides.
//! - **Instants** are `chrono::DateTime<Utc>`; periods and windows are half-open `[start, end)`.
//!   Schedule maths covers the years 0001–9999; queries outside that are clamped to it.

mod error;
mod on_call;
mod overrides;
mod restriction;
mod rotation;
mod time_off;
mod timeline;
mod zone;

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod table_tests;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use error::ScheduleError;
pub use on_call::RotationOnCall;
pub use overrides::Override;
pub use restriction::{ClockTime, Restriction, WeekdayWindow};
pub use rotation::{Participant, Rotation, RotationKind, RotationSpec};
pub use time_off::TimeOff;
pub use timeline::Period;
pub use zone::{parse_time_zone, wall_clock_instant};

/// How the rotations of a schedule combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleMode {
    /// Everyone on call in any rotation is on call (OpsGenie).
    #[default]
    Cumulative,
    /// The last rotation in the list with someone on call wins (PagerDuty's highest layer).
    Layered,
}

impl ScheduleMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleMode::Cumulative => "cumulative",
            ScheduleMode::Layered => "layered",
        }
    }
}

impl FromStr for ScheduleMode {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cumulative" => Ok(ScheduleMode::Cumulative),
            "layered" => Ok(ScheduleMode::Layered),
            other => Err(ScheduleError::UnknownMode(other.to_string())),
        }
    }
}

impl fmt::Display for ScheduleMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked schedule: rotation names are unique and every override names existing rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    time_zone: Tz,
    mode: ScheduleMode,
    rotations: Vec<Rotation>,
    overrides: Vec<Override>,
    /// Per override, the indices of the rotations it replaces (`None`: the whole schedule).
    override_targets: Vec<Option<Vec<usize>>>,
    /// In precedence order: the last one wins where two of the same user overlap.
    time_off: Vec<TimeOff>,
}

impl Schedule {
    pub fn new(
        time_zone: Tz,
        mode: ScheduleMode,
        rotations: Vec<Rotation>,
        overrides: Vec<Override>,
    ) -> Result<Self, ScheduleError> {
        let mut seen = HashSet::new();
        for r in &rotations {
            if !seen.insert(r.name()) {
                return Err(ScheduleError::DuplicateRotation(r.name().to_string()));
            }
        }
        let index_of = |name: &str| rotations.iter().position(|r| r.name() == name);
        let override_targets = overrides
            .iter()
            .map(|o| {
                o.rotations()
                    .map(|names| {
                        names
                            .iter()
                            .map(|name| {
                                index_of(name).ok_or_else(|| ScheduleError::UnknownRotation {
                                    user: o.user().name().unwrap_or("none").to_string(),
                                    rotation: name.clone(),
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Schedule {
            time_zone,
            mode,
            rotations,
            overrides,
            override_targets,
            time_off: Vec::new(),
        })
    }

    /// The same schedule with these users away. Time off needs no check against the schedule:
    /// one for a user who is not in it changes nothing.
    pub fn with_time_off(mut self, time_off: Vec<TimeOff>) -> Self {
        self.time_off = time_off;
        self
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    pub fn mode(&self) -> ScheduleMode {
        self.mode
    }

    /// In layer order: the last one is the highest layer.
    pub fn rotations(&self) -> &[Rotation] {
        &self.rotations
    }

    /// In precedence order: the last one wins where overrides overlap.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    pub fn time_off(&self) -> &[TimeOff] {
        &self.time_off
    }

    /// The time off of `user` in force at `t`, the later one where they overlap.
    pub(crate) fn time_off_at(&self, user: &str, t: DateTime<Utc>) -> Option<&TimeOff> {
        self.time_off
            .iter()
            .rev()
            .find(|off| off.user() == user && off.covers(t))
    }
}
