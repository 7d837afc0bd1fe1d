//! Time restrictions: the wall-clock windows inside which a rotation puts anyone on call.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;

use super::zone::{local_date, resolve_local, wall_clock};
use super::ScheduleError;

const MINUTES_PER_DAY: i64 = 24 * 60;
const MINUTES_PER_WEEK: i64 = 7 * MINUTES_PER_DAY;

/// A wall-clock time of day from 00:00 to 24:00 inclusive (24:00 is the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    minutes: u16,
}

impl ClockTime {
    /// 00:00, the start of a day.
    pub const MIDNIGHT: ClockTime = ClockTime { minutes: 0 };

    /// Hours 0–24 and minutes 0–59; 24 only as 24:00.
    pub fn new(hour: u32, minute: u32) -> Result<Self, ScheduleError> {
        if hour > 24 {
            return Err(ScheduleError::HourOutOfRange(hour));
        }
        if minute > 59 {
            return Err(ScheduleError::MinuteOutOfRange(minute));
        }
        if hour == 24 && minute != 0 {
            return Err(ScheduleError::PastEndOfDay(minute));
        }
        // hour ≤ 24 and minute ≤ 59 were checked, so this fits in u16.
        let minutes = (hour * 60 + minute) as u16;
        Ok(ClockTime { minutes })
    }

    pub fn hour(self) -> u32 {
        u32::from(self.minutes / 60)
    }

    pub fn minute(self) -> u32 {
        u32::from(self.minutes % 60)
    }

    pub(crate) fn minutes_of_day(self) -> i64 {
        i64::from(self.minutes)
    }
}

impl FromStr for ClockTime {
    type Err = ScheduleError;

    /// `H:MM` or `HH:MM`, e.g. `9:00`, `21:30`, `24:00`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ScheduleError::BadClockTime(s.to_string());
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
            return Err(bad());
        }
        let hour = h.parse().map_err(|_| bad())?;
        let minute = m.parse().map_err(|_| bad())?;
        ClockTime::new(hour, minute)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

/// One weekly window, e.g. Friday 18:00 → Monday 09:00 for weekend cover.
///
/// A window whose end comes before its start in the week wraps into the next week (Fri → Mon
/// above); a window whose end equals its start covers the whole week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdayWindow {
    pub start_day: Weekday,
    pub start: ClockTime,
    pub end_day: Weekday,
    pub end: ClockTime,
}

impl WeekdayWindow {
    /// Start and end in minutes after Monday 00:00; the end is after the start, by at most a week.
    fn span_in_week(&self) -> (i64, i64) {
        let at = |day: Weekday, time: ClockTime| {
            i64::from(day.num_days_from_monday()) * MINUTES_PER_DAY + time.minutes_of_day()
        };
        let start = at(self.start_day, self.start);
        let mut end = at(self.end_day, self.end);
        if end <= start {
            end += MINUTES_PER_WEEK;
        }
        (start, end)
    }
}

/// When a rotation's turn-holder is actually on call, in the schedule's wall-clock time.
///
/// Turns keep rotating on their own clock; the restriction only masks them, as in OpsGenie and
/// PagerDuty: a restricted week-long turn is on call only inside the windows of that week.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Restriction {
    /// Every day from `start` to `end`. An end at or before the start wraps past midnight
    /// (21:00 → 09:00 is a night shift); an end equal to the start means the whole day.
    TimeOfDay { start: ClockTime, end: ClockTime },
    /// The union of weekly windows (OpsGenie `weekday-and-time-of-day`).
    WeekdayAndTimeOfDay(Vec<WeekdayWindow>),
}

