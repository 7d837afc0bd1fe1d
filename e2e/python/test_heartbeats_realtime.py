"""Heartbeats in real time (issue 5, done-when 5): the real binary, the wall clock, a 2-second
interval declared in the config file. Without pings the heartbeat expires and opens its alert;
the next ping closes it; pinging within the interval keeps it quiet. (The same behaviour on the
virtual clock: crates/server/tests/api/heartbeats.rs and config_heartbeats.rs.)"""

from __future__ import annotations

import time

from conftest import GLOBAL_KEY

INTERVAL = 2.0


def _alert(k, name: str):
    r = k.og("GET", f"/v2/alerts/heartbeat-{name}", params={"identifierType": "alias"})
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _wait(what: str, check, timeout: float):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_expiry_and_recovery_in_real_time(klaxon_factory):
    k = klaxon_factory(extra={"heartbeats": [
        {"name": "cron-job", "interval": "2s", "owner_team": "sre", "alert_priority": "P2",
         "alert_message": "cron-job stopped reporting"},
    ]})
    r = k.og("GET", "/v2/heartbeats/cron-job")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["interval"] == 2 and r.json()["data"]["intervalUnit"] == "seconds", r.text

    # Pinged every second for 4 s (twice the interval): never expires.
    started = time.monotonic()
    while time.monotonic() - started < 2 * INTERVAL:
        r = k.og("POST", "/v2/heartbeats/cron-job/ping")
        assert r.status_code == 202, r.text
        time.sleep(INTERVAL / 2)
    assert _alert(k, "cron-job") is None, "expired although pinged within its interval"

    # Silence: the alert opens about one interval after the last ping (worker sleeps until due).
    last_ping = time.monotonic()
    assert k.og("GET", "/v2/heartbeats/cron-job/ping").status_code == 202
    alert = _wait("the expiry alert", lambda: (a := _alert(k, "cron-job")) and a["status"] == "open" and a,
                  timeout=INTERVAL + 5)
    opened_after = time.monotonic() - last_ping
    assert opened_after >= INTERVAL - 0.1, f"opened {opened_after:.2f} s after the ping (interval {INTERVAL} s)"
    assert alert["message"] == "cron-job stopped reporting"
    assert alert["priority"] == "P2"
    r = k.og("GET", "/v2/heartbeats/cron-job")
    assert r.json()["data"]["expired"] is True, r.text

    # Recovery: a ping (any method, here with the key as a query parameter) closes it.
    r = k.og("PUT", "/v2/heartbeats/cron-job/ping", key=None, params={"apiKey": GLOBAL_KEY})
    assert r.status_code == 202, r.text
    _wait("the ping closes the alert", lambda: (_alert(k, "cron-job") or {}).get("status") == "closed",
          timeout=5)
    assert k.og("GET", "/v2/heartbeats/cron-job").json()["data"]["expired"] is False

    # And it expires again after another silent interval: a new alert, the old one stays closed.
    first_id = alert["id"]
    again = _wait("the second expiry", lambda: (a := _alert(k, "cron-job")) and a["status"] == "open" and a,
                  timeout=INTERVAL + 5)
    assert again["id"] != first_id


def test_check_config_reports_heartbeat_and_webhook_mapping_errors_with_lines(tmp_path):
    """`klaxon check-config` (the real binary) on the `heartbeats:` section and a webhook
    integration's `mapping:`: each error as FILE:LINE."""
    import os
    import subprocess

    from conftest import KLAXON_BIN

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "teams:\n"                                     # 1
        "  - name: sre\n"                              # 2
        "integrations:\n"                              # 3
        "  - name: grafana\n"                          # 4
        "    type: webhook\n"                          # 5
        "    api_key: grafana-key-0001\n"              # 6
        "    mapping:\n"                               # 7
        "      message: title\n"                       # 8  not a pointer
        "heartbeats:\n"                                # 9
        "  - name: backup\n"                           # 10
        "    interval: 30x\n"                          # 11 bad duration
        "  - name: cron\n"                             # 12
        "    interval: 1m\n"                           # 13
        "    owner_team: web\n"                        # 14 unknown team
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    r = subprocess.run([str(KLAXON_BIN), "check-config", str(bad)], capture_output=True, text=True,
                       timeout=20, env=env, stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert f"{bad}:8:" in out and "mapping.message" in out, out
    assert f"{bad}:11:" in out and "30x" in out, out
    assert f"{bad}:14:" in out and "owner_team" in out, out

    good = tmp_path / "good.yaml"
    good.write_text(bad.read_text().replace("title", "/title").replace("30x", "30s")
                    .replace("owner_team: web", "owner_team: sre"))
    r = subprocess.run([str(KLAXON_BIN), "check-config", str(good)], capture_output=True, text=True,
                       timeout=20, env=env, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
