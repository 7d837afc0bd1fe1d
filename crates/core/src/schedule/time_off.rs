//! Time off: a person is away for a window, and every schedule they are in hands their shifts
//! to a replacement, or leaves them uncovered.

use chrono::{DateTime, Utc};

use super::zone::check_range;
use super::ScheduleError;

/// A checked time off: `user` is away for `[start, end)`; `replacement` (if any) takes their
/// place.
///
/// Unlike an [`super::Override`], which replaces *whoever* is on call, time off replaces only
/// `user`, wherever the schedule would put them: in any rotation (rotation overrides included)
/// and in schedule-wide overrides. So a vacation is one entry that works in every schedule:
///
/// - With a replacement, the replacement is on call in `user`'s place (shown as an override).
/// - Without one, `user`'s time in a rotation becomes a gap: in a cumulative schedule the other
///   rotations still page, in a layered schedule the next lower layer shows through. A
///   schedule-wide override naming `user` stops counting for the window, so the rotations show
///   through there too.
///
/// Time off applies once, to the holder before it: a replacement who is away too is not
/// replaced again. Where two time offs of the same user overlap, the later one in the
/// schedule's list wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOff {
    user: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    replacement: Option<String>,
}

impl TimeOff {
    pub fn new(
        user: impl Into<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        replacement: Option<String>,
    ) -> Result<Self, ScheduleError> {
        let user = user.into();
        if user.trim().is_empty() {
            return Err(ScheduleError::EmptyTimeOffUser);
        }
        let what = || format!("time off for `{user}`");
        check_range(&what(), start)?;
        check_range(&what(), end)?;
        if end <= start {
            return Err(ScheduleError::EndNotAfterStart {
                what: what(),
                start,
                end,
            });
        }
        let replacement = replacement.filter(|r| !r.trim().is_empty());
        if replacement.as_deref() == Some(user.as_str()) {
            return Err(ScheduleError::SelfReplacement(user));
        }
        Ok(TimeOff {
            user,
            start,
            end,
            replacement,
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Who is on call instead, or `None` for nobody.
    pub fn replacement(&self) -> Option<&str> {
        self.replacement.as_deref()
    }

    pub(crate) fn covers(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    #[test]
    fn time_off_is_checked() {
        let (a, b) = (utc("2026-07-01T00:00:00Z"), utc("2026-07-15T00:00:00Z"));
        let ok = TimeOff::new("ann", a, b, Some("bob".into())).expect("valid");
        assert_eq!(
            (ok.user(), ok.replacement(), ok.start(), ok.end()),
            ("ann", Some("bob"), a, b)
        );
        assert_eq!(
            TimeOff::new("ann", a, b, Some(String::new()))
                .expect("blank replacement means nobody")
                .replacement(),
            None
        );
        assert_eq!(
            TimeOff::new("", a, b, None),
            Err(ScheduleError::EmptyTimeOffUser)
        );
        assert_eq!(
            TimeOff::new("ann", a, b, Some("ann".into())),
            Err(ScheduleError::SelfReplacement("ann".into()))
        );
        let err = TimeOff::new("ann", b, a, None).expect_err("end before start");
        assert!(err.to_string().contains("time off for `ann`"), "{err}");
    }
}
