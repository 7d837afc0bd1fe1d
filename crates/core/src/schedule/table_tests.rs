//! Hand-written cases a person on call would recognise, each written out in local time.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::*;

const NEW_YORK: Tz = chrono_tz::America::New_York;
const BERLIN: Tz = chrono_tz::Europe::Berlin;
const SEOUL: Tz = chrono_tz::Asia::Seoul;

/// An unambiguous local wall-clock time, e.g. `at(NEW_YORK, "2026-03-09 09:00")`.
fn at(tz: Tz, local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").expect("test time");
    tz.from_local_datetime(&naive)
        .single()
        .expect("unambiguous test time")
        .with_timezone(&Utc)
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test instant")
}

fn clock(s: &str) -> ClockTime {
    s.parse().expect("test clock time")
}

fn participants(names: &[&str]) -> Vec<Participant> {
    names
        .iter()
        .map(|n| match *n {
            "none" => Participant::None,
            user => Participant::user(user),
        })
        .collect()
}

fn spec(name: &str, kind: RotationKind, start: DateTime<Utc>, names: &[&str]) -> RotationSpec {
    RotationSpec {
        name: name.to_string(),
        kind,
        length: 1,
        start,
        end: None,
        participants: participants(names),
        restriction: None,
    }
}

fn rotation(spec: RotationSpec) -> Rotation {
    Rotation::new(spec).expect("valid rotation")
}

fn schedule(
    tz: Tz,
    mode: ScheduleMode,
    rotations: Vec<RotationSpec>,
    overrides: Vec<Override>,
) -> Schedule {
    let rotations = rotations.into_iter().map(rotation).collect();
    Schedule::new(tz, mode, rotations, overrides).expect("valid schedule")
}

fn cover(user: &str, start: DateTime<Utc>, end: DateTime<Utc>, rotations: &[&str]) -> Override {
    let user = match user {
        "none" => Participant::None,
        name => Participant::user(name),
    };
    let rotations = rotations.iter().map(|r| r.to_string()).collect();
    Override::new(user, start, end, Some(rotations)).expect("valid override")
}

/// Periods as lines in the schedule's local time, so expectations read like a calendar:
/// `2026-03-02 09:00 EST → 2026-03-09 09:00 EDT carol @weekly` (`*` marks an override).
fn lines(tz: Tz, periods: &[Period]) -> Vec<String> {
    let show = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    periods
        .iter()
        .map(|p| {
            format!(
                "{} → {} {}{} @{}",
                show(p.start),
                show(p.end),
                p.user,
                if p.is_override { "*" } else { "" },
                p.rotation.as_deref().unwrap_or("schedule")
            )
        })
        .collect()
}

fn names(users: &[&str]) -> Vec<String> {
    users.iter().map(|u| u.to_string()).collect()
}

