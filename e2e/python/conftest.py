"""Fixtures for the end-to-end tests: a real `klaxon serve` on a free loopback port with a fresh
database (SQLite file or a new PostgreSQL database), for both backends.

Environment (set by scripts/test):
  KLAXON_BIN                    path of the binary (default: target/release/klaxon)
  KLAXON_TEST_POSTGRES          postgres://… of the throw-away test cluster (required: no skipping)
  KLAXON_TEST_POSTGRES_DURABLE  a cluster with PostgreSQL's default fsync settings (SIGKILL test);
                                falls back to KLAXON_TEST_POSTGRES
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
KLAXON_BIN = Path(os.environ.get("KLAXON_BIN", ROOT / "target" / "release" / "klaxon"))
BACKENDS = ["sqlite", "postgres"]

# Keys and objects every test server knows.
PROM_KEY = "0123-abcd"  # team sre, defaults P2 + tag prod
DBA_KEY = "dba-key-4567"  # team dba
GLOBAL_KEY = "global-key"  # no team: global

BASE_OBJECTS = {
    "users": [
        {"username": "alice@example.com", "full_name": "Alice", "role": "admin", "time_zone": "Europe/Berlin"},
        {"username": "bob@example.com", "full_name": "Bob", "role": "user", "time_zone": "UTC"},
    ],
    "teams": [
        {"name": "sre", "members": ["alice@example.com"]},
        {"name": "dba", "members": ["bob@example.com"]},
    ],
    "integrations": [
        {"name": "prom", "type": "api", "api_key": PROM_KEY, "team": "sre", "priority": "P2", "tags": ["prod"]},
        {"name": "dbkey", "type": "api", "api_key": DBA_KEY, "team": "dba"},
        {"name": "global", "type": "api", "api_key": GLOBAL_KEY},
    ],
}

READY_DEADLINE = 20.0  # seconds for `serve` to answer /readyz 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------
# PostgreSQL: one fresh database per server fixture, through psql (no Python driver needed)
# ------------------------------------------------------------------------------------------------


def _psql() -> str:
    found = shutil.which("psql")
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "psql").exists():
            return str(d / "psql")
    raise RuntimeError("psql not found (install the Debian package postgresql)")


def _pg_admin(url: str, sql: str) -> None:
    r = subprocess.run(
        [_psql(), url, "-v", "ON_ERROR_STOP=1", "-q", "-X", "-c", sql],
        capture_output=True, text=True, timeout=60,
    )
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")


def _with_db(url: str, db: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + db, p.query, p.fragment))


def postgres_base_url(durable: bool = False) -> str:
    url = os.environ.get("KLAXON_TEST_POSTGRES_DURABLE") if durable else None
    url = url or os.environ.get("KLAXON_TEST_POSTGRES")
    if not url:
        pytest.fail(
            "KLAXON_TEST_POSTGRES is not set: the PostgreSQL half of the e2e suite cannot run "
            "(run `scripts/test e2e`, which starts a throw-away PostgreSQL)",
            pytrace=False,
        )
    return url


class Database:
    """A fresh, empty database for one backend; `url` is what goes into klaxon's config."""

    def __init__(self, backend: str, tmp: Path, durable: bool = False):
        self.backend = backend
        self._drop = None
        if backend == "sqlite":
            self.url = f"sqlite://{tmp / 'klaxon.db'}"
        elif backend == "postgres":
            base = postgres_base_url(durable)
            name = "t_" + uuid.uuid4().hex
            _pg_admin(base, f'CREATE DATABASE "{name}"')
            self.url = _with_db(base, name)
            self._drop = (base, name)
        else:  # pragma: no cover
            raise ValueError(backend)

    def drop(self) -> None:
        if self._drop:
            base, name = self._drop
            self._drop = None
            try:
                _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001 — cleanup must not hide the test result
                print(f"warning: could not drop {name}: {e}")


# ------------------------------------------------------------------------------------------------
# The server
# ------------------------------------------------------------------------------------------------


