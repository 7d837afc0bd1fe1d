//! Rotations: participants taking turns of N hours, days or weeks from a start instant.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::restriction::Restriction;
use super::timeline::{mask, Seg};
use super::zone::{check_range, local, resolve_local, MAX_INSTANT};
use super::ScheduleError;

/// The unit of a turn.
///
/// Hourly turns are counted in absolute hours (a DST change makes one local hour repeat or
/// vanish, but every turn still lasts N real hours). Daily and weekly turns are counted on the
/// wall clock: a daily rotation that starts at 09:00 hands off at 09:00 local every day, so the
/// turns around a DST change last 23 or 25 real hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotationKind {
    Hourly,
    Daily,
    Weekly,
}

impl RotationKind {
    /// Days per unit for the kinds counted on the wall clock.
    fn days(self) -> Option<i64> {
        match self {
            RotationKind::Hourly => None,
            RotationKind::Daily => Some(1),
            RotationKind::Weekly => Some(7),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RotationKind::Hourly => "hourly",
            RotationKind::Daily => "daily",
            RotationKind::Weekly => "weekly",
        }
    }
}

impl FromStr for RotationKind {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hourly" => Ok(RotationKind::Hourly),
            "daily" => Ok(RotationKind::Daily),
            "weekly" => Ok(RotationKind::Weekly),
            other => Err(ScheduleError::UnknownRotationKind(other.to_string())),
        }
    }
}

impl fmt::Display for RotationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One slot in a rotation's order: a user, or nobody (OpsGenie's reserved participant `none`),
/// which leaves that turn uncovered by this rotation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Participant {
    User(String),
    None,
}

impl Participant {
    pub fn user(name: impl Into<String>) -> Self {
        Participant::User(name.into())
    }

    /// The user's name, or `None` for a gap.
    pub fn name(&self) -> Option<&str> {
        match self {
            Participant::User(name) => Some(name),
            Participant::None => None,
        }
    }
}

/// The fields of a rotation before they are checked; [`Rotation::new`] turns it into a
/// [`Rotation`] or says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationSpec {
    pub name: String,
    pub kind: RotationKind,
    /// Units (hours, days or weeks) per turn; at least 1.
    pub length: u32,
    /// When the first turn starts; its wall-clock time in the schedule's zone is the handoff time.
    pub start: DateTime<Utc>,
    /// When the rotation stops putting anyone on call (exclusive); `None` for never.
    pub end: Option<DateTime<Utc>>,
    /// In turn order: turn k belongs to `participants[k % len]`.
    pub participants: Vec<Participant>,
    pub restriction: Option<Restriction>,
}

/// A checked rotation: named, at least one participant, length ≥ 1, end after start, and a
/// restriction with at least one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    spec: RotationSpec,
}

impl Rotation {
    pub fn new(spec: RotationSpec) -> Result<Self, ScheduleError> {
        if spec.name.trim().is_empty() {
            return Err(ScheduleError::EmptyRotationName);
        }
        let what = || format!("rotation `{}`", spec.name);
        if spec.length == 0 {
            return Err(ScheduleError::ZeroLength(spec.name));
        }
        if spec.participants.is_empty() {
            return Err(ScheduleError::EmptyParticipants(spec.name));
        }
        if spec.participants.iter().any(|p| p.name() == Some("")) {
            return Err(ScheduleError::EmptyParticipantName(spec.name));
        }
        check_range(&what(), spec.start)?;
        if let Some(end) = spec.end {
            check_range(&what(), end)?;
            if end <= spec.start {
                return Err(ScheduleError::EndNotAfterStart {
                    what: what(),
                    start: spec.start,
                    end,
                });
            }
        }
        if spec.restriction.as_ref().is_some_and(Restriction::is_empty) {
            return Err(ScheduleError::EmptyRestriction(spec.name));
        }
        Ok(Rotation { spec })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn kind(&self) -> RotationKind {
        self.spec.kind
    }

    pub fn length(&self) -> u32 {
        self.spec.length
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.spec.start
    }

    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.spec.end
    }

    pub fn participants(&self) -> &[Participant] {
        &self.spec.participants
    }

    pub fn restriction(&self) -> Option<&Restriction> {
        self.spec.restriction.as_ref()
    }

    pub fn into_spec(self) -> RotationSpec {
        self.spec
    }

    /// Real hours of a full cycle through every participant, roughly (days count as 24 hours);
    /// used to bound how far "next on call" looks ahead.
    pub(crate) fn cycle_hours(&self) -> i64 {
        let unit = self.spec.kind.days().map_or(1, |days| days * 24);
        let participants = i64::try_from(self.spec.participants.len()).unwrap_or(i64::MAX);
        unit.saturating_mul(i64::from(self.spec.length))
            .saturating_mul(participants)
    }
}