#[test]
fn weekly_monday_0900_handoff_holds_across_both_2026_new_york_dst_changes() {
    let start = at(NEW_YORK, "2026-01-05 09:00"); // a Monday
    let s = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![spec(
            "weekly",
            RotationKind::Weekly,
            start,
            &["alice", "bob", "carol"],
        )],
        vec![],
    );

    let spring = s.base_timeline(
        at(NEW_YORK, "2026-02-23 00:00"),
        at(NEW_YORK, "2026-03-17 00:00"),
    );
    assert_eq!(
        lines(NEW_YORK, &spring),
        [
            "2026-02-23 00:00 EST → 2026-02-23 09:00 EST alice @weekly",
            "2026-02-23 09:00 EST → 2026-03-02 09:00 EST bob @weekly",
            "2026-03-02 09:00 EST → 2026-03-09 09:00 EDT carol @weekly",
            "2026-03-09 09:00 EDT → 2026-03-16 09:00 EDT alice @weekly",
            "2026-03-16 09:00 EDT → 2026-03-17 00:00 EDT bob @weekly",
        ]
    );
    // The week with the spring-forward Sunday is an hour short.
    assert_eq!((spring[2].end - spring[2].start).num_hours(), 7 * 24 - 1);

    let autumn = s.base_timeline(
        at(NEW_YORK, "2026-10-19 09:00"),
        at(NEW_YORK, "2026-11-09 09:00"),
    );
    assert_eq!(
        lines(NEW_YORK, &autumn),
        [
            "2026-10-19 09:00 EDT → 2026-10-26 09:00 EDT carol @weekly",
            "2026-10-26 09:00 EDT → 2026-11-02 09:00 EST alice @weekly",
            "2026-11-02 09:00 EST → 2026-11-09 09:00 EST bob @weekly",
        ]
    );
    assert_eq!((autumn[1].end - autumn[1].start).num_hours(), 7 * 24 + 1);

    // The instant queries agree with the timeline, to the minute.
    assert_eq!(s.on_call_at(utc("2026-03-09T12:59:00Z")), names(&["carol"]));
    assert_eq!(s.on_call_at(utc("2026-03-09T13:00:00Z")), names(&["alice"]));
    assert_eq!(s.on_call_at(utc("2026-11-02T13:59:00Z")), names(&["alice"]));
    assert_eq!(s.on_call_at(utc("2026-11-02T14:00:00Z")), names(&["bob"]));
    assert_eq!(
        s.next_on_call_after(at(NEW_YORK, "2026-03-05 12:00")),
        Some((utc("2026-03-09T13:00:00Z"), names(&["alice"])))
    );
    // Before the rotation starts nobody is on call.
    assert!(s.on_call_at(utc("2026-01-01T00:00:00Z")).is_empty());
}

#[test]
fn day_and_night_split_covers_every_hour_exactly_once_across_berlin_spring_forward() {
    let day = RotationSpec {
        restriction: Some(Restriction::TimeOfDay {
            start: clock("09:00"),
            end: clock("21:00"),
        }),
        ..spec(
            "day",
            RotationKind::Daily,
            at(BERLIN, "2026-03-27 09:00"),
            &["dana", "erin"],
        )
    };
    let night = RotationSpec {
        restriction: Some(Restriction::TimeOfDay {
            start: clock("21:00"),
            end: clock("09:00"),
        }),
        ..spec(
            "night",
            RotationKind::Daily,
            at(BERLIN, "2026-03-27 21:00"),
            &["nick", "olga"],
        )
    };
    let s = schedule(BERLIN, ScheduleMode::Cumulative, vec![day, night], vec![]);

    let periods = s.final_timeline(
        at(BERLIN, "2026-03-27 09:00"),
        at(BERLIN, "2026-03-30 09:00"),
    );
    assert_eq!(
        lines(BERLIN, &periods),
        [
            "2026-03-27 09:00 CET → 2026-03-27 21:00 CET dana @day",
            "2026-03-27 21:00 CET → 2026-03-28 09:00 CET nick @night",
            "2026-03-28 09:00 CET → 2026-03-28 21:00 CET erin @day",
            "2026-03-28 21:00 CET → 2026-03-29 09:00 CEST olga @night",
            "2026-03-29 09:00 CEST → 2026-03-29 21:00 CEST dana @day",
            "2026-03-29 21:00 CEST → 2026-03-30 09:00 CEST nick @night",
        ]
    );
    // The short night is short, and the hand-offs leave no gap and no overlap.
    assert_eq!((periods[3].end - periods[3].start).num_hours(), 11);
    assert!(periods.windows(2).all(|w| w[0].end == w[1].start));
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-03-29 03:30")),
        names(&["olga"])
    );
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-03-29 20:59")),
        names(&["dana"])
    );
}

