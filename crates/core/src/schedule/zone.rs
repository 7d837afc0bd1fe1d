//! Turning local wall-clock times of a schedule's time zone into instants.
//!
//! Handoffs and restriction windows are written as wall-clock times ("09:00 in New York"), so
//! every one of them goes through [`resolve_local`], which fixes what happens on the two days a
//! year when a wall-clock time does not name exactly one instant:
//!
//! - **Nonexistent** (spring forward, e.g. 02:30 on 2026-03-08 in New York): the time moves
//!   forward to the first instant after the gap, the moment the clocks jump (03:00 EDT). Every
//!   nonexistent time of that gap maps to the same instant, so the mapping never runs backwards
//!   and a window lying wholly inside the gap becomes empty for that day.
//! - **Ambiguous** (fall back, e.g. 01:30 on 2026-11-01 in New York): the earlier of the two
//!   instants (01:30 EDT), so a shift starting then starts as soon as the wall clock says so.
//!
//! Both rules keep [`resolve_local`] non-decreasing in local time, which the timeline code relies
//! on: windows and turns stay in order after resolution.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::ScheduleError;

/// Earliest instant schedule maths works with (0001-01-02T00:00:00Z); a day inside chrono's
/// range so that local dates and day arithmetic around it never overflow.
pub(crate) const MIN_INSTANT: DateTime<Utc> = match DateTime::from_timestamp(-62_135_510_400, 0) {
    Some(t) => t,
    None => DateTime::<Utc>::MIN_UTC,
};

/// Latest instant schedule maths works with (9999-12-30T00:00:00Z); "no end" means this.
pub(crate) const MAX_INSTANT: DateTime<Utc> = match DateTime::from_timestamp(253_402_128_000, 0) {
    Some(t) => t,
    None => DateTime::<Utc>::MAX_UTC,
};

/// Parses an IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`), as written.
pub fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone(name.to_string()))
}

/// The instant at which the wall clock of `tz` shows `local`, for input written in local time
/// (a config file's `start: 2026-01-05 09:00`). A time that does not exist moves forward to the
/// moment the clocks jump; a time that exists twice takes the earlier instant.
pub fn wall_clock_instant(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    resolve_local(tz, local)
}

/// Refuses instants outside [`MIN_INSTANT`, `MAX_INSTANT`] so that the maths never overflows.
pub(crate) fn check_range(what: &str, at: DateTime<Utc>) -> Result<(), ScheduleError> {
    if (MIN_INSTANT..=MAX_INSTANT).contains(&at) {
        Ok(())
    } else {
        Err(ScheduleError::OutOfRange {
            what: what.to_string(),
            at,
        })
    }
}

pub(crate) fn clamp(t: DateTime<Utc>) -> DateTime<Utc> {
    t.clamp(MIN_INSTANT, MAX_INSTANT)
}

pub(crate) fn local(tz: &Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(tz).naive_local()
}

pub(crate) fn local_date(tz: &Tz, t: DateTime<Utc>) -> NaiveDate {
    local(tz, t).date()
}

/// The local date plus `minutes` (which may pass midnight, or several), as a wall-clock time.
pub(crate) fn wall_clock(day: NaiveDate, minutes: i64) -> Option<NaiveDateTime> {
    day.and_time(chrono::NaiveTime::MIN)
        .checked_add_signed(TimeDelta::try_minutes(minutes)?)
}

/// The instant at which the wall clock of `tz` shows `local`; see the module docs for the
/// nonexistent (spring forward) and ambiguous (fall back) cases.
pub(crate) fn resolve_local(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => first_instant_after_gap(tz, local),
    }
}

/// UTC offsets range from -12h to +14h, so the transition that skipped `local` lies within this
/// many seconds of `local` read as if it were UTC.
const GAP_BRACKET_SECS: i64 = 15 * 3600;

/// Finds the transition instant T whose gap swallowed `local`: the first instant whose wall
/// clock reads at or after `local`. Binary search on whole seconds (tzdb transitions fall on
/// whole seconds); it runs only for nonexistent times, so its ~17 steps cost nothing overall.
fn first_instant_after_gap(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let guess = local.and_utc();
    let at_or_after = |secs: i64| match DateTime::from_timestamp(secs, 0) {
        Some(u) => self::local(tz, u) >= local,
        None => secs > 0,
    };
    let mut lo = guess.timestamp() - GAP_BRACKET_SECS;
    let mut hi = guess.timestamp() + GAP_BRACKET_SECS;
    if at_or_after(lo) || !at_or_after(hi) {
        // Not a single gap inside the bracket (no real zone does this): fall back to reading the
        // wall clock with the offset in force a day earlier, which still moves forward.
        let before = guess - TimeDelta::days(1);
        let offset = tz.offset_from_utc_datetime(&before.naive_utc()).fix();
        return guess - TimeDelta::seconds(i64::from(offset.local_minus_utc()));
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at_or_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or(guess)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        let day = NaiveDate::from_ymd_opt(y, m, d).expect("test date");
        resolve_local(&tz, day.and_hms_opt(h, min, 0).expect("test time"))
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    #[test]
    fn ordinary_times_are_read_with_the_offset_in_force() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(at(ny, 2026, 1, 5, 9, 0), utc("2026-01-05T14:00:00Z"));
        assert_eq!(at(ny, 2026, 7, 6, 9, 0), utc("2026-07-06T13:00:00Z"));
    }

    #[test]
    fn nonexistent_times_move_to_the_end_of_the_gap() {
        let ny = chrono_tz::America::New_York;
        // 02:00–03:00 does not exist on 2026-03-08; clocks jump at 07:00Z.
        assert_eq!(at(ny, 2026, 3, 8, 2, 0), utc("2026-03-08T07:00:00Z"));
        assert_eq!(at(ny, 2026, 3, 8, 2, 30), utc("2026-03-08T07:00:00Z"));
        assert_eq!(at(ny, 2026, 3, 8, 3, 0), utc("2026-03-08T07:00:00Z"));
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(at(berlin, 2026, 3, 29, 2, 30), utc("2026-03-29T01:00:00Z"));
        // Lord Howe Island skips only 30 minutes.
        let lord_howe = chrono_tz::Australia::Lord_Howe;
        assert_eq!(
            at(lord_howe, 2026, 10, 4, 2, 10),
            utc("2026-10-03T15:30:00Z")
        );
    }

    #[test]
    fn ambiguous_times_take_the_earlier_instant() {
        let ny = chrono_tz::America::New_York;
        assert_eq!(at(ny, 2026, 11, 1, 1, 30), utc("2026-11-01T05:30:00Z"));
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(at(berlin, 2026, 10, 25, 2, 30), utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn time_zone_names_are_parsed_or_refused_clearly() {
        assert_eq!(parse_time_zone("Asia/Seoul"), Ok(chrono_tz::Asia::Seoul));
        assert_eq!(parse_time_zone(" UTC "), Ok(chrono_tz::UTC));
        let err = parse_time_zone("Mars/Olympus_Mons").expect_err("unknown zone");
        assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
    }
}
