"""Status-page subscribers against real local peers: webhook subscribers (an HTTP recorder) and
e-mail subscribers (aiosmtpd), created through the official `atlassian-statuspage` client. Each
incident update reaches each confirmed subscriber exactly once through the outbox — also when
the webhook receiver is down for a while — with Statuspage's webhook body and a readable
e-mail; unconfirmed and unsubscribed subscribers get nothing."""

from __future__ import annotations

import collections
import json
import re
import time

import atlassian_statuspage as sp
import pytest
import requests

from engine_peers import Recorder, Smtp
from test_statuspage_client import PAGE, STATUS_PAGES, api_client, new_component, update_incident


@pytest.fixture
def rec():
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def smtp():
    s = Smtp()
    yield s
    s.close()


def extra(smtp: Smtp) -> dict:
    return {
        "status_pages": STATUS_PAGES,
        "notify": {
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "status@example.com"},
            "webhook_secret": "e2e-secret",
            "retry": {"max_attempts": 6, "max_backoff": "2s"},
        },
    }


def subscribe(client, **fields) -> sp.Subscriber:
    s = sp.SubscribersApi(client).post_pages_page_id_subscribers(
        sp.PostPagesPageIdSubscribers(subscriber=sp.PostPagesPageIdSubscribersSubscriber(**fields)), PAGE)
    assert isinstance(s, sp.Subscriber), type(s)
    return s


