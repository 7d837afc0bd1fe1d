//! Properties that must hold for every schedule, checked on random ones: one holder per
//! rotation at a time, timelines that agree with the instant queries, modes and overrides that
//! behave as documented, and handoffs that keep their wall-clock time through DST.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

/// Zones with DST on either side of the equator, a 30-minute DST (Lord Howe), and none.
const ZONES: [Tz; 5] = [
    chrono_tz::America::New_York,
    chrono_tz::Europe::Berlin,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Seoul,
    chrono_tz::UTC,
];
const NAMES: [&str; 5] = ["ann", "bob", "cat", "dan", "none"];

/// Rotations start within 60 days of this, before or across both northern spring changes
/// (2026-03-08 New York, 2026-03-29 Berlin).
fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 20, 0, 0, 0)
        .single()
        .expect("fixed instant")
}

fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

fn clock_time() -> impl Strategy<Value = ClockTime> {
    (0u32..=24, prop_oneof![Just(0u32), Just(30u32), 0u32..60])
        .prop_map(|(h, m)| ClockTime::new(h, if h == 24 { 0 } else { m }).expect("in range"))
}

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|d| Weekday::try_from(d).expect("0..7 is a weekday"))
}

fn restriction() -> impl Strategy<Value = Option<Restriction>> {
    let window = (weekday(), clock_time(), weekday(), clock_time()).prop_map(
        |(start_day, start, end_day, end)| WeekdayWindow {
            start_day,
            start,
            end_day,
            end,
        },
    );
    prop_oneof![
        2 => Just(None),
        1 => (clock_time(), clock_time())
            .prop_map(|(start, end)| Some(Restriction::TimeOfDay { start, end })),
        1 => prop::collection::vec(window, 1..3)
            .prop_map(|windows| Some(Restriction::WeekdayAndTimeOfDay(windows))),
    ]
}

fn participant() -> impl Strategy<Value = Participant> {
    prop::sample::select(&NAMES[..]).prop_map(|n| match n {
        "none" => Participant::None,
        user => Participant::user(user),
    })
}

fn rotation_spec() -> impl Strategy<Value = RotationSpec> {
    (
        prop::sample::select(
            &[
                RotationKind::Hourly,
                RotationKind::Daily,
                RotationKind::Weekly,
            ][..],
        ),
        1u32..=3,
        0i64..60 * 24 * 4, // start, in 15-minute steps
        prop::option::weighted(0.3, 60i64..60 * 24 * 40), // end, minutes after start
        prop::collection::vec(participant(), 1..4),
        restriction(),
    )
        .prop_map(|(kind, length, start, end, participants, restriction)| {
            let start = base() + minutes(start * 15);
            RotationSpec {
                name: String::new(),
                kind,
                length,
                start,
                end: end.map(|e| start + minutes(e)),
                participants,
                restriction,
            }
        })
}

/// (user, start in minutes after the window's start (or before it), length in minutes,
/// target rotations or all).
type OverrideParts = (Participant, i64, i64, Option<Vec<prop::sample::Index>>);

fn override_parts() -> impl Strategy<Value = OverrideParts> {
    (
        participant(),
        -60i64 * 24 * 3..60 * 24 * 21,
        30i64..60 * 24 * 5,
        prop::option::of(prop::collection::vec(any::<prop::sample::Index>(), 1..3)),
    )
}

