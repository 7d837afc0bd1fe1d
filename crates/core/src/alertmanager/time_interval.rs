//! Time intervals (`time_intervals:` and the older `mute_time_intervals:`), as routes use them
//! in `mute_time_intervals` and `active_time_intervals`.
//!
//! An interval holds when every field it sets holds (an interval with no fields holds always),
//! and a field holds when any of its ranges does. Fields are checked on the wall clock of
//! `location` (UTC when unset):
//!
//! - `times`: `HH:MM` to `HH:MM`, end exclusive, `24:00` allowed as an end. On the day clocks
//!   fall back, the repeated hour is inside the range both times; on the day they spring
//!   forward, the skipped wall-clock minutes never happen.
//! - `weekdays`: names (`monday`, `Monday:Friday`); a range runs Sunday→Saturday, so
//!   `saturday:sunday` is refused (write `saturday`, `sunday`).
//! - `days_of_month`: `1:5`, `-1` (the last day), `-7:-1`; days past the end of a month are
//!   clamped to it, and a range starting after the end of a month skips that month.
//! - `months`: names or numbers 1–12 (`january:march`, `12`); `years`: `2024`, `2024:2026`.
//!
//! One difference from Alertmanager 0.25 is deliberate: 0.25 counts the days of a month in
//! elapsed hours / 24, so in a month where DST begins (March in Europe) the month looks one day
//! short and `-1` falls on the 30th. Here a month has its calendar length, as Alertmanager
//! itself has since fixed. Months outside 1–12, which 0.25 accepts and never matches, are
//! refused.

use super::error::{ConfigErrorKind, ConfigErrors};
use super::yaml::Scalar;
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// A named list of intervals, as written under `time_intervals:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeIntervalSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalSpec>,
}

/// One interval as written in YAML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalSpec {
    #[serde(default)]
    pub times: Option<Vec<TimeRangeSpec>>,
    #[serde(default)]
    pub weekdays: Option<Vec<Scalar>>,
    #[serde(default)]
    pub days_of_month: Option<Vec<Scalar>>,
    #[serde(default)]
    pub months: Option<Vec<Scalar>>,
    #[serde(default)]
    pub years: Option<Vec<Scalar>>,
    #[serde(default)]
    pub location: Option<String>,
}

/// `{start_time: "09:00", end_time: "17:00"}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeSpec {
    #[serde(default)]
    pub start_time: Option<Scalar>,
    #[serde(default)]
    pub end_time: Option<Scalar>,
}

/// Minutes of the day, `[start_minute, end_minute)`, with `end_minute` up to 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u32,
    pub end_minute: u32,
}

/// An inclusive range of weekdays (0 = Sunday), days of month (negative counts from the end),
/// months (1 = January) or years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    pub begin: i32,
    pub end: i32,
}

/// A checked time interval. A field that is `None` was not written and does not restrict;
/// `Some(empty)` (written as `[]`) never holds, as in Alertmanager.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeInterval {
    pub times: Option<Vec<TimeRange>>,
    pub weekdays: Option<Vec<InclusiveRange>>,
    pub days_of_month: Option<Vec<InclusiveRange>>,
    pub months: Option<Vec<InclusiveRange>>,
    pub years: Option<Vec<InclusiveRange>>,
    pub location: Option<Tz>,
}

/// True when any of `intervals` holds at `t`.
pub fn any_contains(intervals: &[TimeInterval], t: DateTime<Utc>) -> bool {
    intervals.iter().any(|i| i.contains(t))
}