impl Restriction {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Restriction::WeekdayAndTimeOfDay(windows) if windows.is_empty())
    }

    /// Calls `f(start, end)` with the wall-clock bounds of every window (unsorted, possibly
    /// overlapping) that can touch local dates `first..=last`; callers resolve them to instants
    /// with [`resolve_local`], which may make a window empty.
    ///
    /// A daily window starts on its day and lasts at most a day (start ≤ 24:00, end ≤ start +
    /// 24h), so windows that start two days early are enough; a weekly window lasts at most a
    /// week and starts within its week, so two weeks early are enough. One day more at the end
    /// covers a fall-back fold that repeats the hour around midnight.
    fn for_each_window(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        mut f: impl FnMut(NaiveDateTime, NaiveDateTime),
    ) {
        let mut emit = |day: NaiveDate, start: i64, end: i64| {
            if let (Some(s), Some(e)) = (wall_clock(day, start), wall_clock(day, end)) {
                f(s, e);
            }
        };
        match self {
            Restriction::TimeOfDay { start, end } => {
                let start = start.minutes_of_day();
                let mut end = end.minutes_of_day();
                if end <= start {
                    end += MINUTES_PER_DAY;
                }
                let last = last.succ_opt().unwrap_or(last);
                let mut day = first.checked_sub_days(Days::new(2));
                while let Some(d) = day.filter(|d| *d <= last) {
                    emit(d, start, end);
                    day = d.succ_opt();
                }
            }
            Restriction::WeekdayAndTimeOfDay(windows) => {
                let monday = |d: NaiveDate| {
                    d.checked_sub_days(Days::new(u64::from(d.weekday().num_days_from_monday())))
                };
                let last = last.succ_opt().unwrap_or(last);
                let mut week = monday(first).and_then(|m| m.checked_sub_days(Days::new(14)));
                while let Some(m) = week.filter(|m| *m <= last) {
                    for window in windows {
                        let (start, end) = window.span_in_week();
                        emit(m, start, end);
                    }
                    week = m.checked_add_days(Days::new(7));
                }
            }
        }
    }

    /// The windows overlapping `[from, to)`, clipped to it, sorted, with overlapping or touching
    /// windows merged.
    pub(crate) fn windows(
        &self,
        tz: &Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        if from >= to {
            return out;
        }
        self.for_each_window(local_date(tz, from), local_date(tz, to), |s, e| {
            let s = resolve_local(tz, s).max(from);
            let e = resolve_local(tz, e).min(to);
            if s < e {
                out.push((s, e));
            }
        });
        out.sort_unstable();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// Whether `t` is inside a window. Uses the same windows as [`Restriction::windows`], without
    /// allocating and resolving an end only when the start is not after `t`, because "who is on
    /// call now" runs for every schedule on every page.
    pub(crate) fn contains(&self, tz: &Tz, t: DateTime<Utc>) -> bool {
        let day = local_date(tz, t);
        let mut inside = false;
        self.for_each_window(day, day, |s, e| {
            inside = inside || (resolve_local(tz, s) <= t && t < resolve_local(tz, e));
        });
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_are_checked() {
        assert_eq!(
            "09:00"
                .parse::<ClockTime>()
                .map(|t| t.to_string())
                .as_deref(),
            Ok("09:00")
        );
        assert_eq!(
            "9:05".parse::<ClockTime>().map(|t| (t.hour(), t.minute())),
            Ok((9, 5))
        );
        assert!("24:00".parse::<ClockTime>().is_ok());
        assert_eq!(
            "25:00".parse::<ClockTime>(),
            Err(ScheduleError::HourOutOfRange(25))
        );
        assert_eq!(
            "12:60".parse::<ClockTime>(),
            Err(ScheduleError::MinuteOutOfRange(60))
        );
        assert_eq!(
            "24:30".parse::<ClockTime>(),
            Err(ScheduleError::PastEndOfDay(30))
        );
        for bad in ["", "9", "9:5", "-1:00", "ab:cd", "123:00", "09:00:00"] {
            assert_eq!(
                bad.parse::<ClockTime>(),
                Err(ScheduleError::BadClockTime(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn weekday_windows_wrap_into_the_next_week() {
        let fri_to_mon = WeekdayWindow {
            start_day: Weekday::Fri,
            start: ClockTime::new(18, 0).expect("valid"),
            end_day: Weekday::Mon,
            end: ClockTime::new(9, 0).expect("valid"),
        };
        assert_eq!(
            fri_to_mon.span_in_week(),
            (4 * 1440 + 18 * 60, 7 * 1440 + 9 * 60)
        );
        let whole_week = WeekdayWindow {
            end_day: Weekday::Fri,
            end: ClockTime::new(18, 0).expect("valid"),
            ..fri_to_mon
        };
        let (s, e) = whole_week.span_in_week();
        assert_eq!(e - s, MINUTES_PER_WEEK);
    }
}