#[test]
fn weekend_cover_layer_wins_over_the_weekday_layer_only_when_layered() {
    let weekday = spec(
        "weekday",
        RotationKind::Weekly,
        at(BERLIN, "2026-03-16 09:00"),
        &["ann", "ben"],
    );
    let weekend = RotationSpec {
        restriction: Some(Restriction::WeekdayAndTimeOfDay(vec![WeekdayWindow {
            start_day: Weekday::Fri,
            start: clock("18:00"),
            end_day: Weekday::Mon,
            end: clock("09:00"),
        }])),
        ..spec(
            "weekend",
            RotationKind::Weekly,
            at(BERLIN, "2026-03-20 18:00"),
            &["wes", "wyn"],
        )
    };
    let layered = schedule(
        BERLIN,
        ScheduleMode::Layered,
        vec![weekday.clone(), weekend.clone()],
        vec![],
    );

    let periods = layered.final_timeline(
        at(BERLIN, "2026-03-16 09:00"),
        at(BERLIN, "2026-04-06 09:00"),
    );
    assert_eq!(
        lines(BERLIN, &periods),
        [
            "2026-03-16 09:00 CET → 2026-03-20 18:00 CET ann @weekday",
            "2026-03-20 18:00 CET → 2026-03-23 09:00 CET wes @weekend",
            "2026-03-23 09:00 CET → 2026-03-27 18:00 CET ben @weekday",
            "2026-03-27 18:00 CET → 2026-03-30 09:00 CEST wyn @weekend",
            "2026-03-30 09:00 CEST → 2026-04-03 18:00 CEST ann @weekday",
            "2026-04-03 18:00 CEST → 2026-04-06 09:00 CEST wes @weekend",
        ]
    );
    let saturday = at(BERLIN, "2026-03-21 12:00");
    assert_eq!(layered.on_call_at(saturday), names(&["wes"]));
    assert_eq!(
        layered.on_call_at(at(BERLIN, "2026-03-23 08:59")),
        names(&["wes"])
    );
    assert_eq!(
        layered.on_call_at(at(BERLIN, "2026-03-23 09:00")),
        names(&["ben"])
    );

    // The same rotations in cumulative mode page both.
    let cumulative = schedule(
        BERLIN,
        ScheduleMode::Cumulative,
        vec![weekday, weekend],
        vec![],
    );
    assert_eq!(cumulative.on_call_at(saturday), names(&["ann", "wes"]));
    let per_rotation = cumulative.on_call_per_rotation_at(at(BERLIN, "2026-03-18 12:00"));
    assert_eq!(
        per_rotation,
        [
            RotationOnCall {
                rotation: "weekday".into(),
                user: Some("ann".into()),
                in_effect: true,
                is_override: false,
            },
            RotationOnCall {
                rotation: "weekend".into(),
                user: None,
                in_effect: false,
                is_override: false,
            },
        ]
    );
}