/// (user, start in minutes after the window's start (or before it), length in minutes,
/// replacement).
type TimeOffParts = (&'static str, i64, i64, Participant);

fn time_off_parts() -> impl Strategy<Value = TimeOffParts> {
    (
        prop::sample::select(&NAMES[..4]),
        -60i64 * 24 * 3..60 * 24 * 21,
        30i64..60 * 24 * 5,
        participant(),
    )
}

/// A schedule, a window `[from, to)` and instants to probe inside it.
#[derive(Debug, Clone)]
struct Case {
    schedule: Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    probes: Vec<DateTime<Utc>>,
}

/// Windows start anywhere in the 280 days after [`base`], so they meet the autumn DST changes
/// too (Lord Howe 2026-04-05, Berlin 2026-10-25, New York 2026-11-01); overrides are placed
/// around the window so that they matter.
fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(&ZONES[..]),
        prop::sample::select(&[ScheduleMode::Cumulative, ScheduleMode::Layered][..]),
        prop::collection::vec(rotation_spec(), 1..4),
        prop::collection::vec(override_parts(), 0..4),
        prop::collection::vec(time_off_parts(), 0..3),
        0i64..60 * 24 * 280,
        60i64..60 * 24 * 21,
        prop::collection::vec(0i64..10_000, 6),
    )
        .prop_map(
            |(tz, mode, specs, overrides, time_off, from, span, probes)| {
                let from = base() + minutes(from);
                let to = from + minutes(span);
                let rotations: Vec<Rotation> = specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, spec)| {
                        Rotation::new(RotationSpec {
                            name: format!("r{i}"),
                            ..spec
                        })
                        .expect("generated rotations are valid")
                    })
                    .collect();
                let overrides = overrides
                    .into_iter()
                    .map(|(user, start, len, targets)| {
                        let start = from + minutes(start);
                        let targets = targets.map(|idx| {
                            idx.iter()
                                .map(|i| format!("r{}", i.index(rotations.len())))
                                .collect()
                        });
                        Override::new(user, start, start + minutes(len), targets)
                            .expect("generated overrides are valid")
                    })
                    .collect();
                let time_off = time_off
                    .into_iter()
                    .map(|(user, start, len, replacement)| {
                        let start = from + minutes(start);
                        let replacement = replacement
                            .name()
                            .filter(|r| *r != user)
                            .map(str::to_string);
                        TimeOff::new(user, start, start + minutes(len), replacement)
                            .expect("generated time off is valid")
                    })
                    .collect();
                let schedule = Schedule::new(tz, mode, rotations, overrides)
                    .expect("generated schedules are valid")
                    .with_time_off(time_off);
                let probes = probes
                    .into_iter()
                    .map(|p| from + TimeDelta::seconds(span * 60 * p / 10_000))
                    .collect();
                Case {
                    schedule,
                    from,
                    to,
                    probes,
                }
            },
        )
}

/// The random probes plus every instant where a period of `periods` starts or ends, and the
/// millisecond before: where off-by-one mistakes live.
fn probes_around(case: &Case, periods: &[Period]) -> Vec<DateTime<Utc>> {
    let ms = TimeDelta::milliseconds(1);
    let mut out = case.probes.clone();
    for p in periods {
        out.extend([p.start, p.start - ms, p.end, p.end - ms]);
    }
    out.retain(|t| case.from <= *t && *t < case.to);
    out.sort_unstable();
    out.dedup();
    out
}

fn sorted(mut users: Vec<String>) -> Vec<String> {
    users.sort_unstable();
    users.dedup();
    users
}

fn users_at(periods: &[Period], t: DateTime<Utc>) -> Vec<String> {
    sorted(
        periods
            .iter()
            .filter(|p| p.start <= t && t < p.end)
            .map(|p| p.user.clone())
            .collect(),
    )
}

fn without_overrides(s: &Schedule) -> Schedule {
    Schedule::new(s.time_zone(), s.mode(), s.rotations().to_vec(), vec![]).expect("still valid")
}

fn with_mode(s: &Schedule, mode: ScheduleMode) -> Schedule {
    Schedule::new(
        s.time_zone(),
        mode,
        s.rotations().to_vec(),
        s.overrides().to_vec(),
    )
    .expect("still valid")
    .with_time_off(s.time_off().to_vec())
}

/// What a schedule-wide override decides at `t`, time off applied: `None` when no such
/// override counts there (none in force, or its user away with nobody named).
fn schedule_wide_answer(s: &Schedule, t: DateTime<Utc>) -> Option<Vec<String>> {
    let o = s
        .overrides()
        .iter()
        .rev()
        .find(|o| o.rotations().is_none() && o.start() <= t && t < o.end())?;
    let Some(user) = o.user().name() else {
        return Some(Vec::new());
    };
    let away = s
        .time_off()
        .iter()
        .rev()
        .find(|off| off.user() == user && off.start() <= t && t < off.end());
    match away {
        None => Some(vec![user.to_string()]),
        Some(off) => off.replacement().map(|r| vec![r.to_string()]),
    }
}

