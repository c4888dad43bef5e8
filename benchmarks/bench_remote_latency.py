"""Remote live latency: from an event written on the "cluster" to its arrival at a client.

The cluster is this machine behind the test sshd (127.0.0.1:2222, login ``eflows``): a writer
process appends events with the kernel's EventLogWriter (flush at least every 50 ms) into the
login's home, stamping each with its write time (``ts``); RemoteEventTail follows the file
over SSH and the client records the arrival time. Same machine, same clock, so
``arrival - ts`` is the whole path: writer flush + remote tail/poll + SSH + parsing.

Run as root (it starts the test sshd and authorizes a throwaway vault key for ``eflows``,
appended to its authorized_keys):
    .venv/bin/python benchmarks/bench_remote_latency.py [--events 500] [--rate 20]
        [--modes tail,sftp]
Target: p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import os
import pwd
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from eflows_kernel.services.hpc.remote_events import RemoteEventTail
from eflows_kernel.services.hpc.ssh import AuthenticationFailed
from eflows_kernel.services.sites import InMemorySiteRepository, SiteService

REPO = Path(__file__).resolve().parents[1]
LOGIN = "eflows"
PASSWORD = os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw")
TARGET_P95 = 1.0

WRITER = """
import sys, time
from eflows_kernel.events.log import EventLogWriter
path, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
writer = EventLogWriter(path)
start = time.monotonic()
for i in range(count):
    # paced on a schedule, not sleep-after-write, so the rate holds
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    writer.write({"v": 1, "seq": i + 1, "run": "bench", "ts": time.time(), "type": "task",
                  "task": i, "state": "running"})
writer.write({"v": 1, "seq": count + 1, "run": "bench", "ts": time.time(), "type": "run",
              "state": "done"})
writer.close()
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def loopback_connect(name: str) -> Callable[[], Any]:
    """SSH connections of this process to the test sshd: its own vault key, authorized
    with the test password (again if a concurrent test run reset the shared ~/.ssh)."""
    vault = CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))
    sites = SiteService(InMemorySiteRepository(), vault, timeout=10)
    site = sites.add({"name": name, "host": "127.0.0.1", "port": 2222, "login": LOGIN,
                      "scheduler": "none"})
    sites.trust(site.id, sites.scan(site.id).fingerprint)
    credential = vault.generate(name).id
    sites.authorize(site.id, credential, password=PASSWORD)

    def connect() -> Any:
        try:
            return sites.connect(site.id, credential)
        except AuthenticationFailed:
            sites.authorize(site.id, credential, password=PASSWORD)
            return sites.connect(site.id, credential)

    return connect


def measure(connect: Any, mode: str, events: int, rate: float) -> list[float]:
    account = pwd.getpwnam(LOGIN)
    relative = f"eflows-bench/{uuid.uuid4().hex[:8]}/events.jsonl"
    local = Path(account.pw_dir) / relative
    local.parent.mkdir(parents=True, exist_ok=True)
    local.touch()
    for p in (local.parent.parent, local.parent, local):
        os.chown(p, account.pw_uid, account.pw_gid)
    latencies: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        latencies.append(time.time() - event["ts"])

    tail = RemoteEventTail(connect, relative, on_event, mode=mode, poll_interval=0.1)
    tail.start()
    time.sleep(0.5)  # the tail is connected and waiting, as a live monitor would be
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(local), str(events),
                               str(rate)], cwd=REPO)
    try:
        writer.wait(events / rate + 60)
        tail.join(30)
    finally:
        if writer.poll() is None:
            writer.kill()
        local.unlink(missing_ok=True)
        local.parent.rmdir()
    if tail.delivered != events + 1:
        raise SystemExit(f"{mode}: {tail.delivered} of {events + 1} events arrived")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--modes", default="tail,sftp",
                        help="comma-separated: tail (default reader), sftp (0.1 s poll)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: it starts the test sshd and authorizes a key")
    subprocess.run(["bash", str(REPO / "tests/cluster/setup_sshd.sh")], check=True,
                   capture_output=True, timeout=600)

    connect = loopback_connect("bench-remote-latency")
    print(f"remote live latency, {args.events} events at {args.rate:g}/s over SSH "
          f"(127.0.0.1:2222); target p95 <= {TARGET_P95:g} s")
    ok = True
    for mode in args.modes.split(","):
        lat = measure(connect, mode, args.events, args.rate)
        p50, p95, worst = percentile(lat, 50), percentile(lat, 95), max(lat)
        verdict = "OK" if p95 <= TARGET_P95 else "MISSED"
        ok = ok and (mode != "tail" or p95 <= TARGET_P95)
        print(f"  {mode:5s} n={len(lat)}  p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
              f"max {worst * 1000:7.1f} ms  mean {statistics.fmean(lat) * 1000:7.1f} ms  "
              f"[{verdict}]")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