#[test]
fn override_in_the_middle_of_a_shift_splits_it() {
    let primary = spec(
        "primary",
        RotationKind::Daily,
        at(NEW_YORK, "2026-06-01 09:00"),
        &["alice", "bob"],
    );
    let (from, to) = (
        at(NEW_YORK, "2026-06-01 09:00"),
        at(NEW_YORK, "2026-06-03 09:00"),
    );
    let (noon, three) = (
        at(NEW_YORK, "2026-06-02 12:00"),
        at(NEW_YORK, "2026-06-02 15:00"),
    );

    // For the whole schedule.
    let whole = Override::new(Participant::user("carol"), noon, three, None).expect("valid");
    let s = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![primary.clone()],
        vec![whole],
    );
    assert_eq!(
        lines(NEW_YORK, &s.final_timeline(from, to)),
        [
            "2026-06-01 09:00 EDT → 2026-06-02 09:00 EDT alice @primary",
            "2026-06-02 09:00 EDT → 2026-06-02 12:00 EDT bob @primary",
            "2026-06-02 12:00 EDT → 2026-06-02 15:00 EDT carol* @schedule",
            "2026-06-02 15:00 EDT → 2026-06-03 09:00 EDT bob @primary",
        ]
    );
    assert_eq!(
        lines(NEW_YORK, &s.base_timeline(from, to)),
        [
            "2026-06-01 09:00 EDT → 2026-06-02 09:00 EDT alice @primary",
            "2026-06-02 09:00 EDT → 2026-06-03 09:00 EDT bob @primary",
        ]
    );
    assert_eq!(
        lines(NEW_YORK, &s.override_timeline(from, to)),
        ["2026-06-02 12:00 EDT → 2026-06-02 15:00 EDT carol* @schedule"]
    );
    assert_eq!(
        s.on_call_at(at(NEW_YORK, "2026-06-02 13:00")),
        names(&["carol"])
    );

    // For one rotation, with a later override on top of part of it: the later one wins.
    let carol = cover("carol", noon, three, &["primary"]);
    let dave = cover(
        "dave",
        at(NEW_YORK, "2026-06-02 13:00"),
        at(NEW_YORK, "2026-06-02 14:00"),
        &["primary"],
    );
    let s = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![primary],
        vec![carol, dave],
    );
    assert_eq!(
        lines(NEW_YORK, &s.final_timeline(from, to)),
        [
            "2026-06-01 09:00 EDT → 2026-06-02 09:00 EDT alice @primary",
            "2026-06-02 09:00 EDT → 2026-06-02 12:00 EDT bob @primary",
            "2026-06-02 12:00 EDT → 2026-06-02 13:00 EDT carol* @primary",
            "2026-06-02 13:00 EDT → 2026-06-02 14:00 EDT dave* @primary",
            "2026-06-02 14:00 EDT → 2026-06-02 15:00 EDT carol* @primary",
            "2026-06-02 15:00 EDT → 2026-06-03 09:00 EDT bob @primary",
        ]
    );
    let per_rotation = s.on_call_per_rotation_at(at(NEW_YORK, "2026-06-02 13:30"));
    assert_eq!(per_rotation[0].user.as_deref(), Some("dave"));
    assert!(per_rotation[0].is_override);
}

#[test]
fn override_of_one_layer_to_nobody_uncovers_the_layer_below() {
    let low = spec(
        "low",
        RotationKind::Weekly,
        at(BERLIN, "2026-06-01 09:00"),
        &["lea"],
    );
    let high = spec(
        "high",
        RotationKind::Weekly,
        at(BERLIN, "2026-06-01 09:00"),
        &["hal"],
    );
    let nobody = cover(
        "none",
        at(BERLIN, "2026-06-03 00:00"),
        at(BERLIN, "2026-06-04 00:00"),
        &["high"],
    );
    let s = schedule(BERLIN, ScheduleMode::Layered, vec![low, high], vec![nobody]);
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-06-02 12:00")),
        names(&["hal"])
    );
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-06-03 12:00")),
        names(&["lea"])
    );
    assert_eq!(
        s.next_on_call_after(at(BERLIN, "2026-06-02 12:00")),
        Some((at(BERLIN, "2026-06-03 00:00"), names(&["lea"])))
    );
    // An override to nobody shows in no timeline.
    let window = (
        at(BERLIN, "2026-06-01 09:00"),
        at(BERLIN, "2026-06-08 09:00"),
    );
    assert!(s.override_timeline(window.0, window.1).is_empty());
}