impl TimeInterval {
    /// Checks one interval as written.
    pub fn from_spec(spec: &TimeIntervalSpec) -> Result<Self, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let interval = Self::build(spec, "time_interval", &mut errors);
        match interval {
            Some(i) => errors.into_result(i),
            None => Err(errors),
        }
    }

    pub(crate) fn build(
        spec: &TimeIntervalSpec,
        at: &str,
        errors: &mut ConfigErrors,
    ) -> Option<Self> {
        let before = errors.0.len();
        let times = spec.times.as_ref().map(|ranges| {
            ranges
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match parse_time_range(r) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        errors.invalid(format!("{at}.times[{i}]"), e);
                        None
                    }
                })
                .collect()
        });
        let mut field = |name: &str, values: &Option<Vec<Scalar>>, parse: RangeParser| {
            values.as_ref().map(|values| {
                values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| match parse(v.as_str()) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            errors.invalid(format!("{at}.{name}[{i}]"), e);
                            None
                        }
                    })
                    .collect()
            })
        };
        let weekdays = field("weekdays", &spec.weekdays, parse_weekday_range);
        let days_of_month = field("days_of_month", &spec.days_of_month, parse_day_range);
        let months = field("months", &spec.months, parse_month_range);
        let years = field("years", &spec.years, parse_year_range);
        let location = match spec.location.as_deref() {
            None | Some("") | Some("UTC") => None,
            Some(name) => match name.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    errors.push(
                        format!("{at}.location"),
                        ConfigErrorKind::Invalid(format!(
                            "unknown time zone {name:?}; use an IANA name such as Europe/Berlin or America/New_York"
                        )),
                    );
                    None
                }
            },
        };
        (errors.0.len() == before).then_some(TimeInterval {
            times,
            weekdays,
            days_of_month,
            months,
            years,
            location,
        })
    }

    /// Whether the interval holds at instant `t`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = match &self.location {
            Some(tz) => t.with_timezone(tz).naive_local(),
            None => t.naive_utc(),
        };
        let any = |ranges: &Option<Vec<InclusiveRange>>, f: &dyn Fn(&InclusiveRange) -> bool| {
            ranges.as_ref().is_none_or(|rs| rs.iter().any(f))
        };
        let minute = local.hour() * 60 + local.minute();
        let in_times = self.times.as_ref().is_none_or(|rs| {
            rs.iter()
                .any(|r| minute >= r.start_minute && minute < r.end_minute)
        });
        let day = local.day() as i32;
        let month_days = days_in_month(local.year(), local.month());
        let in_days = any(&self.days_of_month, &|r| {
            let resolve = |d: i32| if d < 0 { month_days + d + 1 } else { d };
            let (begin, end) = (resolve(r.begin), resolve(r.end));
            if begin > month_days {
                return false;
            }
            let clamp = |d: i32| d.clamp(-month_days, month_days);
            day >= clamp(begin) && day <= clamp(end)
        });
        let month = local.month() as i32;
        let weekday = local.weekday().num_days_from_sunday() as i32;
        let year = local.year();
        in_times
            && in_days
            && any(&self.months, &|r| month >= r.begin && month <= r.end)
            && any(&self.weekdays, &|r| weekday >= r.begin && weekday <= r.end)
            && any(&self.years, &|r| year >= r.begin && year <= r.end)
    }
}

type RangeParser = fn(&str) -> Result<InclusiveRange, String>;

/// The calendar length of a month.
fn days_in_month(year: i32, month: u32) -> i32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days() as i32,
        _ => 31,
    }
}

/// `HH:MM` as minutes of the day: `00:00`–`23:59`, or `24:00`.
fn parse_time(s: &str) -> Result<u32, String> {
    let invalid = || format!("couldn't parse time {s:?}; write HH:MM between 00:00 and 24:00");
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let hours = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let minutes = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    if (hours < 24 && minutes < 60) || (hours == 24 && minutes == 0) {
        Ok(hours * 60 + minutes)
    } else {
        Err(invalid())
    }
}

fn parse_time_range(spec: &TimeRangeSpec) -> Result<TimeRange, String> {
    let (Some(start), Some(end)) = (&spec.start_time, &spec.end_time) else {
        return Err("both start_time and end_time must be provided".into());
    };
    if start.as_str().is_empty() || end.as_str().is_empty() {
        return Err("both start_time and end_time must be provided".into());
    }
    let (start_minute, end_minute) = (parse_time(start.as_str())?, parse_time(end.as_str())?);
    if start_minute >= end_minute {
        return Err(format!(
            "start time {start} must be before end time {end}; for a range across midnight write two ranges (e.g. 22:00-24:00 and 00:00-06:00)"
        ));
    }
    Ok(TimeRange {
        start_minute,
        end_minute,
    })
}

