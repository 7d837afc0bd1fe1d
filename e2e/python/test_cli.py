"""The binary as a person runs it: no-config start, check-config, version, health, SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import requests

from conftest import GLOBAL_KEY, KLAXON_BIN, free_port


def run(*args: str, cwd=None, timeout: float = 20) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    return subprocess.run([str(KLAXON_BIN), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env, stdin=subprocess.DEVNULL)


def _stop(p: subprocess.Popen) -> int:
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("klaxon did not exit within 10 s of SIGTERM")


def test_version():
    r = run("version")
    assert r.returncode == 0, r.stderr
    assert re.search(r"\d+\.\d+\.\d+", r.stdout + r.stderr), r.stdout + r.stderr


def test_check_config_reports_line_numbers(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "listen: 127.0.0.1:9999\n"
        "users:\n"
        "  - {username: alice@example.com, full_name: Alice, role: admin, time_zone: Europe/Berlin}\n"
        "teams:\n"
        "  - {name: sre, members: [alice@example.com]}\n"
        "integrations:\n"
        "  - {name: prom, type: api, api_key: \"0123-abcd\", team: sre, priority: P2, tags: [prod]}\n"
    )
    r = run("check-config", str(good))
    assert r.returncode == 0, r.stdout + r.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "listen: 127.0.0.1:9999\n"
        "teams:\n"
        "  - name: sre\n"
        "integrations:\n"
        "  - name: prom\n"
        "    type: api\n"
        "    api_key: k\n"
        "    priority: P9\n"  # line 8
    )
    r = run("check-config", str(bad))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "priority" in out, f"the error does not name the field: {out}"
    assert re.search(r"\b8\b", out), f"no line number 8 (the `priority: P9` line) in: {out}"


def test_runs_without_config_and_prints_an_admin_key_once(tmp_path):
    """`klaxon` (as `cargo run --release` starts it) with no config: SQLite ./klaxon.db and a printed
    admin key that works; `klaxon serve` later reuses the database and does not print the key again."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env["KLAXON_LISTEN"] = f"127.0.0.1:{port}"
    base = f"http://127.0.0.1:{port}"

    def start(n: int, *args: str):
        log = tmp_path / f"serve-{n}.log"
        out = open(log, "wb")
        p = subprocess.Popen([str(KLAXON_BIN), *args], cwd=tmp_path, env=env, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            assert p.poll() is None, log.read_text()
            try:
                if requests.get(base + "/readyz", timeout=1).status_code == 200:
                    return p, log
            except requests.RequestException:
                pass
            time.sleep(0.05)
        p.kill()
        raise AssertionError(f"not ready: {log.read_text()}")

    # No arguments at all: what the README's `cargo run --release` runs.
    p, log = start(1)
    try:
        assert (tmp_path / "klaxon.db").exists()
        text = log.read_text()
        candidates = set(re.findall(r"[A-Za-z0-9_\-]{16,}", text))
        working = [c for c in candidates
                   if requests.get(base + "/v2/alerts", headers={"Authorization": f"GenieKey {c}"},
                                   timeout=5).status_code == 200]
        assert len(working) == 1, f"no printed admin API key works; output:\n{text}"
        key = working[0]
        r = requests.post(base + "/v2/alerts", json={"message": "hello"},
                          headers={"Authorization": f"GenieKey {key}"}, timeout=5)
        assert r.status_code == 202, r.text
    finally:
        _stop(p)

    p, log = start(2, "serve")
    try:
        assert key not in log.read_text(), "the admin key must be printed only once"
        r = requests.get(base + "/v2/alerts/count", headers={"Authorization": f"GenieKey {key}"}, timeout=5)
        assert r.status_code == 200 and r.json()["data"]["count"] == 1, r.text
    finally:
        _stop(p)


def test_health_metrics_and_graceful_sigterm(klaxon):
    assert requests.get(klaxon.base_url + "/healthz", timeout=5).status_code == 200
    for i in range(3):
        r = klaxon.og("POST", "/v2/alerts", json={"message": f"m{i}", "alias": "same"})
        assert r.status_code == 202, r.text
    m = requests.get(klaxon.base_url + "/metrics", timeout=5)
    assert m.status_code == 200
    assert m.headers["content-type"].startswith("text/plain"), m.headers
    assert "# TYPE" in m.text and "klaxon" in m.text, m.text[:2000]

    t0 = time.monotonic()
    code = klaxon.stop(timeout=10)
    assert code == 0, f"SIGTERM should exit 0, got {code}:\n{klaxon.log_text()}"
    assert time.monotonic() - t0 < 5, "graceful shutdown took more than 5 s"

    klaxon.start()
    r = klaxon.og("GET", "/v2/alerts/same", params={"identifierType": "alias"}, key=GLOBAL_KEY)
    assert r.status_code == 200 and r.json()["data"]["count"] == 3, r.text