#[test]
fn none_participant_leaves_a_gap_that_next_on_call_skips() {
    let s = schedule(
        BERLIN,
        ScheduleMode::Cumulative,
        vec![spec(
            "primary",
            RotationKind::Daily,
            at(BERLIN, "2026-05-04 09:00"),
            &["alice", "none", "bob"],
        )],
        vec![],
    );
    assert_eq!(
        lines(
            BERLIN,
            &s.final_timeline(
                at(BERLIN, "2026-05-04 09:00"),
                at(BERLIN, "2026-05-08 09:00")
            )
        ),
        [
            "2026-05-04 09:00 CEST → 2026-05-05 09:00 CEST alice @primary",
            "2026-05-06 09:00 CEST → 2026-05-07 09:00 CEST bob @primary",
            "2026-05-07 09:00 CEST → 2026-05-08 09:00 CEST alice @primary",
        ]
    );
    let in_gap = at(BERLIN, "2026-05-05 12:00");
    assert!(s.on_call_at(in_gap).is_empty());
    let per_rotation = s.on_call_per_rotation_at(in_gap);
    assert_eq!(
        (per_rotation[0].user.as_deref(), per_rotation[0].in_effect),
        (None, true)
    );
    assert_eq!(
        s.next_on_call_after(at(BERLIN, "2026-05-04 12:00")),
        Some((at(BERLIN, "2026-05-06 09:00"), names(&["bob"])))
    );

    // A rotation override fills the gap, because the rotation is in effect there.
    let zed = cover(
        "zed",
        at(BERLIN, "2026-05-05 09:00"),
        at(BERLIN, "2026-05-06 09:00"),
        &["primary"],
    );
    let s =
        Schedule::new(s.time_zone(), s.mode(), s.rotations().to_vec(), vec![zed]).expect("valid");
    assert_eq!(s.on_call_at(in_gap), names(&["zed"]));
}

#[test]
fn seoul_has_no_dst_so_a_0900_handoff_is_always_midnight_utc() {
    let s = schedule(
        SEOUL,
        ScheduleMode::Cumulative,
        vec![spec(
            "primary",
            RotationKind::Daily,
            at(SEOUL, "2026-01-01 09:00"),
            &["min", "joon"],
        )],
        vec![],
    );
    let periods = s.base_timeline(utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
    assert_eq!(periods.len(), 365);
    for (i, p) in periods.iter().enumerate() {
        assert_eq!(p.start.format("%H:%M").to_string(), "00:00", "{p:?}");
        assert_eq!((p.end - p.start).num_hours(), 24, "{p:?}");
        assert_eq!(p.user, if i % 2 == 0 { "min" } else { "joon" }, "{p:?}");
    }
}

#[test]
fn nonexistent_handoff_moves_to_the_jump_and_repeated_one_takes_the_first() {
    // 02:30 does not exist on 2026-03-08 in New York; the handoff happens when clocks jump.
    let spring = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![spec(
            "night",
            RotationKind::Daily,
            at(NEW_YORK, "2026-03-06 02:30"),
            &["ann", "ben"],
        )],
        vec![],
    );
    let periods = spring.base_timeline(
        at(NEW_YORK, "2026-03-06 02:30"),
        at(NEW_YORK, "2026-03-10 00:00"),
    );
    assert_eq!(
        lines(NEW_YORK, &periods),
        [
            "2026-03-06 02:30 EST → 2026-03-07 02:30 EST ann @night",
            "2026-03-07 02:30 EST → 2026-03-08 03:00 EDT ben @night",
            "2026-03-08 03:00 EDT → 2026-03-09 02:30 EDT ann @night",
            "2026-03-09 02:30 EDT → 2026-03-10 00:00 EDT ben @night",
        ]
    );

    // 01:30 happens twice on 2026-11-01; the handoff is the first (EDT) one.
    let autumn = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![spec(
            "night",
            RotationKind::Daily,
            at(NEW_YORK, "2026-10-31 01:30"),
            &["ann", "ben"],
        )],
        vec![],
    );
    assert_eq!(
        autumn.on_call_at(utc("2026-11-01T05:29:00Z")),
        names(&["ann"])
    );
    assert_eq!(
        autumn.on_call_at(utc("2026-11-01T05:30:00Z")),
        names(&["ben"])
    );
    // 01:10 EST comes after the 01:30 EDT handoff, although its wall clock reads earlier.
    assert_eq!(
        autumn.on_call_at(utc("2026-11-01T06:10:00Z")),
        names(&["ben"])
    );
    assert_eq!(
        autumn.on_call_at(utc("2026-11-01T06:30:00Z")),
        names(&["ben"])
    );
}

