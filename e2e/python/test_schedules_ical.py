"""iCal feeds of on-call schedules, read by a real iCalendar parser (`icalendar` from PyPI), list
the same periods as the timeline endpoint: both backends, the real `klaxon serve`.

The schedule hands off Mondays 09:00 in Berlin across the spring-forward night (2026-03-29), has a
night rotation with a `none` gap and an override, so the feeds carry DST-shifted handoffs, gaps
and override periods, not only one clean rotation.
"""

from __future__ import annotations

import datetime as dt

import icalendar
import requests

from conftest import GLOBAL_KEY

UTC = dt.timezone.utc
WINDOW = {"date": "2026-03-20T00:00:00Z", "interval": "3", "intervalUnit": "weeks"}


def iso(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def make_schedule(klaxon) -> str:
    r = klaxon.og("POST", "/v2/schedules", json={
        "name": "berlin-primary",
        "timezone": "Europe/Berlin",
        "rotations": [
            {"name": "weekdays", "type": "weekly", "startDate": "2026-03-16T09:00:00+01:00",
             "participants": [{"username": "alice@example.com"}, {"username": "bob@example.com"}]},
            {"name": "nights", "type": "daily", "startDate": "2026-03-16T21:00:00+01:00",
             "participants": [{"username": "bob@example.com"}, {"type": "none"}],
             "timeRestriction": {"type": "time-of-day",
                                 "restriction": {"startHour": 21, "startMin": 0, "endHour": 7, "endMin": 0}}},
        ],
    })
    assert r.status_code == 201, r.text
    sid = r.json()["data"]["id"]
    r = klaxon.og("POST", f"/v2/schedules/{sid}/overrides", json={
        "alias": "swap", "user": {"type": "user", "username": "bob@example.com"},
        "startDate": "2026-03-25T12:00:00Z", "endDate": "2026-03-26T12:00:00Z",
        "rotations": [{"name": "weekdays"}],
    })
    assert r.status_code == 201, r.text
    return sid


def timeline_periods(klaxon, sid: str) -> list[tuple[dt.datetime, dt.datetime, str]]:
    r = klaxon.og("GET", f"/v2/schedules/{sid}/timeline", params=WINDOW)
    assert r.status_code == 200, r.text
    out = []
    for rotation in r.json()["data"]["finalTimeline"]["rotations"]:
        for p in rotation["periods"]:
            assert p["startDate"].endswith("Z") and p["endDate"].endswith("Z"), p
            out.append((iso(p["startDate"]), iso(p["endDate"]), p["recipient"]["name"]))
    return sorted(out)


def parse(text: str) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(text)
    assert cal["VERSION"] == "2.0"
    assert cal.get("PRODID")
    events = list(cal.walk("VEVENT"))
    for e in events:
        for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert key in e, f"{key} missing in {e}"
        for key in ("DTSTART", "DTEND", "DTSTAMP"):
            value = e.decoded(key)
            assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0), (key, value)
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)), "UIDs must be unique"
    return events


def check_wire_format(text: str) -> None:
    raw = text.encode()
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")
    assert all(b"\n" not in line for line in lines), "bare LF"
    assert all(len(line) <= 75 for line in lines), "a line is longer than 75 octets"


def test_schedule_feed_lists_the_timeline_periods(klaxon):
    sid = make_schedule(klaxon)
    expected = timeline_periods(klaxon, sid)
    assert len(expected) > 10, expected
    # A calendar app cannot send headers: the key goes in the URL.
    r = requests.get(f"{klaxon.og_url}/v2/schedules/{sid}.ics", params={**WINDOW, "apiKey": GLOBAL_KEY}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    check_wire_format(r.text)
    events = parse(r.text)
    got = sorted(
        (e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"]).split("(")[-1].rstrip(")"))
        for e in events
    )
    assert got == expected
    assert all(str(e["SUMMARY"]).startswith("On call: berlin-primary") for e in events)
    # The Monday handoff moves from 08:00Z to 07:00Z across Berlin's spring-forward night.
    starts = {e.decoded("DTSTART") for e in events}
    assert dt.datetime(2026, 3, 23, 8, tzinfo=UTC) in starts
    assert dt.datetime(2026, 3, 30, 7, tzinfo=UTC) in starts


def test_personal_feed_opens_with_a_token_and_lists_only_that_users_shifts(klaxon):
    sid = make_schedule(klaxon)
    r = klaxon.og("POST", "/v2/schedules/on-calls/bob@example.com/calendar-token")
    assert r.status_code == 201, r.text
    url = r.json()["data"]["url"]
    assert url.startswith(klaxon.og_url) and "token=" in url

    r = requests.get(url, params=WINDOW, timeout=10)
    assert r.status_code == 200, r.text
    check_wire_format(r.text)
    events = parse(r.text)
    assert {str(e["SUMMARY"]) for e in events} == {"On call: berlin-primary"}

    # Bob's periods from the timeline, merged where they touch or overlap (one person in two
    # rotations is one shift in a calendar).
    merged: list[list[dt.datetime]] = []
    for start, end, who in timeline_periods(klaxon, sid):
        if who != "bob@example.com":
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    got = sorted([e.decoded("DTSTART"), e.decoded("DTEND")] for e in events)
    assert got == merged

    bad = requests.get(url.replace("token=", "token=x"), timeout=10)
    assert bad.status_code == 401, bad.text
    other = requests.get(url.replace("bob@example.com", "alice@example.com"), timeout=10)
    assert other.status_code == 403, other.text
