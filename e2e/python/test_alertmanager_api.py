"""Prometheus and amtool talking to Klaxon as to an Alertmanager (`/api/v2/`): the real Debian
`prometheus` with `alerting.alertmanagers` pointing at Klaxon, and the real `amtool`."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import GLOBAL_KEY, KLAXON_BIN, PROM_KEY, free_port

DEADLINE = 25.0


def _bin(name: str) -> str:
    p = shutil.which(name)
    if not p:
        pytest.fail(f"{name} not found (Debian packages prometheus, prometheus-alertmanager)", pytrace=False)
    return p


def group_alias(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def group_alert(klaxon, group_key: str) -> dict | None:
    r = klaxon.og("GET", f"/v2/alerts/{group_alias(group_key)}?identifierType=alias")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()["data"]


def notes(klaxon, alert_id: str) -> str:
    r = klaxon.og("GET", f"/v2/alerts/{alert_id}/notes?limit=100")
    assert r.status_code == 200, r.text
    return "\n".join(n["note"] for n in r.json()["data"])


def wait_for(what: str, check, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = check()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out after {deadline}s waiting for: {what}")


class Prometheus:
    def __init__(self, tmp: Path, klaxon_port: int, rules: str):
        self.port = free_port()
        (tmp / "rules.yml").write_text(rules)
        (tmp / "prometheus.yml").write_text(json.dumps({
            "global": {"evaluation_interval": "1s", "scrape_interval": "15s"},
            "rule_files": [str(tmp / "rules.yml")],
            "alerting": {"alertmanagers": [{
                "api_version": "v2",
                "authorization": {"credentials": PROM_KEY},
                "static_configs": [{"targets": [f"127.0.0.1:{klaxon_port}"]}],
            }]},
        }))
        self.log = tmp / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [_bin("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp / 'prom-data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--rules.alert.resend-delay=1s", "--log.level=debug"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


ROUTE = {
    "receiver": "sre",
    "group_by": ["alertname"],
    "group_wait": "0s",
    "group_interval": "1s",
    "repeat_interval": "1h",
}


def test_prometheus_alerts_open_and_close_klaxon_alerts(klaxon_factory, tmp_path):
    klaxon = klaxon_factory(extra={"route": ROUTE})
    resolve_at = int(time.time()) + 12  # Prometheus needs a few seconds to start
    rules = json.dumps({"groups": [{"name": "e2e", "interval": "1s", "rules": [
        {"alert": "AlwaysFiring", "expr": "vector(1) > 0",
         "labels": {"severity": "critical"}, "annotations": {"summary": "always firing"}},
        {"alert": "ShortLived", "expr": f"vector(time()) < {resolve_at}",
         "labels": {"severity": "warning"}, "annotations": {"summary": "gone soon"}},
    ]}]})
    prom = Prometheus(tmp_path, klaxon.port, rules)
    try:
        always = wait_for("AlwaysFiring opens a Klaxon alert",
                          lambda: group_alert(klaxon, '{}:{alertname="AlwaysFiring"}'))
        assert always["status"] == "open"
        assert always["message"] == "always firing"
        assert always["priority"] == "P1"  # severity critical
        assert [r["type"] for r in always["responders"]] == ["team"]
        short = wait_for("ShortLived opens a Klaxon alert",
                         lambda: group_alert(klaxon, '{}:{alertname="ShortLived"}'))
        assert short["message"] == "gone soon" and short["priority"] == "P3"
        print(f"opened {resolve_at - time.time():.1f}s before the rule resolves")
        # The rule stops matching; Prometheus posts it with endsAt = now; the alert closes.
        closed = wait_for("ShortLived's Klaxon alert closes", lambda: (
            (a := group_alert(klaxon, '{}:{alertname="ShortLived"}')) and a["status"] == "closed" and a))
        assert "resolved" in notes(klaxon, closed["id"]) or closed["status"] == "closed"
        assert group_alert(klaxon, '{}:{alertname="AlwaysFiring"}')["status"] == "open"
        # The alerts as Prometheus posted them, through the API v2.
        r = requests.get(f"{klaxon.base_url}/api/v2/alerts", headers={"Authorization": f"Bearer {PROM_KEY}"},
                         timeout=10)
        assert r.status_code == 200, r.text
        names = {a["labels"]["alertname"] for a in r.json()}
        assert names == {"AlwaysFiring"}, r.text
        generator = r.json()[0]["generatorURL"]
        assert generator.startswith(f"http://"), generator
    except BaseException:
        print(prom.log.read_text()[-5000:])
        raise
    finally:
        prom.stop()


# ------------------------------------------------------------------------------------------------
# amtool
# ------------------------------------------------------------------------------------------------

AMTOOL_ROUTE = {
    "receiver": "sre",
    "group_by": ["alertname", "instance"],
    "group_wait": "0s",
    "group_interval": "1s",
    "routes": [
        {"matchers": ['severity="critical"'], "receiver": "dba", "continue": True},
        {"matchers": ['instance=~"db.*"'], "receiver": "sre"},
    ],
}


class Amtool:
    def __init__(self, tmp: Path, url: str, key: str | None):
        self.url = url
        self.args = [f"--alertmanager.url={url}"]
        if key:
            cfg = tmp / "amtool-http.yml"
            cfg.write_text(json.dumps({"authorization": {"type": "Bearer", "credentials": key}}))
            self.args.append(f"--http.config.file={cfg}")

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([_bin("amtool"), *self.args, *args], capture_output=True, text=True, timeout=30)
        if ok:
            assert r.returncode == 0, f"amtool {args} failed ({r.returncode}): {r.stdout}{r.stderr}"
        return r

    def json(self, *args: str):
        return json.loads(self.run(*args, "-o", "json").stdout)


def test_amtool_alerts_silences_and_routes(klaxon_factory, tmp_path):
    klaxon = klaxon_factory(extra={"route": AMTOOL_ROUTE})
    am = Amtool(tmp_path, klaxon.base_url, GLOBAL_KEY)

    # A silence first, so that the db2 alert is silenced from the start and never pages.
    sid = am.run("silence", "add", "instance=db2", "--comment=maintenance", "--author=alice",
                 "--duration=1h").stdout.strip()
    assert len(sid) == 36, sid
    am.run("alert", "add", "alertname=DiskFull", "instance=db1", "severity=critical",
           "--annotation=summary=disk full on db1")
    am.run("alert", "add", "alertname=DiskFull", "instance=db2", "severity=warning")

    # Query with matchers: the active, unsilenced one by default; -s adds the silenced one.
    got = am.json("alert", "query", "alertname=DiskFull")
    assert [a["labels"]["instance"] for a in got] == ["db1"], got
    assert got[0]["receivers"] == [{"name": "dba"}, {"name": "sre"}]
    got = am.json("alert", "query", "-s", "instance=~db.*")
    silenced = [a for a in got if a["labels"]["instance"] == "db2"]
    assert silenced and silenced[0]["status"]["silencedBy"] == [sid], got
    assert silenced[0]["status"]["state"] == "suppressed"

    # db1 pages (two routes: dba with continue, then sre); the silenced db2 does not.
    for route_key in ['{}/{severity="critical"}', '{}/{instance=~"db.*"}']:
        key = f'{route_key}:{{alertname="DiskFull", instance="db1"}}'
        a = wait_for(f"the Klaxon alert of {key}", lambda: group_alert(klaxon, key))
        assert a["message"] == "disk full on db1"
    time.sleep(2.5)  # two more group_interval ticks
    assert group_alert(klaxon, '{}/{instance=~"db.*"}:{alertname="DiskFull", instance="db2"}') is None

    # Silences: query (with a matcher), then expire.
    listed = am.json("silence", "query", "instance=db2")
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["createdBy"] == "alice" and listed[0]["status"]["state"] == "active"
    am.run("silence", "expire", sid)
    assert am.json("silence", "query") == []  # amtool hides expired silences
    expired = am.json("silence", "query", "--expired")
    assert [s["id"] for s in expired] == [sid]
    # With the silence gone the db2 group pages at its next tick.
    wait_for("db2 pages once unsilenced", lambda: group_alert(
        klaxon, '{}/{instance=~"db.*"}:{alertname="DiskFull", instance="db2"}'))

    # config routes test reads the routing tree from /api/v2/status.
    r = am.run("config", "routes", "test", "severity=critical", "instance=db1")
    assert r.stdout.strip() == "dba,sre", r.stdout
    r = am.run("config", "routes", "test", "instance=web1")
    assert r.stdout.strip() == "sre", r.stdout
    r = am.run("config", "routes", "test", "--verify.receivers=sre", "severity=critical", ok=False)
    assert r.returncode == 1

    # The same answers from the config file with klaxon's own command.
    cfg = klaxon.tmp / f"{klaxon.name}.yaml"
    for labels, want in [(["severity=critical", "instance=db1"], "dba,sre"), (["instance=web1"], "sre")]:
        r = subprocess.run([str(KLAXON_BIN), "routes", "test", "--config", str(cfg), *labels],
                           capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout.strip()) == (0, want), r.stderr
    r = subprocess.run([str(KLAXON_BIN), "routes", "test", "--config", str(cfg), "--verify-receivers=sre",
                        "severity=critical"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stdout


def test_amtool_needs_a_key_unless_loopback_is_allowed(klaxon_factory, tmp_path):
    strict = klaxon_factory(extra={"route": AMTOOL_ROUTE})
    r = Amtool(tmp_path, strict.base_url, None).run("alert", "query", ok=False)
    assert r.returncode != 0
    r = requests.get(f"{strict.base_url}/api/v2/alerts", timeout=10)
    assert r.status_code == 401
    assert requests.get(f"{strict.base_url}/api/v2/alerts", params={"apiKey": GLOBAL_KEY},
                        timeout=10).status_code == 200

    open_ = klaxon_factory(extra={"route": AMTOOL_ROUTE, "alertmanager": {"allow_anonymous_loopback": True}})
    am = Amtool(tmp_path, open_.base_url, None)
    am.run("alert", "add", "alertname=Anon", "instance=x")
    assert [a["labels"]["alertname"] for a in am.json("alert", "query")] == ["Anon"]
    # A wrong key is refused even from loopback.
    r = requests.get(f"{open_.base_url}/api/v2/alerts", headers={"Authorization": "Bearer nope-nope"},
                     timeout=10)
    assert r.status_code == 401