#[test]
fn hourly_turns_last_real_hours_through_dst() {
    let s = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![RotationSpec {
            length: 2,
            ..spec(
                "hourly",
                RotationKind::Hourly,
                utc("2026-03-08T05:00:00Z"),
                &["a", "b"],
            )
        }],
        vec![],
    );
    let periods = s.base_timeline(utc("2026-03-08T05:00:00Z"), utc("2026-03-08T11:00:00Z"));
    assert_eq!(
        lines(NEW_YORK, &periods),
        [
            "2026-03-08 00:00 EST → 2026-03-08 03:00 EDT a @hourly",
            "2026-03-08 03:00 EDT → 2026-03-08 05:00 EDT b @hourly",
            "2026-03-08 05:00 EDT → 2026-03-08 07:00 EDT a @hourly",
        ]
    );
}

#[test]
fn a_year_of_an_hourly_business_hours_rotation_is_stepped_not_scanned() {
    let s = schedule(
        BERLIN,
        ScheduleMode::Cumulative,
        vec![RotationSpec {
            restriction: Some(Restriction::TimeOfDay {
                start: clock("09:00"),
                end: clock("17:00"),
            }),
            ..spec(
                "hourly",
                RotationKind::Hourly,
                at(BERLIN, "2026-01-01 00:00"),
                &["a", "b", "c"],
            )
        }],
        vec![],
    );
    let (from, to) = (
        at(BERLIN, "2026-01-01 00:00"),
        at(BERLIN, "2027-01-01 00:00"),
    );
    let periods = s.final_timeline(from, to);
    // Eight one-hour turns a day, all inside 09:00–17:00 local, winter and summer.
    assert_eq!(periods.len(), 365 * 8);
    assert!(periods.iter().all(|p| {
        let hour = p.start.with_timezone(&BERLIN).format("%H").to_string();
        ("09".."17").contains(&hour.as_str()) && (p.end - p.start).num_hours() == 1
    }));
}

#[test]
fn rotation_end_stops_it_and_next_on_call_then_finds_nobody() {
    let s = schedule(
        SEOUL,
        ScheduleMode::Cumulative,
        vec![RotationSpec {
            end: Some(at(SEOUL, "2026-02-03 09:00")),
            ..spec(
                "primary",
                RotationKind::Daily,
                at(SEOUL, "2026-02-01 09:00"),
                &["a", "b"],
            )
        }],
        vec![],
    );
    assert_eq!(s.on_call_at(at(SEOUL, "2026-02-03 08:59")), names(&["b"]));
    assert!(s.on_call_at(at(SEOUL, "2026-02-03 09:00")).is_empty());
    assert_eq!(s.next_on_call_after(at(SEOUL, "2026-02-02 12:00")), None);
    assert_eq!(
        s.next_on_call_after(at(SEOUL, "2026-01-01 00:00")),
        Some((at(SEOUL, "2026-02-01 09:00"), names(&["a"])))
    );
}