def wait_for(pred, timeout: float = 20.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def mails_to(smtp: Smtp, addr: str) -> list:
    return [m for m in smtp.messages if m["To"] == addr]


def text_of(m) -> str:
    return m.get_body(preferencelist=("plain",)).get_content()


def hooks(rec: Recorder, path: str) -> list[dict]:
    with rec.lock:
        return [json.loads(h["body"]) | {"_key": h["headers"].get("idempotency-key")}
                for h in rec.hits if h["path"] == path]


def test_each_update_reaches_each_subscriber_once(klaxon_factory, rec, smtp):
    k = klaxon_factory(extra=extra(smtp))
    client = api_client(k)
    api = new_component(sp.ComponentsApi(client), "API")

    # Two webhooks (confirmed at once), an e-mail that confirms through its link, one that
    # never confirms, and one added with skip_confirmation_notification.
    hook_a = subscribe(client, endpoint=f"{rec.url}/hook-a")
    hook_b = subscribe(client, endpoint=f"{rec.url}/hook-b")
    assert (hook_a.mode, hook_a.endpoint) == ("webhook", f"{rec.url}/hook-a")
    carol = subscribe(client, email="carol@example.com")
    assert carol.mode == "email" and carol.skip_confirmation_notification is False
    subscribe(client, email="dave@example.com")
    subscribe(client, email="erin@example.com", skip_confirmation_notification=True)

    wait_for(lambda: len(mails_to(smtp, "carol@example.com")) == 1 and len(mails_to(smtp, "dave@example.com")) == 1,
             what="the confirmation e-mails")
    confirm_mail = mails_to(smtp, "carol@example.com")[0]
    assert confirm_mail["Subject"] == "[Acme] Confirm your subscription"
    assert confirm_mail["From"] == "status@example.com"
    link = re.search(r"(http://\S+/subscriptions/confirm/\S+)", text_of(confirm_mail)).group(1)
    assert link.startswith(f"{k.base_url}/status/{PAGE}/subscriptions/confirm/"), link
    r = requests.get(link, timeout=10)
    assert r.status_code == 200 and "Your subscription is confirmed" in r.text, r.text
    assert mails_to(smtp, "erin@example.com") == [], "skip_confirmation_notification sends no confirmation"
    listed = {s.email or s.endpoint: s for s in sp.SubscribersApi(client).get_pages_page_id_subscribers(PAGE)}
    assert len(listed) == 5

    # The webhook receiver is down when the incident opens: the outbox retries.
    rec.down = True
    incidents = sp.IncidentsApi(client)
    inc = incidents.post_pages_page_id_incidents(
        sp.PostPagesPageIdIncidents(incident=sp.PostPagesPageIdIncidentsIncident(
            name="Elevated API errors", status="investigating", body="Looking into 5xx responses.",
            components={api.id: "partial_outage"})),
        PAGE)
    time.sleep(1.5)
    rec.down = False
    update_incident(incidents, inc.id, status="identified", body="Bad deploy; rolling back.")
    # An update that asks not to notify anybody.
    update_incident(incidents, inc.id, body="Internal note: rollback at 50%.", deliver_notifications=False)
    update_incident(incidents, inc.id, status="resolved", body="All good again.",
                    components={api.id: "operational"})

    want = ["investigating", "identified", "resolved"]
    for path in ("/hook-a", "/hook-b"):
        wait_for(lambda: len(hooks(rec, path)) >= 3, 30, f"3 webhooks on {path}: {rec.paths()}")
    for addr in ("carol@example.com", "erin@example.com"):
        wait_for(lambda: len(mails_to(smtp, addr)) >= (4 if addr.startswith("carol") else 3), 30,
                 f"the update e-mails to {addr}")
    time.sleep(2.5)  # anything sent twice (or a retry after success) would land by now

    # Webhooks: exactly once per (subscriber, update), Statuspage's body, signed, keyed.
    keys = collections.Counter()
    for path, sub in (("/hook-a", hook_a), ("/hook-b", hook_b)):
        got = hooks(rec, path)
        assert len(got) == 3, [(g["incident"]["incident_updates"][0]["status"]) for g in got]
        got.sort(key=lambda b: len(b["incident"]["incident_updates"]))
        statuses = [b["incident"]["incident_updates"][0]["status"] for b in got]
        assert statuses == want, statuses
        first, second, last = got
        assert first["incident"]["id"] == inc.id and first["incident"]["name"] == "Elevated API errors"
        assert first["incident"]["incident_updates"][0]["body"] == "Looking into 5xx responses."
        assert first["incident"]["components"][0]["status"] == "partial_outage"
        assert first["page"] == {"id": PAGE, "status_indicator": "major", "status_description": "Partial System Outage"}
        assert second["incident"]["incident_updates"][0]["body"] == "Bad deploy; rolling back."
        assert last["incident"]["status"] == "resolved"
        assert last["page"]["status_indicator"] == "none"
        # The quiet update is in the incident's history, but it was never sent on its own.
        assert [u["body"] for u in last["incident"]["incident_updates"]][:2] == \
            ["All good again.", "Internal note: rollback at 50%."]
        for b in got:
            upd = b["incident"]["incident_updates"][0]["id"]
            assert b["_key"] == f"status-update:{upd}:{sub.id}", b["_key"]
            keys[b["_key"]] += 1
            assert b["meta"]["unsubscribe"].startswith(f"{k.base_url}/status/{PAGE}/subscriptions/unsubscribe/")
    assert set(keys.values()) == {1} and len(keys) == 6, keys
    assert all(n == 1 for n in rec.by_key.values()), rec.by_key

    # E-mail: carol (confirmed by link) and erin get one message per update; dave gets only his
    # confirmation.
    for addr in ("carol@example.com", "erin@example.com"):
        updates = [m for m in mails_to(smtp, addr) if "Confirm" not in m["Subject"]]
        assert sorted(m["Subject"] for m in updates) == sorted([
            "[Acme] New incident: Elevated API errors",
            "[Acme] Identified: Elevated API errors",
            "[Acme] Resolved: Elevated API errors",
        ]), [m["Subject"] for m in updates]
        assert len({m["Message-ID"] for m in updates}) == 3
        by_subject = {m["Subject"]: text_of(m) for m in updates}
        opened = by_subject["[Acme] New incident: Elevated API errors"]
        assert "Looking into 5xx responses." in opened and "API: Partial Outage" in opened, opened
        assert f"{k.base_url}/status/{PAGE}/incidents/{inc.id}" in opened
        assert "All good again." in by_subject["[Acme] Resolved: Elevated API errors"]
        assert "rollback at 50%" not in "".join(by_subject.values())
    assert len(mails_to(smtp, "dave@example.com")) == 1

    # Unsubscribing through the link in a message stops that subscriber only.
    unsub = hooks(rec, "/hook-b")[0]["meta"]["unsubscribe"]
    r = requests.get(unsub, timeout=10)
    assert r.status_code == 200 and "no more updates" in r.text, r.text
    update_incident(incidents, inc.id, body="Postmortem to follow.")
    wait_for(lambda: len(hooks(rec, "/hook-a")) == 4, 20, "the fourth webhook on /hook-a")
    time.sleep(1.5)
    assert len(hooks(rec, "/hook-b")) == 3
    assert sum(1 for _ in sp.SubscribersApi(client).get_pages_page_id_subscribers(PAGE)) == 4
