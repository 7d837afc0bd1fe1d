"""Races a real deployment sees: many senders with one alias, many senders with new aliases,
and a snooze timer that must survive a crash."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from conftest import _SERVERS, GLOBAL_KEY, Database, Klaxon

H = {"Authorization": f"GenieKey {GLOBAL_KEY}"}


def _post_many(url: str, bodies: list[dict], threads: int = 8) -> list[int]:
    def send(chunk):
        s = requests.Session()
        return [s.post(url, json=b, headers=H, timeout=10).status_code for b in chunk]

    chunks = [bodies[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as ex:
        return [c for part in ex.map(send, chunks) for c in part]


def test_concurrent_creates_with_one_alias_make_one_alert(klaxon):
    n = 200
    codes = _post_many(klaxon.og_url + "/v2/alerts",
                       [{"message": f"storm {i}", "alias": "storm"} for i in range(n)])
    assert codes == [202] * n, sorted(set(codes))

    r = klaxon.og("GET", "/v2/alerts", params={"query": "alias:storm", "limit": 100})
    assert r.status_code == 200, r.text
    alerts = r.json()["data"]
    assert len(alerts) == 1, f"{len(alerts)} open alerts for one alias: {[a['id'] for a in alerts]}"
    assert alerts[0]["count"] == n, alerts[0]["count"]
    assert alerts[0]["status"] == "open"


def test_concurrent_creates_get_unique_ids_and_tiny_ids(klaxon):
    n = 300
    codes = _post_many(klaxon.og_url + "/v2/alerts",
                       [{"message": f"distinct {i}", "alias": f"d-{i}"} for i in range(n)])
    assert codes == [202] * n, sorted(set(codes))

    seen = []
    offset = 0
    while True:
        r = klaxon.og("GET", "/v2/alerts", params={"limit": 100, "offset": offset, "order": "asc"})
        assert r.status_code == 200, r.text
        page = r.json()["data"]
        seen += page
        if len(page) < 100:
            break
        offset += 100
    assert len(seen) == n
    assert len({a["id"] for a in seen}) == n
    assert len({a["tinyId"] for a in seen}) == n, "tinyId repeated"
    assert {a["alias"] for a in seen} == {f"d-{i}" for i in range(n)}


def test_list_paging_links_and_order(klaxon):
    for i in range(5):
        r = klaxon.og("POST", "/v2/alerts", json={"message": f"page {i}", "alias": f"p-{i}"})
        assert r.status_code == 202, r.text
        time.sleep(0.002)  # distinct createdAt milliseconds

    r = klaxon.og("GET", "/v2/alerts", params={"limit": 2, "order": "asc", "sort": "createdAt"})
    body = r.json()
    assert [a["alias"] for a in body["data"]] == ["p-0", "p-1"]
    paging = body["paging"]
    assert paging["next"].startswith(klaxon.og_url + "/v2/alerts?"), paging
    assert paging["first"].startswith("http://"), paging

    nxt = requests.get(paging["next"], headers=H, timeout=5).json()
    assert [a["alias"] for a in nxt["data"]] == ["p-2", "p-3"], nxt
    last = requests.get(nxt["paging"]["next"], headers=H, timeout=5).json()
    assert [a["alias"] for a in last["data"]] == ["p-4"]
    assert "next" not in last["paging"] or not last["paging"]["next"], last["paging"]

    desc = klaxon.og("GET", "/v2/alerts", params={"limit": 3, "order": "desc"}).json()
    assert [a["alias"] for a in desc["data"]] == ["p-4", "p-3", "p-2"]

    big = klaxon.og("GET", "/v2/alerts", params={"limit": 1000})
    assert big.status_code in (200, 422), big.text
    if big.status_code == 200:
        assert len(big.json()["data"]) == 5


def test_snooze_ends_after_a_crash(klaxon):
    """The snooze end is a row with a due time: it fires after a SIGKILL + restart."""
    r = klaxon.og("POST", "/v2/alerts", json={"message": "nap", "alias": "nap"})
    assert r.status_code == 202
    end = datetime.now(timezone.utc) + timedelta(seconds=2)
    r = klaxon.og("POST", "/v2/alerts/nap/snooze", params={"identifierType": "alias"},
                  json={"endTime": end.isoformat(timespec="milliseconds").replace("+00:00", "Z")})
    assert r.status_code == 202, r.text
    a = klaxon.og("GET", "/v2/alerts/nap", params={"identifierType": "alias"}).json()["data"]
    assert a["snoozed"] is True

    klaxon.kill()
    klaxon.start()

    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        a = klaxon.og("GET", "/v2/alerts/nap", params={"identifierType": "alias"}).json()["data"]
        if a["snoozed"] is False:
            break
        time.sleep(0.1)
    assert a["snoozed"] is False, f"still snoozed 6 s after endTime: {a}"
    assert datetime.now(timezone.utc) >= end
    assert a["status"] == "open"
    logs = klaxon.og("GET", f"/v2/alerts/{a['id']}/logs", params={"limit": 100}).json()["data"]
    assert len(logs) >= 3, logs  # create, snooze, snooze ended


def test_two_processes_on_one_postgres_deduplicate_together(tmp_path, request):
    """DESIGN §4: several klaxon processes may share one PostgreSQL (HA). Two Alertmanagers of an
    HA pair send the same group alias to different Klaxon processes at the same moment."""
    db = Database("postgres", tmp_path)
    request.addfinalizer(db.drop)
    servers = []
    for i in range(2):
        d = tmp_path / f"p{i}"
        d.mkdir()
        k = Klaxon(d, db, name=f"klaxon-pg-ha-{i}")
        servers.append(k)
        request.addfinalizer(k.stop)
    request.node.stash[_SERVERS] = servers
    for k in servers:
        k.start()

    n = 200
    bodies = [{"message": f"ha {i}", "alias": "ha-storm"} for i in range(n)]

    def send(chunk_and_server):
        chunk, k = chunk_and_server
        s = requests.Session()
        return [s.post(k.og_url + "/v2/alerts", json=b, headers=H, timeout=10).status_code for b in chunk]

    work = [(bodies[i::8], servers[i % 2]) for i in range(8)]
    with ThreadPoolExecutor(8) as ex:
        codes = [c for part in ex.map(send, work) for c in part]
    assert codes == [202] * n, sorted(set(codes))

    for k in servers:
        r = k.og("GET", "/v2/alerts", params={"query": "alias:ha-storm"})
        alerts = r.json()["data"]
        assert len(alerts) == 1, alerts
        assert alerts[0]["count"] == n, alerts[0]["count"]
