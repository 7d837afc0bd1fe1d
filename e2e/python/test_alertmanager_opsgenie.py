"""The real Alertmanager 0.25 (Debian `prometheus-alertmanager`) with `opsgenie_configs` pointing at
Klaxon under a path prefix, `update_alerts: true`; alerts injected with the real `amtool`."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from conftest import GLOBAL_KEY, PROM_KEY
from real_alertmanager import Alertmanager, rfc3339, wait_for


AM_CONFIG = """\
route:
  receiver: klaxon
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
- name: klaxon
  opsgenie_configs:
  - api_url: {api_url}
    api_key: "{api_key}"
    update_alerts: true
    send_resolved: true
    message: '{{{{ .CommonLabels.alertname }}}}: {{{{ len .Alerts.Firing }}}} firing{{{{ if .CommonLabels.instance }}}} on {{{{ .CommonLabels.instance }}}}{{{{ end }}}}: {{{{ .CommonAnnotations.summary }}}}'
    priority: '{{{{ if eq .CommonLabels.severity "critical" }}}}P1{{{{ else }}}}P3{{{{ end }}}}'
    tags: 'prod,{{{{ .CommonLabels.severity }}}}'
    details:
      runbook: 'https://runbooks.example.com/{{{{ .CommonLabels.alertname }}}}'
    responders:
    - type: team
      name: sre
"""


def test_alertmanager_opsgenie_config_creates_and_closes(klaxon_factory, tmp_path, request):
    k = klaxon_factory(opsgenie_prefix="/og")
    am = Alertmanager(tmp_path, AM_CONFIG.format(api_url=f"{k.base_url}/og/", api_key=PROM_KEY))
    request.addfinalizer(am.stop)

    # Group key of the root route grouped by alertname; Alertmanager's alias = sha256 hex of it.
    alias = hashlib.sha256(b'{}:{alertname="DiskFull"}').hexdigest()

    def get_alert():
        r = k.og("GET", f"/v2/alerts/{alias}", params={"identifierType": "alias"}, key=GLOBAL_KEY)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()["data"]

    now = datetime.now(timezone.utc)
    am.amtool("alert", "add", "alertname=DiskFull", "severity=critical", "instance=db1",
              "--annotation=summary=disk 95% full",
              f"--start={rfc3339(now - timedelta(seconds=5))}",
              f"--end={rfc3339(now + timedelta(minutes=10))}")

    want_message = "DiskFull: 1 firing on db1: disk 95% full"
    a = wait_for("the Klaxon alert with the templated message",
                 lambda: (lambda d: d if d and d.get("message") == want_message else None)(get_alert()), am=am)
    assert a["alias"] == alias
    assert a["status"] == "open"
    assert a["priority"] == "P1"
    assert set(a["tags"]) == {"prod", "critical"}, a["tags"]
    assert a["details"] == {
        "alertname": "DiskFull", "severity": "critical", "instance": "db1",
        "runbook": "https://runbooks.example.com/DiskFull",
    }, a["details"]
    assert a["source"] == f"{am.url}/#/alerts?receiver=klaxon"
    assert a["description"].startswith("disk 95% full\nAlerts Firing:"), a["description"]
    teams = [r for r in a["responders"] if r["type"] == "team"]
    assert len(teams) == 1 and teams[0]["id"], a["responders"]
    assert a["integration"]["name"] == "prom"

    # The team responder is the team called sre: same id as an SDK-style {"name": "sre"} responder.
    r = k.og("POST", "/v2/alerts", key=GLOBAL_KEY,
             json={"message": "reference", "alias": "ref-sre", "responders": [{"name": "sre"}]})
    assert r.status_code == 202, r.text
    ref = k.og("GET", "/v2/alerts/ref-sre", params={"identifierType": "alias"}).json()["data"]
    assert [x["id"] for x in ref["responders"] if x["type"] == "team"] == [teams[0]["id"]]

    # Exactly one Klaxon alert came from Alertmanager (create + 2 updates, no duplicates).
    listed = [x for x in k.og("GET", "/v2/alerts", params={"limit": 100}).json()["data"]
              if x["alias"] != "ref-sre"]
    assert [x["alias"] for x in listed] == [alias], listed
    assert listed[0]["count"] == 1

    # A second alert joins the group: Alertmanager re-sends the create (same alias → de-duplicated,
    # count 2, message kept) and then, with update_alerts, PUTs the new message and description.
    now = datetime.now(timezone.utc)
    am.amtool("alert", "add", "alertname=DiskFull", "severity=critical", "instance=db2",
              "--annotation=summary=disk 95% full",
              f"--start={rfc3339(now - timedelta(seconds=5))}",
              f"--end={rfc3339(now + timedelta(minutes=10))}")
    want_message = "DiskFull: 2 firing: disk 95% full"
    # Alertmanager sends the new message and the new description as two requests, one after
    # the other: wait for both.
    b = wait_for("update_alerts to change the message and the description",
                 lambda: (lambda d: d if d and d.get("message") == want_message
                          and "instance = db2" in d.get("description", "") else None)(get_alert()), am=am)
    assert b["id"] == a["id"]
    assert b["count"] == 2, b["count"]
    assert "instance = db2" in b["description"], b["description"]
    assert b["status"] == "open"
    listed = [x for x in k.og("GET", "/v2/alerts", params={"limit": 100}).json()["data"]
              if x["alias"] != "ref-sre"]
    assert [x["alias"] for x in listed] == [alias], listed

    # Resolve both: an endsAt in the past resolves an alert; when the whole group is resolved,
    # Alertmanager sends close by alias.
    now = datetime.now(timezone.utc)
    for inst in ("db1", "db2"):
        am.amtool("alert", "add", "alertname=DiskFull", "severity=critical", f"instance={inst}",
                  "--annotation=summary=disk 95% full",
                  f"--start={rfc3339(now - timedelta(seconds=5))}",
                  f"--end={rfc3339(now - timedelta(seconds=1))}")
    closed = wait_for("the Klaxon alert to be closed",
                      lambda: (lambda d: d if d and d["status"] == "closed" else None)(get_alert()), am=am)
    assert closed["id"] == a["id"]

    # Every request Alertmanager sent was accepted (a 4xx would count as a failed notification).
    assert am.metric("alertmanager_notifications_total", integration="opsgenie") >= 3
    assert am.metric("alertmanager_notifications_failed_total", integration="opsgenie") == 0, \
        am.log.read_text()[-6000:]