class Klaxon:
    """One `klaxon serve --config FILE` process. Restartable on the same database."""

    def __init__(self, tmp: Path, db: Database, opsgenie_prefix: str | None = None,
                 extra: dict | None = None, name: str = "klaxon"):
        self.tmp = tmp
        self.db = db
        self.prefix = opsgenie_prefix or ""
        self.extra = extra or {}
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0
        self.logs: list[Path] = []

    # -- urls -------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def og_url(self) -> str:
        """Base URL of the OpsGenie API (with the prefix, without /v2)."""
        return self.base_url + self.prefix

    # -- lifecycle --------------------------------------------------------------------------------
    def write_config(self) -> Path:
        cfg = {
            "listen": f"127.0.0.1:{self.port}",
            "public_url": self.base_url,
            "database": self.db.url,
        }
        if self.prefix:
            cfg["opsgenie_prefix"] = self.prefix
        cfg.update(BASE_OBJECTS)
        cfg.update(self.extra)
        path = self.tmp / f"{self.name}.yaml"
        # JSON is valid YAML; it keeps the file exact without a YAML library.
        path.write_text(json.dumps(cfg, indent=2) + "\n")
        return path

    def start(self) -> "Klaxon":
        if not KLAXON_BIN.exists():
            pytest.fail(f"{KLAXON_BIN} does not exist: run `cargo build --release -p klaxon`", pytrace=False)
        self.port = free_port()
        cfg = self.write_config()
        self.starts += 1
        log = self.tmp / f"{self.name}-{self.starts}.log"
        self.logs.append(log)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
        env.setdefault("RUST_LOG", "info")
        env["RUST_BACKTRACE"] = "1"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(KLAXON_BIN), "serve", "--config", str(cfg)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.tmp, env=env,
            )
        self.wait_ready()
        return self

    def wait_ready(self, deadline: float = READY_DEADLINE) -> None:
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                pytest.fail(f"klaxon exited with code {self.proc.returncode} before it was ready:\n{self.log_text()}",
                            pytrace=False)
            try:
                r = requests.get(self.base_url + "/readyz", timeout=1)
                if r.status_code == 200:
                    return
                last = f"/readyz answered {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"klaxon not ready within {deadline}s ({last}):\n{self.log_text()}", pytrace=False)

    def kill(self) -> None:
        """SIGKILL, no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (graceful), then SIGKILL after `timeout`. Returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def restart(self) -> "Klaxon":
        self.stop()
        return self.start()

    def log_text(self, limit: int = 20000) -> str:
        parts = []
        for p in self.logs:
            try:
                t = p.read_text(errors="replace")
            except FileNotFoundError:
                continue
            if len(t) > limit:
                t = "…(truncated)…\n" + t[-limit:]
            parts.append(f"--- {p.name} ---\n{t}")
        return "\n".join(parts)

    # -- HTTP helpers -----------------------------------------------------------------------------
    def og(self, method: str, path: str, key: str | None = GLOBAL_KEY, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if key is not None:
            headers.setdefault("Authorization", f"GenieKey {key}")
        kw.setdefault("timeout", 10)
        return requests.request(method, self.og_url + path, headers=headers, **kw)


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def klaxon_factory(request, backend, tmp_path):
    """Start servers: `klaxon_factory(opsgenie_prefix='/og', durable=False, extra={...})`.
    Each call gets a fresh database. All are stopped (and databases dropped) afterwards;
    their output is attached to the report of a failing test."""
    servers: list[Klaxon] = []
    dbs: list[Database] = []
    request.node.stash[_SERVERS] = servers

    def make(opsgenie_prefix: str | None = None, durable: bool = False, extra: dict | None = None,
             start: bool = True) -> Klaxon:
        n = len(servers)
        d = tmp_path / f"k{n}"
        d.mkdir()
        db = Database(backend, d, durable=durable)
        dbs.append(db)
        k = Klaxon(d, db, opsgenie_prefix=opsgenie_prefix, extra=extra, name=f"klaxon-{backend}-{n}")
        servers.append(k)
        return k.start() if start else k

    yield make
    for k in servers:
        k.stop()
    for db in dbs:
        db.drop()


@pytest.fixture
def klaxon(klaxon_factory) -> Klaxon:
    """A running server with the base objects and no path prefix."""
    return klaxon_factory()


_SERVERS = pytest.StashKey[list]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for k in item.stash.get(_SERVERS, []):
            text = k.log_text()
            if text:
                rep.sections.append((f"{k.name} output ({k.db.backend})", text))


def pytest_sessionfinish(session, exitstatus):
    """Skips are failures here: a suite that silently skips proves nothing."""
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None and tr.stats.get("skipped") and session.exitstatus == 0:
        tr.write_line("ERROR: tests were skipped; skips count as failures in the Klaxon suite", red=True)
        session.exitstatus = 1
