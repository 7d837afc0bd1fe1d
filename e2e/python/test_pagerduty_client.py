"""The official `pagerduty` Python client (`EventsApiV2Client`) against Klaxon's /v2/enqueue:
trigger, acknowledge, resolve, PagerDuty's exact answers, and the Klaxon alerts they make."""

from __future__ import annotations

import re

import httpx2
import pagerduty
import pytest

from conftest import BASE_OBJECTS, GLOBAL_KEY

PD_KEY = "pd-routing-key-01"  # team sre

INTEGRATIONS = BASE_OBJECTS["integrations"] + [
    {"name": "pd", "type": "pagerduty", "api_key": PD_KEY, "team": "sre", "tags": ["pd"]},
]


class PlainHttpTransport(httpx2.HTTPTransport):
    """The client refuses base URLs that are not https://; the test server speaks plain HTTP on
    loopback. This transport sends the client's requests over http:// to the same host and port;
    everything above the socket (building events, auth, retries, checking answers) is the
    client's own."""

    def handle_request(self, request):
        request.url = request.url.copy_with(scheme="http")
        return super().handle_request(request)


def client(k, key: str = PD_KEY) -> pagerduty.EventsApiV2Client:
    return pagerduty.EventsApiV2Client(key, base_url=f"https://127.0.0.1:{k.port}", transport=PlainHttpTransport())


def alert(k, alias: str) -> dict:
    r = k.og("GET", f"/v2/alerts/{alias}", params={"identifierType": "alias"}, key=GLOBAL_KEY)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["data"]


def test_trigger_acknowledge_resolve(klaxon_factory):
    k = klaxon_factory(extra={"integrations": INTEGRATIONS})
    pd = client(k)

    key = pd.trigger("Disk full on db1", "db1.example.com", dedup_key="disk-db1", severity="critical",
                     payload={"component": "postgres", "group": "prod-db", "class": "disk"},
                     custom_details={"free": "2%", "inodes": 1200},
                     links=[{"href": "https://runbooks.example.com/disk", "text": "Runbook"}])
    assert key == "disk-db1"
    a = alert(k, "disk-db1")
    assert (a["message"], a["priority"], a["status"], a["source"]) == \
        ("Disk full on db1", "P1", "open", "db1.example.com")
    assert a["details"] == {
        "severity": "critical", "component": "postgres", "group": "prod-db", "class": "disk",
        "free": "2%", "inodes": "1200", "Runbook": "https://runbooks.example.com/disk",
    }, a["details"]
    assert a["tags"] == ["postgres", "prod-db", "disk", "pd"], a["tags"]
    assert a["integration"]["name"] == "pd" and a["integration"]["type"] == "PagerDuty"
    assert [r["type"] for r in a["responders"]] == ["team"], a["responders"]

    # A repeat de-duplicates; acknowledge and resolve act on it and return the key.
    assert pd.trigger("Disk full on db1 (again)", "db1.example.com", dedup_key="disk-db1") == "disk-db1"
    assert alert(k, "disk-db1")["count"] == 2
    assert pd.acknowledge("disk-db1") == "disk-db1"
    assert alert(k, "disk-db1")["acknowledged"] is True
    assert pd.resolve("disk-db1") == "disk-db1"
    assert alert(k, "disk-db1")["status"] == "closed"

    # Keys that name nothing still succeed, as on PagerDuty.
    assert pd.resolve("never-triggered") == "never-triggered"
    assert pd.acknowledge("never-triggered") == "never-triggered"

    # Without a dedup key the answer carries a new one.
    new_key = pd.trigger("Queue stuck", "mq1", severity="info")
    assert re.fullmatch(r"[0-9a-f]{32}", new_key), new_key
    b = alert(k, new_key)
    assert (b["message"], b["priority"]) == ("Queue stuck", "P5")


def test_refusals_are_pagerdutys_400(klaxon_factory):
    k = klaxon_factory(extra={"integrations": INTEGRATIONS})

    with pytest.raises(pagerduty.HttpError) as e:
        client(k, "not-a-klaxon-key").trigger("x", "h")
    assert e.value.response.status_code == 400
    assert e.value.response.json() == {
        "status": "invalid event", "message": "Event object is invalid", "errors": ["Invalid routing key"],
    }

    with pytest.raises(pagerduty.HttpError) as e:
        client(k).trigger("x", "h", severity="fatal")
    assert e.value.response.status_code == 400
    assert e.value.response.json()["errors"] == [
        "'payload.severity' is invalid (must be one of: 'critical', 'error', 'warning', 'info')",
    ]
    r = k.og("GET", "/v2/alerts/count", key=GLOBAL_KEY)
    assert r.json()["data"]["count"] == 0
