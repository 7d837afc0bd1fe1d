//! `klaxon-bench-schedules`: "who is on call at T" for many schedules, and a one-year final
//! timeline for one schedule, on the pure schedule maths (no HTTP, no database).
//!
//! Each schedule mirrors a realistic team: a weekly primary rotation (Monday 09:00 handoff), a
//! daily secondary restricted to business hours, a weekend-cover layer (Fri 18:00 → Mon 09:00),
//! an override and a time-off entry, in one of several time zones (with and without DST).

use chrono::{DateTime, Duration, TimeZone, Utc, Weekday};
use klaxon_core::schedule::*;
use std::time::Instant;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid instant")
        .with_timezone(&Utc)
}

fn schedule(i: usize) -> Schedule {
    let zones = [
        "America/New_York",
        "Europe/Berlin",
        "Asia/Seoul",
        "UTC",
        "Australia/Sydney",
    ];
    let tz = parse_time_zone(zones[i % zones.len()]).expect("zone");
    let users = |n: usize, prefix: &str| -> Vec<Participant> {
        (0..n)
            .map(|k| Participant::user(format!("{prefix}{}-{k}@example.com", i)))
            .collect()
    };
    let start = tz
        .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc);
    let rot = |name: &str, kind, participants, restriction| {
        Rotation::new(RotationSpec {
            name: name.into(),
            kind,
            length: 1,
            start,
            end: None,
            participants,
            restriction,
        })
        .expect("rotation")
    };
    let clock = |h, m| ClockTime::new(h, m).expect("clock time");
    let rotations = vec![
        rot("primary", RotationKind::Weekly, users(5, "p"), None),
        rot(
            "secondary",
            RotationKind::Daily,
            users(3, "s"),
            Some(Restriction::TimeOfDay {
                start: clock(9, 0),
                end: clock(18, 0),
            }),
        ),
        rot(
            "weekend",
            RotationKind::Weekly,
            users(2, "w"),
            Some(Restriction::WeekdayAndTimeOfDay(vec![WeekdayWindow {
                start_day: Weekday::Fri,
                start: clock(18, 0),
                end_day: Weekday::Mon,
                end: clock(9, 0),
            }])),
        ),
    ];
    let overrides = vec![Override::new(
        Participant::user(format!("swap{i}@example.com")),
        at("2026-06-10T12:00:00Z"),
        at("2026-06-11T12:00:00Z"),
        Some(vec!["primary".into()]),
    )
    .expect("override")];
    let mode = if i.is_multiple_of(2) {
        ScheduleMode::Cumulative
    } else {
        ScheduleMode::Layered
    };
    Schedule::new(tz, mode, rotations, overrides)
        .expect("schedule")
        .with_time_off(vec![TimeOff::new(
            format!("p{i}-1@example.com"),
            at("2026-07-01T00:00:00Z"),
            at("2026-07-15T00:00:00Z"),
            None,
        )
        .expect("time off")])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let schedules: Vec<Schedule> = (0..n).map(schedule).collect();
    let instants = [
        "2026-03-08T07:30:00Z",
        "2026-06-10T13:00:00Z",
        "2026-07-04T20:00:00Z",
        "2026-11-01T05:59:00Z",
        "2026-12-25T12:00:00Z",
    ];
    let mut runs = Vec::new();
    let mut on_call_total = 0usize;
    for round in 0..7 {
        let t = at(instants[round % instants.len()]);
        let started = Instant::now();
        for s in &schedules {
            on_call_total += s.on_call_at(t).len();
        }
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "on-call at T for {n} schedules: median {:.1} ms, min {:.1} ms over {} runs ({} people on call in all runs)",
        median(runs.clone()),
        runs.iter().cloned().fold(f64::MAX, f64::min),
        runs.len(),
        on_call_total
    );

    let one = &schedules[0];
    let from = at("2026-01-01T00:00:00Z");
    let to = from + Duration::days(365);
    let mut runs = Vec::new();
    let mut periods = 0;
    for _ in 0..7 {
        let started = Instant::now();
        periods = one.final_timeline(from, to).len();
        runs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "one-year final timeline, one schedule: median {:.2} ms ({periods} periods)",
        median(runs)
    );
}
