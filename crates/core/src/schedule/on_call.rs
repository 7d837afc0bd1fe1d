//! Who is on call at one instant, and who comes next.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::rotation::Turns;
use super::zone::{clamp, MAX_INSTANT};
use super::{Override, Schedule, ScheduleMode};

/// What one rotation does at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationOnCall {
    pub rotation: String,
    /// Who this rotation puts on call, rotation overrides and time off applied; `None` when
    /// nobody (not in effect, a `none` gap, an override to nobody, or a holder away).
    pub user: Option<String>,
    /// Between the rotation's start and end and inside its restriction.
    pub in_effect: bool,
    /// `user` comes from a rotation override or a time off rather than from the turn.
    pub is_override: bool,
}

/// How far "next on call" looks at most, and at least, past the last rotation or override start.
const LOOKAHEAD_MAX_HOURS: i64 = 10 * 366 * 24;
const LOOKAHEAD_MIN_HOURS: i64 = 366 * 24;

impl Schedule {
    /// The whole-schedule override in force at `t`, the later one where they overlap.
    fn schedule_override_at(&self, t: DateTime<Utc>) -> Option<&Override> {
        self.overrides
            .iter()
            .zip(&self.override_targets)
            .rev()
            .find(|(o, targets)| targets.is_none() && o.covers(t))
            .map(|(o, _)| o)
    }

    /// Rotation `i` at `t`: `None` when it is not in effect, else its holder (rotation overrides
    /// and time off applied) and whether that holder comes from an override or time off.
    fn rotation_at(&self, i: usize, t: DateTime<Utc>) -> Option<(Option<&str>, bool)> {
        let rotation = self.rotations.get(i)?;
        let turn_holder = Turns::new(rotation, self.time_zone).at(t)?;
        let replaced = self
            .overrides
            .iter()
            .zip(&self.override_targets)
            .rev()
            .find(|(o, targets)| o.covers(t) && targets.as_ref().is_some_and(|rs| rs.contains(&i)));
        let (who, is_override) = match replaced {
            Some((o, _)) => (o.user().name(), true),
            None => (turn_holder, false),
        };
        Some(match who.and_then(|user| self.time_off_at(user, t)) {
            Some(off) => (off.replacement(), true),
            None => (who, is_override),
        })
    }

    /// Everyone on call at `t`, after overrides and the schedule's mode; each user once, in
    /// rotation order.
    pub fn on_call_at(&self, t: DateTime<Utc>) -> Vec<String> {
        let t = clamp(t);
        if let Some(o) = self.schedule_override_at(t) {
            match o.user().name() {
                None => return Vec::new(),
                Some(user) => match self.time_off_at(user, t) {
                    None => return vec![user.to_string()],
                    Some(off) => {
                        if let Some(replacement) = off.replacement() {
                            return vec![replacement.to_string()];
                        }
                        // The override's user is away with nobody named: the override stops
                        // counting and the rotations decide, as the timelines show it.
                    }
                },
            }
        }
        let holder = |i: usize| self.rotation_at(i, t).and_then(|(who, _)| who);
        let indices = 0..self.rotations.len();
        match self.mode {
            ScheduleMode::Cumulative => {
                let mut users: Vec<String> = Vec::new();
                for user in indices.filter_map(holder) {
                    if !users.iter().any(|u| u == user) {
                        users.push(user.to_string());
                    }
                }
                users
            }
            ScheduleMode::Layered => indices
                .rev()
                .find_map(holder)
                .map(str::to_string)
                .into_iter()
                .collect(),
        }
    }

    /// What every rotation does at `t`, in rotation order, rotation overrides applied.
    /// Schedule-wide overrides belong to no rotation: they show in [`Schedule::on_call_at`] and
    /// the timelines only.
    pub fn on_call_per_rotation_at(&self, t: DateTime<Utc>) -> Vec<RotationOnCall> {
        let t = clamp(t);
        self.rotations
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let at = self.rotation_at(i, t);
                RotationOnCall {
                    rotation: r.name().to_string(),
                    user: at.and_then(|(who, _)| who).map(str::to_string),
                    in_effect: at.is_some(),
                    is_override: at.is_some_and(|(_, is_override)| is_override),
                }
            })
            .collect()
    }

    /// The first instant after `t` at which the on-call set becomes non-empty and different from
    /// the set at `t`, with that set. Time with nobody on call is skipped, so after A's shift, a
    /// gap, then A again, then B, the answer is B's start.
    ///
    /// Looks ahead a year, or twice the longest rotation cycle if longer, past the later of `t`
    /// and the last rotation or override start (at most ten years); `None` if nothing changes
    /// within that, or once every rotation and override has ended.
    pub fn next_on_call_after(&self, t: DateTime<Utc>) -> Option<(DateTime<Utc>, Vec<String>)> {
        let t = clamp(t);
        let mut current = self.on_call_at(t);
        current.sort_unstable();
        let horizon = self.lookahead_end(t);
        let mut cursor = t;
        let mut chunk = TimeDelta::days(2);
        while cursor < horizon {
            let end = cursor
                .checked_add_signed(chunk)
                .map_or(horizon, |e| e.min(horizon));
            // The on-call set only changes where a final period starts or ends. The chunk's own
            // start is a candidate too: a change there looks like a clipped period start.
            let mut candidates: Vec<DateTime<Utc>> = self
                .final_timeline(cursor, end)
                .iter()
                .flat_map(|p| [p.start, p.end])
                .chain([cursor])
                .filter(|x| *x > t && *x < end)
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            for x in candidates {
                let users = self.on_call_at(x);
                let mut sorted = users.clone();
                sorted.sort_unstable();
                if !users.is_empty() && sorted != current {
                    return Some((x, users));
                }
            }
            if self.nothing_after(end) {
                return None;
            }
            cursor = end;
            chunk = (chunk * 2).min(TimeDelta::days(64));
        }
        None
    }

    fn lookahead_end(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let latest_start = self
            .rotations
            .iter()
            .map(|r| r.start())
            .chain(self.overrides.iter().map(Override::start))
            .fold(t, DateTime::max);
        let longest_cycle = self.rotations.iter().map(|r| r.cycle_hours()).max();
        let hours = longest_cycle
            .unwrap_or(0)
            .saturating_mul(2)
            .clamp(LOOKAHEAD_MIN_HOURS, LOOKAHEAD_MAX_HOURS);
        TimeDelta::try_hours(hours)
            .and_then(|span| latest_start.checked_add_signed(span))
            .map_or(MAX_INSTANT, clamp)
    }

    /// Every rotation and override has ended by `x`: nobody can be on call from then on.
    fn nothing_after(&self, x: DateTime<Utc>) -> bool {
        self.rotations
            .iter()
            .all(|r| r.end().is_some_and(|e| e <= x))
            && self.overrides.iter().all(|o| o.end() <= x)
    }
}