#[test]
fn invalid_input_is_refused_with_a_message_that_says_what_to_fix() {
    let start = utc("2026-01-05T14:00:00Z");
    let ok = spec("primary", RotationKind::Weekly, start, &["alice"]);
    let rotation_errors = [
        (
            RotationSpec {
                end: Some(utc("2026-01-01T00:00:00Z")),
                ..ok.clone()
            },
            "rotation `primary` ends at 2026-01-01 00:00:00 UTC, which is not after its start 2026-01-05 14:00:00 UTC",
        ),
        (
            RotationSpec {
                participants: vec![],
                ..ok.clone()
            },
            "rotation `primary` has no participants",
        ),
        (RotationSpec { length: 0, ..ok.clone() }, "rotation `primary` has length 0"),
        (
            RotationSpec {
                restriction: Some(Restriction::WeekdayAndTimeOfDay(vec![])),
                ..ok.clone()
            },
            "without windows",
        ),
        (
            RotationSpec {
                name: " ".into(),
                ..ok.clone()
            },
            "empty name",
        ),
        (
            RotationSpec {
                participants: participants(&[""]),
                ..ok.clone()
            },
            "empty user name",
        ),
    ];
    for (spec, message) in rotation_errors {
        let err = Rotation::new(spec).expect_err(message).to_string();
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    let clock_errors = [
        ("25:00", "hour 25 is outside 0–24"),
        ("10:60", "minute 60 is outside 0–59"),
        ("24:30", "with hour 24 the minute must be 0"),
        ("9am", "write it as HH:MM"),
    ];
    for (text, message) in clock_errors {
        let err = text.parse::<ClockTime>().expect_err(text).to_string();
        assert!(err.contains(message), "{err:?} should contain {message:?}");
    }

    let err = parse_time_zone("Europe/Berlinn")
        .expect_err("typo")
        .to_string();
    assert!(err.contains("unknown time zone `Europe/Berlinn`"), "{err}");

    let err =
        Override::new(Participant::user("bob"), start, start, None).expect_err("empty window");
    assert!(
        err.to_string().contains("override for `bob` ends at"),
        "{err}"
    );

    let typo = cover("bob", start, utc("2026-01-06T00:00:00Z"), &["primry"]);
    let err = Schedule::new(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![rotation(ok.clone())],
        vec![typo],
    )
    .expect_err("unknown rotation");
    assert!(
        err.to_string()
            .contains("names rotation `primry`, which is not in this schedule"),
        "{err}"
    );

    let err = Schedule::new(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![rotation(ok.clone()), rotation(ok)],
        vec![],
    )
    .expect_err("duplicate");
    assert_eq!(err, ScheduleError::DuplicateRotation("primary".into()));

    assert_eq!("layered".parse(), Ok(ScheduleMode::Layered));
    assert!("stacked".parse::<ScheduleMode>().is_err());
    assert_eq!("weekly".parse(), Ok(RotationKind::Weekly));
    assert!("monthly".parse::<RotationKind>().is_err());
}

#[test]
fn time_off_hands_a_users_shifts_to_the_replacement_or_uncovers_them() {
    let weekday = spec(
        "weekday",
        RotationKind::Weekly,
        at(BERLIN, "2026-07-06 09:00"),
        &["ann", "ben"],
    );
    let weekend = RotationSpec {
        restriction: Some(Restriction::WeekdayAndTimeOfDay(vec![WeekdayWindow {
            start_day: Weekday::Fri,
            start: clock("18:00"),
            end_day: Weekday::Mon,
            end: clock("09:00"),
        }])),
        ..spec(
            "weekend",
            RotationKind::Weekly,
            at(BERLIN, "2026-07-10 18:00"),
            &["ann", "wes"],
        )
    };
    let (from, to) = (
        at(BERLIN, "2026-07-06 09:00"),
        at(BERLIN, "2026-07-13 09:00"),
    );
    // Ann is away Wednesday to Saturday noon, Cid covers; a later entry for Saturday leaves
    // her weekend shift uncovered instead.
    let vacation = TimeOff::new(
        "ann",
        at(BERLIN, "2026-07-08 00:00"),
        at(BERLIN, "2026-07-11 12:00"),
        Some("cid".into()),
    )
    .expect("valid");
    let saturday = TimeOff::new(
        "ann",
        at(BERLIN, "2026-07-11 00:00"),
        at(BERLIN, "2026-07-12 00:00"),
        None,
    )
    .expect("valid");

    let layered = schedule(
        BERLIN,
        ScheduleMode::Layered,
        vec![weekday.clone(), weekend.clone()],
        vec![],
    )
    .with_time_off(vec![vacation.clone(), saturday.clone()]);
    assert_eq!(
        lines(BERLIN, &layered.final_timeline(from, to)),
        [
            "2026-07-06 09:00 CEST → 2026-07-08 00:00 CEST ann @weekday",
            "2026-07-08 00:00 CEST → 2026-07-10 18:00 CEST cid* @weekday",
            "2026-07-10 18:00 CEST → 2026-07-11 00:00 CEST cid* @weekend",
            // Nobody on the weekend layer: the weekday layer (Ann, away, so nobody there
            // either) leaves Saturday uncovered; Sunday Ann is back.
            "2026-07-12 00:00 CEST → 2026-07-13 09:00 CEST ann @weekend",
        ]
    );
    assert!(layered
        .on_call_at(at(BERLIN, "2026-07-11 15:00"))
        .is_empty());
    assert_eq!(
        layered.on_call_at(at(BERLIN, "2026-07-09 12:00")),
        names(&["cid"])
    );
    // The base timeline is the rotations by themselves; the replacement shows as an override.
    assert_eq!(
        lines(BERLIN, &layered.override_timeline(from, to)),
        [
            "2026-07-08 00:00 CEST → 2026-07-11 00:00 CEST cid* @weekday",
            "2026-07-10 18:00 CEST → 2026-07-11 00:00 CEST cid* @weekend",
        ]
    );

    // Cumulative: Wes's weekend shift is untouched; only Ann's time changes hands.
    let s = schedule(
        BERLIN,
        ScheduleMode::Cumulative,
        vec![
            weekday,
            RotationSpec {
                participants: participants(&["wes", "ann"]),
                ..weekend
            },
        ],
        vec![],
    )
    .with_time_off(vec![vacation]);
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-07-10 20:00")),
        names(&["cid", "wes"])
    );
    assert_eq!(
        s.on_call_per_rotation_at(at(BERLIN, "2026-07-09 12:00"))[0],
        RotationOnCall {
            rotation: "weekday".into(),
            user: Some("cid".into()),
            in_effect: true,
            is_override: true,
        }
    );
    // After the time off ends, Ann is back.
    assert_eq!(
        s.on_call_at(at(BERLIN, "2026-07-11 12:00")),
        names(&["ann", "wes"])
    );
}

