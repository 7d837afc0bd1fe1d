//! Overrides: someone else (or nobody) on call for a window, in the whole schedule or in some of
//! its rotations.

use chrono::{DateTime, Utc};

use super::rotation::Participant;
use super::zone::check_range;
use super::ScheduleError;

/// A checked override: `user` takes over `[start, end)`.
///
/// - `rotations: None` overrides the whole schedule: during the window the final answer is
///   exactly `user`, whatever the rotations say (OpsGenie: "takes precedence over all
///   rotations"), even where no rotation has anyone.
/// - `rotations: Some(names)` replaces only those rotations' turn-holders, and only where the
///   rotation is in effect (between its start and end, inside its restriction, gaps included):
///   an override of the weekend-cover rotation for a whole week covers that week's weekend.
///
/// `user` may be [`Participant::None`] (OpsGenie's `none`): nobody is on call there.
/// When overrides overlap, the later one in the schedule's list wins where they overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    user: Participant,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rotations: Option<Vec<String>>,
}

impl Override {
    /// `rotations` empty means all rotations, as in OpsGenie's API where the field is optional.
    /// Whether the named rotations exist is checked by [`super::Schedule::new`].
    pub fn new(
        user: Participant,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        rotations: Option<Vec<String>>,
    ) -> Result<Self, ScheduleError> {
        let what = || match user.name() {
            Some(name) => format!("override for `{name}`"),
            None => "override for nobody".to_string(),
        };
        if user.name() == Some("") {
            return Err(ScheduleError::EmptyOverrideUser);
        }
        check_range(&what(), start)?;
        check_range(&what(), end)?;
        if end <= start {
            return Err(ScheduleError::EndNotAfterStart {
                what: what(),
                start,
                end,
            });
        }
        Ok(Override {
            user,
            start,
            end,
            rotations: rotations.filter(|names| !names.is_empty()),
        })
    }

    pub fn user(&self) -> &Participant {
        &self.user
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The rotations it replaces, or `None` for the whole schedule.
    pub fn rotations(&self) -> Option<&[String]> {
        self.rotations.as_deref()
    }

    pub(crate) fn covers(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}
