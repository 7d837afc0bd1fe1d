"""Config reload on a real `klaxon serve`: SIGHUP (and `POST /-/reload`) apply an edited file
without a restart; a broken file is refused and the running config stays. The routing tree is
checked with the real `amtool config routes test`, which reads it from `/api/v2/status`."""
from __future__ import annotations

import re
import signal
import time

import requests

from conftest import GLOBAL_KEY
from test_alertmanager_api import Amtool

ROUTE = {"receiver": "sre", "group_by": ["alertname"]}


def wait_for(what, check, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def user_exists(k, name: str) -> bool:
    return k.og("GET", f"/v2/users/{name}").status_code == 200


def test_sighup_and_reload_endpoint(klaxon_factory, tmp_path):
    k = klaxon_factory(extra={"route": ROUTE})
    am = Amtool(tmp_path, k.base_url, GLOBAL_KEY)
    assert am.run("config", "routes", "test", "team=dba").stdout.strip() == "sre"
    assert not user_exists(k, "carol@example.com")

    # Edit the file: a new user and a route for the dba team; SIGHUP.
    rewrite = k.write_config  # same port and database
    k.extra = {
        "route": {**ROUTE, "routes": [{"matchers": ['team="dba"'], "receiver": "dba"}]},
        "users": [
            {"username": "alice@example.com", "full_name": "Alice", "role": "admin"},
            {"username": "bob@example.com", "full_name": "Bob"},
            {"username": "carol@example.com", "full_name": "Carol"},
        ],
    }
    rewrite()
    k.proc.send_signal(signal.SIGHUP)
    wait_for("carol after SIGHUP", lambda: user_exists(k, "carol@example.com"))
    assert am.run("config", "routes", "test", "team=dba").stdout.strip() == "dba"
    assert k.proc.poll() is None, "SIGHUP must not stop the server"

    # A broken file: SIGHUP logs the error and changes nothing; /-/reload says why (500).
    cfg = k.tmp / f"{k.name}.yaml"
    good = cfg.read_text()
    cfg.write_text(good.rstrip().rstrip("}") + ', "heartbeats": [{"name": "x", "interval": "banana"}]}\n')
    k.proc.send_signal(signal.SIGHUP)
    wait_for("the reload error in the log", lambda: "config reload failed" in k.log_text())
    assert k.proc.poll() is None
    assert user_exists(k, "carol@example.com")
    assert am.run("config", "routes", "test", "team=dba").stdout.strip() == "dba"
    r = requests.post(f"{k.base_url}/-/reload", headers={"Authorization": f"Bearer {GLOBAL_KEY}"}, timeout=10)
    assert r.status_code == 500, r.text
    assert r.text.startswith("failed to reload config: ") and re.search(r"\.yaml:\d+: ", r.text) and "banana" in r.text, r.text
    metrics = requests.get(f"{k.base_url}/metrics", timeout=10).text
    assert "klaxon_config_last_reload_successful 0" in metrics, metrics

    # Fixed again, through the endpoint: bob leaves the file and the organisation.
    k.extra["users"] = [u for u in k.extra["users"] if u["username"] != "bob@example.com"]
    k.extra["teams"] = [{"name": "sre", "members": ["alice@example.com"]}, {"name": "dba", "members": []}]
    rewrite()
    r = requests.post(f"{k.base_url}/-/reload", headers={"Authorization": f"Bearer {GLOBAL_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert not user_exists(k, "bob@example.com")
    metrics = requests.get(f"{k.base_url}/metrics", timeout=10).text
    assert "klaxon_config_last_reload_successful 1" in metrics, metrics
