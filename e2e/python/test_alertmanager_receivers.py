"""The real Alertmanager 0.25 keeps running and adds Klaxon as a receiver two ways:
`webhook_configs` (Klaxon's /api/integrations/alertmanager, key as a Bearer token through
`http_config`) and `pagerduty_configs` (`url:` pointing at Klaxon's /v2/enqueue, routing key = a
Klaxon key). Alerts are injected with the real `amtool`; each group becomes one Klaxon alert and
resolving the group closes it."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from conftest import BASE_OBJECTS, GLOBAL_KEY
from real_alertmanager import Alertmanager, rfc3339, wait_for

AM_KEY = "am-webhook-key-01"  # team sre
PD_KEY = "pd-routing-key-01"

INTEGRATIONS = BASE_OBJECTS["integrations"] + [
    {"name": "am", "type": "alertmanager", "api_key": AM_KEY, "team": "sre"},
    {"name": "pd", "type": "pagerduty", "api_key": PD_KEY},
]

AM_CONFIG = """\
route:
  receiver: klaxon-webhook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
  - receiver: klaxon-pagerduty
    matchers: ['alertname="QueueStuck"']
receivers:
- name: klaxon-webhook
  webhook_configs:
  - url: {base}/api/integrations/alertmanager
    send_resolved: true
    http_config:
      authorization:
        credentials: "{am_key}"
- name: klaxon-pagerduty
  pagerduty_configs:
  - url: {base}/v2/enqueue
    routing_key: "{pd_key}"
    send_resolved: true
    description: '{{{{ .CommonAnnotations.summary }}}}'
    severity: '{{{{ .CommonLabels.severity }}}}'
    details:
      runbook: '{{{{ .CommonAnnotations.runbook_url }}}}'
"""


def add_alert(am: Alertmanager, *labels: str, summary: str, resolved: bool = False, **annotations: str):
    now = datetime.now(timezone.utc)
    end = now - timedelta(seconds=1) if resolved else now + timedelta(minutes=10)
    args = [f"--annotation=summary={summary}"] + [f"--annotation={k}={v}" for k, v in annotations.items()]
    am.amtool("alert", "add", *labels, *args,
              f"--start={rfc3339(now - timedelta(seconds=5))}", f"--end={rfc3339(end)}")


def test_webhook_and_pagerduty_receivers_open_and_close_klaxon_alerts(klaxon_factory, tmp_path, request):
    k = klaxon_factory(extra={"integrations": INTEGRATIONS})
    am = Alertmanager(tmp_path, AM_CONFIG.format(base=k.base_url, am_key=AM_KEY, pd_key=PD_KEY))
    request.addfinalizer(am.stop)

    def alerts() -> list[dict]:
        r = k.og("GET", "/v2/alerts", params={"limit": 100}, key=GLOBAL_KEY)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def full(alert_id: str) -> dict:
        r = k.og("GET", f"/v2/alerts/{alert_id}", key=GLOBAL_KEY)
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def one_from(integration: str, status: str = "open"):
        found = [a for a in alerts() if a["integration"]["name"] == integration and a["status"] == status]
        return full(found[0]["id"]) if len(found) == 1 else None

    # --- webhook_configs: root route, group {alertname="DiskFull"} ---------------------------------
    add_alert(am, "alertname=DiskFull", "severity=critical", "instance=db1", summary="disk 95% full",
              description="db1 at 95%", runbook_url="https://runbooks.example.com/disk")
    hook = wait_for("the webhook's Klaxon alert", lambda: one_from("am"), am=am)
    assert hook["alias"] == hashlib.sha256(b'{}:{alertname="DiskFull"}').hexdigest()
    assert hook["message"] == "disk 95% full"
    assert hook["priority"] == "P1"
    assert hook["tags"] == ["DiskFull", "critical"], hook["tags"]
    assert hook["details"] == {
        "alertname": "DiskFull", "severity": "critical", "instance": "db1",
        "runbook_url": "https://runbooks.example.com/disk",
    }, hook["details"]
    assert hook["description"].startswith("db1 at 95%\n\nFiring (1):"), hook["description"]
    assert hook["source"].startswith(am.url), hook["source"]
    assert [r["type"] for r in hook["responders"]] == ["team"], hook["responders"]

    # A second member joins the group: still one alert, brought up to date.
    add_alert(am, "alertname=DiskFull", "severity=critical", "instance=db2", summary="disk 95% full",
              description="db2 at 97%", runbook_url="https://runbooks.example.com/disk")
    grown = wait_for("the webhook alert to count the second member",
                     lambda: (lambda a: a if a and a["message"] == "disk 95% full (2 firing)" else None)(one_from("am")),
                     am=am)
    assert grown["id"] == hook["id"]
    assert "instance" not in grown["details"], grown["details"]
    assert "- instance=db2: db2 at 97%" in grown["description"], grown["description"]

    # --- pagerduty_configs: child route, dedup key = sha256 of its group key ----------------------
    add_alert(am, "alertname=QueueStuck", "severity=warning", "queue=payments", summary="payments queue stuck",
              runbook_url="https://runbooks.example.com/queue")
    pd = wait_for("the PagerDuty receiver's Klaxon alert", lambda: one_from("pd"), am=am)
    assert len(pd["alias"]) == 64 and pd["alias"] != hook["alias"]
    assert pd["message"] == "payments queue stuck"
    assert pd["priority"] == "P3"
    assert pd["integration"]["type"] == "PagerDuty"
    assert pd["details"]["severity"] == "warning", pd["details"]
    assert pd["details"]["runbook"] == "https://runbooks.example.com/queue", pd["details"]
    assert pd["details"]["num_firing"] == "1", pd["details"]

    # --- both groups resolve: both alerts close ---------------------------------------------------
    for inst in ("db1", "db2"):
        add_alert(am, "alertname=DiskFull", "severity=critical", f"instance={inst}", summary="disk 95% full",
                  resolved=True, description=f"{inst}", runbook_url="https://runbooks.example.com/disk")
    add_alert(am, "alertname=QueueStuck", "severity=warning", "queue=payments", summary="payments queue stuck",
              resolved=True, runbook_url="https://runbooks.example.com/queue")
    wait_for("both Klaxon alerts to close",
             lambda: one_from("am", "closed") and one_from("pd", "closed"), am=am)
    assert full(hook["id"])["status"] == "closed"
    assert full(pd["id"])["status"] == "closed"
    assert len(alerts()) == 2, alerts()

    # Every notification was accepted (a 4xx would count as failed and never be retried).
    for integration in ("webhook", "pagerduty"):
        assert am.metric("alertmanager_notifications_total", integration=integration) >= 2, integration
        assert am.metric("alertmanager_notifications_failed_total", integration=integration) == 0, \
            am.log_tail()