#[test]
fn a_schedule_wide_override_for_someone_away_stops_counting() {
    let primary = spec(
        "primary",
        RotationKind::Daily,
        at(NEW_YORK, "2026-06-01 09:00"),
        &["alice", "bob"],
    );
    let (noon, three) = (
        at(NEW_YORK, "2026-06-02 12:00"),
        at(NEW_YORK, "2026-06-02 15:00"),
    );
    let carol = Override::new(Participant::user("carol"), noon, three, None).expect("valid");
    let away = TimeOff::new("carol", noon, at(NEW_YORK, "2026-06-02 13:00"), None).expect("valid");
    let s = schedule(
        NEW_YORK,
        ScheduleMode::Cumulative,
        vec![primary],
        vec![carol],
    )
    .with_time_off(vec![away]);
    assert_eq!(
        lines(
            NEW_YORK,
            &s.final_timeline(
                at(NEW_YORK, "2026-06-02 09:00"),
                at(NEW_YORK, "2026-06-02 18:00")
            )
        ),
        [
            "2026-06-02 09:00 EDT → 2026-06-02 13:00 EDT bob @primary",
            "2026-06-02 13:00 EDT → 2026-06-02 15:00 EDT carol* @schedule",
            "2026-06-02 15:00 EDT → 2026-06-02 18:00 EDT bob @primary",
        ]
    );
    assert_eq!(
        s.on_call_at(at(NEW_YORK, "2026-06-02 12:30")),
        names(&["bob"])
    );
    assert_eq!(
        s.on_call_at(at(NEW_YORK, "2026-06-02 13:30")),
        names(&["carol"])
    );
}