/// Per rotation, periods are sorted, well-formed, inside the window, never overlapping, and
/// merged (no two touching periods with the same holder and origin).
fn assert_disjoint_per_rotation(case: &Case, periods: &[Period]) -> Result<(), TestCaseError> {
    for p in periods {
        prop_assert!(
            case.from <= p.start && p.start < p.end && p.end <= case.to,
            "{p:?}"
        );
    }
    let mut keys: Vec<Option<&str>> = periods.iter().map(|p| p.rotation.as_deref()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let mine: Vec<&Period> = periods
            .iter()
            .filter(|p| p.rotation.as_deref() == key)
            .collect();
        for w in mine.windows(2) {
            prop_assert!(
                w[0].end <= w[1].start,
                "overlap in {key:?}: {:?} {:?}",
                w[0],
                w[1]
            );
            let same = w[0].user == w[1].user && w[0].is_override == w[1].is_override;
            prop_assert!(
                !(w[0].end == w[1].start && same),
                "unmerged: {:?} {:?}",
                w[0],
                w[1]
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_rotation_has_at_most_one_holder_and_its_periods_never_overlap(case in case()) {
        let base = without_overrides(&case.schedule);
        let periods = base.base_timeline(case.from, case.to);
        prop_assert_eq!(&periods, &case.schedule.base_timeline(case.from, case.to));
        assert_disjoint_per_rotation(&case, &periods)?;
        for t in probes_around(&case, &periods) {
            let per_rotation = base.on_call_per_rotation_at(t);
            for (r, rotation) in base.rotations().iter().enumerate() {
                let holding: Vec<&Period> = periods
                    .iter()
                    .filter(|p| p.rotation.as_deref() == Some(rotation.name()))
                    .filter(|p| p.start <= t && t < p.end)
                    .collect();
                prop_assert!(holding.len() <= 1, "{t}: {holding:?}");
                prop_assert_eq!(
                    holding.first().map(|p| p.user.as_str()),
                    per_rotation[r].user.as_deref(),
                    "rotation {} at {}", rotation.name(), t
                );
            }
        }
    }

    #[test]
    fn the_final_timeline_says_what_on_call_at_says(case in case()) {
        let s = &case.schedule;
        let periods = s.final_timeline(case.from, case.to);
        assert_disjoint_per_rotation(&case, &periods)?;
        for t in probes_around(&case, &periods) {
            prop_assert_eq!(users_at(&periods, t), sorted(s.on_call_at(t)), "at {}", t);
            if s.mode() == ScheduleMode::Layered {
                prop_assert!(periods.iter().filter(|p| p.start <= t && t < p.end).count() <= 1);
            }
        }
        let overrides = s.override_timeline(case.from, case.to);
        assert_disjoint_per_rotation(&case, &overrides)?;
        prop_assert!(overrides.iter().all(|p| p.is_override));
    }

    #[test]
    fn cumulative_pages_every_rotation_and_layered_only_the_highest(case in case()) {
        let cumulative = with_mode(&case.schedule, ScheduleMode::Cumulative);
        let layered = with_mode(&case.schedule, ScheduleMode::Layered);
        let periods = cumulative.final_timeline(case.from, case.to);
        for t in probes_around(&case, &periods) {
            if let Some(expected) = schedule_wide_answer(&case.schedule, t) {
                prop_assert_eq!(cumulative.on_call_at(t), expected.clone());
                prop_assert_eq!(layered.on_call_at(t), expected);
                continue;
            }
            let holders: Vec<String> = cumulative
                .on_call_per_rotation_at(t)
                .into_iter()
                .filter_map(|r| r.user)
                .collect();
            let mut union: Vec<String> = Vec::new();
            for user in &holders {
                if !union.contains(user) {
                    union.push(user.clone());
                }
            }
            prop_assert_eq!(cumulative.on_call_at(t), union);
            let highest: Vec<String> = holders.last().cloned().into_iter().collect();
            prop_assert_eq!(layered.on_call_at(t), highest);
        }
    }

    #[test]
    fn a_later_override_replaces_whoever_was_on_call(
        case in case(),
        before in 1i64..60 * 24 * 3,
        after in 1i64..60 * 24 * 3,
        target in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let s = &case.schedule;
        let t = case.probes[0];
        let (start, end) = (t - minutes(before), t + minutes(after));
        let target = target.map(|i| i.index(s.rotations().len()));
        let names = target.map(|r| vec![s.rotations()[r].name().to_string()]);
        let zed = Override::new(Participant::user("zed"), start, end, names).expect("valid");
        let mut overrides = s.overrides().to_vec();
        overrides.push(zed);
        let s2 = Schedule::new(s.time_zone(), s.mode(), s.rotations().to_vec(), overrides)
            .expect("valid")
            .with_time_off(s.time_off().to_vec());

        match target {
            None => prop_assert_eq!(s2.on_call_at(t), vec!["zed".to_string()]),
            Some(r) => {
                let old = s.on_call_per_rotation_at(t);
                let new = s2.on_call_per_rotation_at(t);
                for (i, (old, new)) in old.iter().zip(&new).enumerate() {
                    if i == r && old.in_effect {
                        prop_assert_eq!(new.user.as_deref(), Some("zed"));
                        prop_assert!(new.is_override);
                    } else {
                        prop_assert_eq!(old, new);
                    }
                }
            }
        }
        // Outside its window the override changes nothing.
        for x in [start - TimeDelta::milliseconds(1), end] {
            prop_assert_eq!(s2.on_call_at(x), s.on_call_at(x), "at {}", x);
        }
    }

    #[test]
    fn a_timeline_split_anywhere_joins_back_into_the_same_timeline(
        case in case(),
        cut in 0i64..10_000,
    ) {
        let s = &case.schedule;
        let span = (case.to - case.from).num_seconds();
        let mid = case.from + TimeDelta::seconds(span * cut / 10_000);
        let whole = s.final_timeline(case.from, case.to);
        let mut joined = s.final_timeline(case.from, mid);
        for p in s.final_timeline(mid, case.to) {
            let continues = joined.iter_mut().find(|q| {
                q.end == p.start
                    && q.user == p.user
                    && q.rotation == p.rotation
                    && q.is_override == p.is_override
            });
            match continues {
                Some(q) => q.end = p.end,
                None => joined.push(p),
            }
        }
        let key = |p: &Period| (p.start, p.end, p.user.clone(), p.rotation.clone(), p.is_override);
        let mut whole: Vec<_> = whole.iter().map(key).collect();
        let mut joined: Vec<_> = joined.iter().map(key).collect();
        whole.sort();
        joined.sort();
        prop_assert_eq!(whole, joined);
    }

    #[test]
    fn next_on_call_is_the_first_change_to_someone_else(case in case()) {
        let s = &case.schedule;
        let t = case.probes[0];
        let current = sorted(s.on_call_at(t));
        let is_new = |users: &[String]| !users.is_empty() && sorted(users.to_vec()) != current;
        let (until, found) = match s.next_on_call_after(t) {
            Some((x, users)) => {
                prop_assert!(x > t);
                prop_assert!(is_new(&users), "{users:?} vs {current:?}");
                prop_assert_eq!(&s.on_call_at(x), &users);
                (x, true)
            }
            None => (t + TimeDelta::days(60), false),
        };
        // Nothing new before it: the set only changes where a final period starts or ends.
        for p in s.final_timeline(t, until) {
            for y in [p.start, p.end] {
                if t < y && y < until {
                    let users = s.on_call_at(y);
                    prop_assert!(
                        !is_new(&users),
                        "earlier change at {}: {:?} (found: {})", y, users, found
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn time_off_keeps_the_user_off_call_and_hands_their_time_to_the_replacement(
        case in case(),
        before in 1i64..60 * 24 * 3,
        after in 1i64..60 * 24 * 3,
        replacement in prop::option::of(Just("zed")),
    ) {
        // Only this time off, so that no replacement elsewhere names `ann` again.
        let s = Schedule::new(
            case.schedule.time_zone(),
            case.schedule.mode(),
            case.schedule.rotations().to_vec(),
            case.schedule.overrides().to_vec(),
        )
        .expect("valid");
        let t = case.probes[0];
        let (start, end) = (t - minutes(before), t + minutes(after));
        let away = TimeOff::new("ann", start, end, replacement.map(str::to_string))
            .expect("valid");
        let s2 = s.clone().with_time_off(vec![away]);

        let old = s.on_call_at(t);
        let new = s2.on_call_at(t);
        prop_assert!(!new.iter().any(|u| u == "ann"), "{new:?}");
        if let Some(zed) = replacement {
            // Ann's place goes to Zed and nothing else changes.
            let mut expected: Vec<String> = Vec::new();
            for user in old.iter().map(|u| if u == "ann" { zed } else { u.as_str() }) {
                if !expected.iter().any(|e| e == user) {
                    expected.push(user.to_string());
                }
            }
            prop_assert_eq!(new, expected);
        } else if old.iter().all(|u| u != "ann") {
            prop_assert_eq!(new, old);
        }
        // No final period gives Ann time inside the window, and outside it nothing changes.
        let periods = s2.final_timeline(start, end);
        prop_assert!(periods.iter().all(|p| p.user != "ann"), "{periods:?}");
        for x in [start - TimeDelta::milliseconds(1), end] {
            prop_assert_eq!(s2.on_call_at(x), s.on_call_at(x), "at {}", x);
        }
    }
}

fn single_rotation(tz: Tz, spec: RotationSpec) -> Schedule {
    let rotation = Rotation::new(spec).expect("valid rotation");
    Schedule::new(tz, ScheduleMode::Cumulative, vec![rotation], vec![]).expect("valid schedule")
}

/// A daily or weekly rotation with distinct participants, starting at a wall-clock time that
/// DST never skips or repeats in New York or Berlin (04:00–23:59).
fn wall_clock_rotation() -> impl Strategy<Value = (Tz, RotationSpec)> {
    (
        prop::sample::select(&[chrono_tz::America::New_York, chrono_tz::Europe::Berlin][..]),
        prop::sample::select(&[RotationKind::Daily, RotationKind::Weekly][..]),
        1u32..=3,
        0u64..365,
        4u32..24,
        0u32..60,
        2usize..=4,
    )
        .prop_map(|(tz, kind, length, day, hour, minute, n)| {
            let date =
                NaiveDate::from_ymd_opt(2025, 12, 1).expect("fixed date") + chrono::Days::new(day);
            let local = date.and_hms_opt(hour, minute, 0).expect("valid time");
            let start = tz
                .from_local_datetime(&local)
                .single()
                .expect("04:00–23:59 is never skipped or repeated here")
                .with_timezone(&Utc);
            let spec = RotationSpec {
                name: "r".into(),
                kind,
                length,
                start,
                end: None,
                participants: NAMES[..n].iter().map(|u| Participant::user(*u)).collect(),
                restriction: None,
            };
            (tz, spec)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn daily_and_weekly_handoffs_keep_their_wall_clock_time_across_dst(
        (tz, spec) in wall_clock_rotation(),
    ) {
        let start = spec.start.with_timezone(&tz);
        let unit_days = if spec.kind == RotationKind::Daily { 1 } else { 7 };
        let turn_days = i64::from(spec.length) * unit_days;
        let s = single_rotation(tz, spec);
        // 400 days of wall-clock time from the start cross both DST changes at least once.
        let to = tz
            .from_local_datetime(&(start.naive_local() + TimeDelta::days(400)))
            .single()
            .expect("04:00–23:59 is never skipped or repeated here")
            .with_timezone(&Utc);
        let periods = s.base_timeline(start.with_timezone(&Utc), to);
        prop_assert_eq!(periods.len() as i64, (400 + turn_days - 1) / turn_days);
        for handoff in periods.iter().skip(1).map(|p| p.start.with_timezone(&tz)) {
            let wall_clock = (handoff.hour(), handoff.minute());
            prop_assert_eq!(wall_clock, (start.hour(), start.minute()), "{}", handoff);
            if unit_days == 7 {
                prop_assert_eq!(handoff.weekday(), start.weekday(), "{}", handoff);
            }
            let days = (handoff.date_naive() - start.date_naive()).num_days();
            prop_assert_eq!(days % turn_days, 0, "{}", handoff);
        }
        // The handoffs were spread over both kinds of offset, so DST really was crossed.
        let offsets: std::collections::HashSet<String> =
            periods.iter().map(|p| p.start.with_timezone(&tz).format("%Z").to_string()).collect();
        prop_assert_eq!(offsets.len(), 2);
    }

    #[test]
    fn hourly_turns_last_exactly_their_length_in_real_hours(
        tz in prop::sample::select(&ZONES[..]),
        length in 1u32..=5,
        start in 0i64..60 * 24 * 60,
    ) {
        let spec = RotationSpec {
            name: "r".into(),
            kind: RotationKind::Hourly,
            length,
            start: base() + minutes(start),
            end: None,
            participants: vec![Participant::user("ann"), Participant::user("bob")],
            restriction: None,
        };
        let from = spec.start;
        let s = single_rotation(tz, spec);
        let periods = s.base_timeline(from, from + TimeDelta::days(45));
        for p in &periods[..periods.len() - 1] {
            prop_assert_eq!(p.end - p.start, TimeDelta::hours(i64::from(length)));
        }
    }
}