/// Splits `a:b` (or a single `a`) after lowercasing, as Alertmanager does.
fn parse_range(
    s: &str,
    member: impl Fn(&str) -> Result<i32, String>,
) -> Result<InclusiveRange, String> {
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split(':').collect();
    match parts.as_slice() {
        [one] => member(one).map(|v| InclusiveRange { begin: v, end: v }),
        [begin, end] => Ok(InclusiveRange {
            begin: member(begin)?,
            end: member(end)?,
        }),
        _ => Err(format!("couldn't parse range {s:?}; write a or a:b")),
    }
}

fn integer(s: &str) -> Result<i32, String> {
    s.parse::<i32>()
        .map_err(|_| format!("{s:?} is not a whole number"))
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn parse_weekday_range(s: &str) -> Result<InclusiveRange, String> {
    let r = parse_range(s, |w| {
        WEEKDAYS
            .iter()
            .position(|&d| d == w)
            .map(|p| p as i32)
            .ok_or_else(|| format!("{w:?} is not a valid weekday; write monday … sunday"))
    })?;
    if r.begin > r.end {
        return Err(format!(
            "weekday range {s:?} ends before it starts (ranges run sunday to saturday); write two entries, e.g. saturday and sunday"
        ));
    }
    Ok(r)
}

fn parse_day_range(s: &str) -> Result<InclusiveRange, String> {
    let r = parse_range(s, integer)?;
    for d in [r.begin, r.end] {
        if d == 0 || !(-31..=31).contains(&d) {
            return Err(format!(
                "{d} is not a valid day of the month: use 1 to 31, or -1 (last day) to -31"
            ));
        }
    }
    if r.begin < 0 && r.end > 0 {
        return Err(format!(
            "days of month {s:?}: end day must be negative if start day is negative"
        ));
    }
    // With a negative bound the order depends on the month; refuse only what is always wrong
    // (judged on the shortest month, 28 days).
    let on_short_month = |d: i32| if d < 0 { 28 + d } else { d };
    if on_short_month(r.begin) > on_short_month(r.end) {
        return Err(format!(
            "days of month {s:?}: end day {} is always before start day {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

fn parse_month_range(s: &str) -> Result<InclusiveRange, String> {
    let r = parse_range(s, |m| match MONTHS.iter().position(|&name| name == m) {
        Some(p) => Ok(p as i32 + 1),
        None => match m.parse::<i32>() {
            Ok(n) if (1..=12).contains(&n) => Ok(n),
            _ => Err(format!(
                "{m:?} is not a valid month; write january … december or 1 … 12"
            )),
        },
    })?;
    if r.begin > r.end {
        return Err(format!(
            "month range {s:?} ends before it starts; write two entries, e.g. november:december and january:february"
        ));
    }
    Ok(r)
}

fn parse_year_range(s: &str) -> Result<InclusiveRange, String> {
    let r = parse_range(s, integer)?;
    if r.begin > r.end {
        return Err(format!(
            "end year {} is before start year {}",
            r.end, r.begin
        ));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn interval(yaml: &str) -> TimeInterval {
        let spec: TimeIntervalSpec = serde_yaml::from_str(yaml).unwrap();
        TimeInterval::from_spec(&spec).unwrap_or_else(|e| panic!("{yaml}: {e}"))
    }

    fn error(yaml: &str) -> String {
        let spec: TimeIntervalSpec = serde_yaml::from_str(yaml).unwrap();
        TimeInterval::from_spec(&spec).unwrap_err().to_string()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_empty_interval_always_holds_and_an_empty_list_never() {
        assert!(interval("{}").contains(utc("2024-05-01T12:00:00Z")));
        assert!(!interval("times: []").contains(utc("2024-05-01T12:00:00Z")));
    }

    #[test]
    fn business_hours() {
        let i = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']",
        );
        let cases = [
            ("2024-05-06T09:00:00Z", true), // Monday, start inclusive
            ("2024-05-06T16:59:59Z", true),
            ("2024-05-06T17:00:00Z", false), // end exclusive
            ("2024-05-06T08:59:59Z", false),
            ("2024-05-10T12:00:00Z", true),  // Friday
            ("2024-05-11T12:00:00Z", false), // Saturday
            ("2024-05-12T12:00:00Z", false), // Sunday
        ];
        for (t, want) in cases {
            assert_eq!(i.contains(utc(t)), want, "{t}");
        }
    }

    #[test]
    fn end_of_day_and_names_in_any_case() {
        let i = interval(
            "times: [{start_time: '22:00', end_time: '24:00'}]\nweekdays: [Saturday, SUNDAY]",
        );
        assert!(i.contains(utc("2024-05-11T23:59:59Z")));
        assert!(!i.contains(utc("2024-05-11T21:59:59Z")));
        assert!(i.contains(utc("2024-05-12T22:00:00Z")));
        assert!(!i.contains(utc("2024-05-13T23:00:00Z")));
    }

    #[test]
    fn negative_days_of_month() {
        let last = interval("days_of_month: ['-1']");
        assert!(last.contains(utc("2024-02-29T10:00:00Z"))); // leap year
        assert!(!last.contains(utc("2024-02-28T10:00:00Z")));
        assert!(last.contains(utc("2023-02-28T10:00:00Z")));
        assert!(last.contains(utc("2024-04-30T10:00:00Z")));
        assert!(last.contains(utc("2024-12-31T10:00:00Z")));
        let last_week = interval("days_of_month: ['-7:-1']");
        assert!(last_week.contains(utc("2024-01-25T00:00:00Z")));
        assert!(!last_week.contains(utc("2024-01-24T23:59:59Z")));
        assert!(last_week.contains(utc("2024-02-23T00:00:00Z")));
        assert!(!last_week.contains(utc("2024-02-22T00:00:00Z")));
        // From the 25th to the second-to-last day.
        let mixed = interval("days_of_month: ['25:-2']");
        assert!(mixed.contains(utc("2024-01-30T00:00:00Z")));
        assert!(!mixed.contains(utc("2024-01-31T00:00:00Z")));
        assert!(!mixed.contains(utc("2024-01-24T00:00:00Z")));
    }

    #[test]
    fn days_past_the_end_of_a_month() {
        // 31 is clamped to the last day; a range starting on the 30th skips February.
        let to_31 = interval("days_of_month: ['28:31']");
        assert!(to_31.contains(utc("2023-02-28T00:00:00Z")));
        assert!(to_31.contains(utc("2024-04-30T00:00:00Z")));
        let from_30 = interval("days_of_month: ['30:31']");
        assert!(!from_30.contains(utc("2024-02-29T00:00:00Z")));
        assert!(from_30.contains(utc("2024-03-30T00:00:00Z")));
        // -31 in a 28-day month starts before the 1st: the whole month.
        let all = interval("days_of_month: ['-31:-1']");
        assert!(all.contains(utc("2023-02-01T00:00:00Z")));
    }

    #[test]
    fn negative_days_in_a_month_where_dst_begins() {
        // March 2024 in Berlin has 31 days even though it is an hour short.
        let i = interval("days_of_month: ['-1']\nlocation: Europe/Berlin");
        assert!(i.contains(utc("2024-03-31T10:00:00Z")));
        assert!(!i.contains(utc("2024-03-30T10:00:00Z")));
        // 2024-03-31T23:30Z is already April 1st in Berlin.
        assert!(!i.contains(utc("2024-03-31T23:30:00Z")));
        assert!(i.contains(utc("2024-03-30T23:30:00Z")));
    }

    #[test]
    fn location_moves_the_wall_clock() {
        let i = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: [monday]\nlocation: America/New_York",
        );
        // 09:00 EDT is 13:00 UTC in summer; 09:00 EST is 14:00 UTC in winter.
        assert!(i.contains(utc("2024-07-01T13:00:00Z")));
        assert!(!i.contains(utc("2024-07-01T12:59:00Z")));
        assert!(i.contains(utc("2024-01-08T14:00:00Z")));
        assert!(!i.contains(utc("2024-01-08T13:30:00Z")));
        // Monday 02:00 UTC is still Sunday evening in New York.
        let monday = interval("weekdays: [monday]\nlocation: America/New_York");
        assert!(!monday.contains(utc("2024-07-01T02:00:00Z")));
        assert!(monday.contains(utc("2024-07-02T02:00:00Z")));
    }

    #[test]
    fn dst_transitions_on_the_wall_clock() {
        let night = interval(
            "times: [{start_time: '01:00', end_time: '02:00'}]\nlocation: America/New_York",
        );
        // 2024-11-03: 01:00–02:00 happens twice (EDT then EST); both are inside.
        assert!(night.contains(utc("2024-11-03T05:30:00Z"))); // 01:30 EDT
        assert!(night.contains(utc("2024-11-03T06:30:00Z"))); // 01:30 EST
        assert!(!night.contains(utc("2024-11-03T07:00:00Z"))); // 02:00 EST
        let skipped = interval(
            "times: [{start_time: '02:00', end_time: '03:00'}]\nlocation: America/New_York",
        );
        // 2024-03-10: clocks jump from 02:00 to 03:00; the interval never holds that day.
        let day_start = utc("2024-03-10T05:00:00Z"); // 00:00 EST
        let holds = (0..24 * 60)
            .map(|m| day_start + chrono::Duration::minutes(m))
            .any(|t| skipped.contains(t));
        assert!(!holds);
        assert!(skipped.contains(utc("2024-03-11T06:30:00Z"))); // 02:30 EDT next day
    }

    #[test]
    fn months_and_years() {
        let winter = interval("months: ['december', 'january:february']");
        assert!(winter.contains(utc("2024-12-24T00:00:00Z")));
        assert!(winter.contains(utc("2024-02-10T00:00:00Z")));
        assert!(!winter.contains(utc("2024-03-01T00:00:00Z")));
        let numbers = interval("months: ['3:5', 11]");
        assert!(numbers.contains(utc("2024-04-01T00:00:00Z")));
        assert!(numbers.contains(utc("2024-11-01T00:00:00Z")));
        assert!(!numbers.contains(utc("2024-06-01T00:00:00Z")));
        let mixed = interval("months: ['March:6']");
        assert!(mixed.contains(utc("2024-06-30T00:00:00Z")));
        let years = interval("years: ['2024:2025', 2030]");
        assert!(years.contains(utc("2025-12-31T23:59:59Z")));
        assert!(!years.contains(utc("2026-01-01T00:00:00Z")));
        assert!(years.contains(utc("2030-06-01T00:00:00Z")));
    }

    #[test]
    fn new_year_in_a_location() {
        let i =
            interval("years: [2025]\nmonths: [january]\ndays_of_month: [1]\nlocation: Asia/Tokyo");
        let t = Utc.with_ymd_and_hms(2024, 12, 31, 15, 0, 0).unwrap(); // 00:00 JST
        assert!(i.contains(t));
        assert!(!i.contains(t - chrono::Duration::seconds(1)));
    }

    #[test]
    fn refuses_bad_intervals_with_paths() {
        let cases = [
            (
                "times: [{start_time: '17:00', end_time: '09:00'}]",
                "across midnight",
            ),
            (
                "times: [{start_time: '09:00', end_time: '09:00'}]",
                "before end",
            ),
            ("times: [{start_time: '9:00', end_time: '17:00'}]", "HH:MM"),
            ("times: [{start_time: '24:01', end_time: '24:00'}]", "HH:MM"),
            (
                "times: [{start_time: '09:00'}]",
                "both start_time and end_time",
            ),
            ("weekdays: ['saturday:sunday']", "ends before it starts"),
            ("weekdays: ['mon']", "not a valid weekday"),
            ("weekdays: ['1']", "not a valid weekday"),
            (
                "weekdays: ['monday:tuesday:friday']",
                "couldn't parse range",
            ),
            ("days_of_month: ['0']", "not a valid day"),
            ("days_of_month: ['32']", "not a valid day"),
            ("days_of_month: ['-1:5']", "must be negative"),
            ("days_of_month: ['10:5']", "always before"),
            ("days_of_month: ['-1:-3']", "always before"),
            ("months: ['march:january']", "ends before"),
            ("months: ['13']", "not a valid month"),
            ("months: ['jan']", "not a valid month"),
            ("years: ['2025:2024']", "before start year"),
            ("years: ['twenty']", "whole number"),
            ("location: Mars/Olympus", "unknown time zone"),
        ];
        for (yaml, want) in cases {
            let e = error(yaml);
            assert!(e.contains(want), "{yaml}: {e}");
            assert!(e.starts_with("time_interval."), "{e}");
        }
        assert!(serde_yaml::from_str::<TimeIntervalSpec>("weekday: [monday]").is_err());
    }
}