/// A rotation read in its schedule's time zone: where its turns start and who holds them.
pub(crate) struct Turns<'a> {
    rotation: &'a Rotation,
    tz: Tz,
    /// Wall-clock time of the first turn's start: the handoff time of daily and weekly turns.
    local_start: NaiveDateTime,
}

impl<'a> Turns<'a> {
    pub(crate) fn new(rotation: &'a Rotation, tz: Tz) -> Self {
        Turns {
            rotation,
            tz,
            local_start: local(&tz, rotation.spec.start),
        }
    }

    fn end(&self) -> DateTime<Utc> {
        self.rotation.spec.end.unwrap_or(MAX_INSTANT)
    }

    /// Start of turn `k` (k ≥ 0), or `None` past the supported range. Turn 0 starts exactly at
    /// the rotation start even when its wall-clock time is the later copy of a repeated hour.
    /// Turn starts strictly increase with `k`: wall-clock starts are ≥ 1 day apart and a DST
    /// change moves them by far less.
    fn start_of(&self, k: i64) -> Option<DateTime<Utc>> {
        let spec = &self.rotation.spec;
        if k <= 0 {
            return Some(spec.start);
        }
        let units = k.checked_mul(i64::from(spec.length))?;
        let start = match spec.kind.days() {
            None => spec
                .start
                .checked_add_signed(TimeDelta::try_hours(units)?)?,
            Some(unit) => {
                let days = u64::try_from(units.checked_mul(unit)?).ok()?;
                let date = self.local_start.date().checked_add_days(Days::new(days))?;
                if date > MAX_INSTANT.date_naive() {
                    return None;
                }
                resolve_local(&self.tz, date.and_time(self.local_start.time()))
            }
        };
        Some(start).filter(|s| *s <= MAX_INSTANT)
    }

    /// The turn holding `t` (for `t` at or after the rotation start).
    fn index_at(&self, t: DateTime<Utc>) -> i64 {
        let spec = &self.rotation.spec;
        let len = i64::from(spec.length);
        // A first guess from elapsed time, corrected below by at most a turn or two: DST
        // shifts wall-clock time by hours, never by a whole turn.
        let guess = match spec.kind.days() {
            None => (t - spec.start).num_seconds() / (len * 3600),
            Some(unit) => {
                let elapsed = (local(&self.tz, t) - self.local_start).num_seconds();
                elapsed.div_euclid(len * unit * 86_400)
            }
        };
        let mut k = guess.max(0);
        while k > 0 && self.start_of(k).is_none_or(|s| s > t) {
            k -= 1;
        }
        while self.start_of(k + 1).is_some_and(|s| s <= t) {
            k += 1;
        }
        k
    }

    fn holder(&self, k: i64) -> Option<&'a str> {
        let participants = &self.rotation.spec.participants;
        let n = i64::try_from(participants.len()).unwrap_or(i64::MAX);
        let slot = usize::try_from(k.rem_euclid(n)).unwrap_or(0);
        participants.get(slot).and_then(Participant::name)
    }

    /// Whether the rotation puts its turn-holder (or its gap) on call at `t`: between its start
    /// and end and inside its restriction.
    pub(crate) fn in_effect(&self, t: DateTime<Utc>) -> bool {
        self.rotation.spec.start <= t
            && t < self.end()
            && self
                .rotation
                .spec
                .restriction
                .as_ref()
                .is_none_or(|r| r.contains(&self.tz, t))
    }

    /// Who this rotation puts on call at `t`: `None` when it is not in effect, `Some(None)` for a
    /// gap.
    pub(crate) fn at(&self, t: DateTime<Utc>) -> Option<Option<&'a str>> {
        self.in_effect(t).then(|| self.holder(self.index_at(t)))
    }

    /// The time the rotation is in effect within `[from, to)`, cut at every handoff and
    /// restriction window, gaps included (`who: None`), sorted and non-overlapping.
    pub(crate) fn coverage(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Seg<'a>> {
        let lo = from.max(self.rotation.spec.start);
        let hi = to.min(self.end());
        let mut turns = Vec::new();
        if lo >= hi {
            return turns;
        }
        let mut k = self.index_at(lo);
        let mut start = lo;
        loop {
            let next = self.start_of(k + 1);
            let end = next.map_or(hi, |n| n.min(hi));
            if start < end {
                turns.push(Seg::base(start, end, self.holder(k)));
            }
            match next {
                Some(n) if n < hi => (start, k) = (n, k + 1),
                _ => break,
            }
        }
        match &self.rotation.spec.restriction {
            Some(restriction) => mask(&turns, &restriction.windows(&self.tz, lo, hi)),
            None => turns,
        }
    }
}
