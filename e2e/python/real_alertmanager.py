"""The real Alertmanager 0.25 (Debian `prometheus-alertmanager`) started with any config text, and
the real `amtool` against it. Loopback only, no cluster port, temporary storage."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from conftest import free_port

DEADLINE = 15.0  # seconds; configs in these tests use group_wait/group_interval of 1s


def _bin(name: str) -> str:
    p = shutil.which(name)
    if not p:
        pytest.fail(f"{name} not found (Debian package prometheus-alertmanager)", pytrace=False)
    return p


class Alertmanager:
    def __init__(self, tmp: Path, config: str):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "am.yml").write_text(config)
        self.log = tmp / "alertmanager.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [_bin("prometheus-alertmanager"),
                 f"--config.file={tmp / 'am.yml'}",
                 f"--storage.path={tmp / 'am-data'}",
                 "--cluster.listen-address=",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 f"--web.external-url={self.url}/",
                 "--log.level=debug"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"alertmanager exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"alertmanager not ready:\n{self.log.read_text()}")

    def amtool(self, *args: str) -> str:
        r = subprocess.run([_bin("amtool"), f"--alertmanager.url={self.url}", *args],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"amtool {args} failed: {r.stdout}{r.stderr}"
        return r.stdout

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in requests.get(self.url + "/metrics", timeout=5).text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def log_tail(self, n: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rfc3339(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for(what: str, fn, deadline: float = DEADLINE, am: Alertmanager | None = None):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    extra = f"\nalertmanager log:\n{am.log_tail()}" if am else ""
    raise AssertionError(f"timed out after {deadline}s waiting for {what}{extra}")
