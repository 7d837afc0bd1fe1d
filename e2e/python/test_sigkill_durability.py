"""A 202 means committed: SIGKILL the server in the middle of a create load, restart it on the same
database, and check that every alias whose create was answered 202 exists."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import GLOBAL_KEY

THREADS = 8
LOAD_SECONDS = 2.0
MAX_REQUESTS = 200_000  # bound on the loop whatever happens


def test_sigkill_loses_no_acknowledged_create(klaxon_factory, backend, capsys):
    k = klaxon_factory(durable=True)
    url = k.og_url + "/v2/alerts"
    headers = {"Authorization": f"GenieKey {GLOBAL_KEY}", "Content-Type": "application/json"}

    acked: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[list[str]] = [[] for _ in range(THREADS)]
    unexpected: list[str] = []
    sent = [0] * THREADS
    stop = threading.Event()

    def worker(t: int) -> None:
        s = requests.Session()
        i = 0
        while not stop.is_set() and sum(sent) < MAX_REQUESTS:
            alias = f"kill-{t}-{i}"
            i += 1
            sent[t] += 1
            try:
                r = s.post(url, json={"message": f"load {t}/{i}", "alias": alias, "tags": ["load"]},
                           headers=headers, timeout=5)
            except requests.RequestException as e:
                errors[t].append(type(e).__name__)
                if stop.is_set():
                    return
                time.sleep(0.01)
                continue
            if r.status_code == 202:
                acked[t].append(alias)
            elif not stop.is_set():
                unexpected.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(THREADS)]
    for th in threads:
        th.start()
    time.sleep(LOAD_SECONDS)
    before_kill = sum(len(a) for a in acked)
    k.kill()  # SIGKILL while the workers are still sending
    stop.set()
    for th in threads:
        th.join(timeout=10)
    assert not any(th.is_alive() for th in threads)

    all_acked = [a for lst in acked for a in lst]
    assert not unexpected, f"non-202 answers under load: {unexpected[:5]}"
    assert before_kill > 0 and len(all_acked) >= 50, f"load produced only {len(all_acked)} acknowledged creates"

    k.start()  # same database, new port
    base = k.og_url

    def check(aliases: list[str]) -> list[str]:
        s = requests.Session()
        missing = []
        for a in aliases:
            r = s.get(f"{base}/v2/alerts/{a}", params={"identifierType": "alias"},
                      headers={"Authorization": f"GenieKey {GLOBAL_KEY}"}, timeout=10)
            if r.status_code != 200 or r.json()["data"]["alias"] != a:
                missing.append(f"{a}: {r.status_code}")
        return missing

    chunks = [all_acked[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as ex:
        missing = [m for part in ex.map(check, chunks) for m in part]

    r = requests.get(f"{base}/v2/alerts/count", params={"query": "tag:load"},
                     headers={"Authorization": f"GenieKey {GLOBAL_KEY}"}, timeout=10)
    assert r.status_code == 200, r.text
    stored = r.json()["data"]["count"]

    summary = (f"[{backend}] sent {sum(sent)} creates in {LOAD_SECONDS}s with {THREADS} threads, "
          f"{len(all_acked)} answered 202 before SIGKILL, {sum(len(e) for e in errors)} cut off by the kill; "
          f"checked {len(all_acked)} aliases after restart: {len(all_acked) - len(missing)} present, "
          f"{len(missing)} missing; {stored} alerts stored")
    with capsys.disabled():
        print("\n" + summary)
    assert not missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:10]}"
    assert stored >= len(all_acked)
