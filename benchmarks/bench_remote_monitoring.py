"""CPU of one server following many remote executions at once.

What a Jupyter server pays to follow N runs on one site: the live event tails (one
exec channel each, several per connection) and the site's job poll (one command for
all jobs every 2 s). The runs are synthetic writers started on the real test sshd
(tests/cluster/setup_sshd.sh, login ``eflows``): each appends ``--rate`` task events
per second for ``--seconds``, then its final run event; the executor re-attaches to
them exactly as after a server restart (``RemoteExecutor.recover``). The writers' own
CPU is on the "site" side and not counted: only this process's CPU time is.

Baseline: the same executor following 1 run, in the same process and run.

    .venv/bin/python benchmarks/bench_remote_monitoring.py            # 1 vs 50 runs
    .venv/bin/python benchmarks/bench_remote_monitoring.py --runs 1 10 50 --seconds 30

Needs root (starts the test sshd, resets ~eflows/.ssh).
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eflows_kernel.services.credentials import CredentialVault, SqlCredentialRepository  # noqa: E402
from eflows_kernel.services.deploy import RemoteExecutor  # noqa: E402
from eflows_kernel.services.executions import ExecutionState, ExecutionStore  # noqa: E402
from eflows_kernel.services.executions.router import ExecutorRouter  # noqa: E402
from eflows_kernel.services.executions.service import ExecutionsService  # noqa: E402
from eflows_kernel.services.sites import SiteService  # noqa: E402
from eflows_kernel.services.sites.store import SiteStore  # noqa: E402
from eflows_kernel.services.state import StateStore  # noqa: E402
from eflows_kernel.services.workflows.registry import WorkflowRegistry  # noqa: E402

WRITER = r'''
import json, sys, time
path, run = sys.argv[1], sys.argv[2]
first, rate, seconds = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
seq = first
with open(path, "a") as f:
    def emit(**e):
        global seq
        f.write(json.dumps({"v": 1, "seq": seq, "run": run, "ts": time.time(), **e}) + "\n")
        f.flush()
        seq += 1
    emit(type="run", state="running")
    end = time.monotonic() + seconds
    task = 0
    while time.monotonic() < end:
        task += 1
        emit(type="task", task=task, state="running", attempt=1)
        time.sleep(0.5 / rate)
        emit(type="task", task=task, state="done", attempt=1)
        time.sleep(0.5 / rate)
    emit(type="run", state="done", counts={"done": task})
'''


def setup(tmp: Path) -> tuple[ExecutionsService, ExecutionStore, str, str, Path]:
    subprocess.run(["bash", str(REPO / "tests/cluster/setup_sshd.sh")], check=True,
                   capture_output=True)
    home = Path(pwd.getpwnam("eflows").pw_dir)
    shutil.rmtree(home / ".ssh", ignore_errors=True)
    store = StateStore(f"sqlite:///{tmp / 'state.sqlite'}")
    registry = WorkflowRegistry(store)
    executions = ExecutionStore(store)
    vault = CredentialVault(SqlCredentialRepository(store), master_key=os.urandom(32))
    sites = SiteService(SiteStore(store), vault, timeout=10)
    site = sites.add({"name": "bench", "host": "127.0.0.1", "port": 2222, "login": "eflows",
                      "scheduler": "none", "workdir": "~/eflows-bench"})
    sites.trust(site.id, sites.scan(site.id).fingerprint)
    credential = vault.generate("bench").id
    sites.authorize(site.id, credential,
                    password=os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw"))
    workflow = registry.register_spec({"name": "synthetic", "steps": [
        {"name": "s", "application": str(REPO / "tests/apps/increment_chain.py")}]})
    remote = RemoteExecutor(executions, registry, sites, tmp / "runs", cache_dir=tmp / "cache")
    service = ExecutionsService(executions, registry, ExecutorRouter(remote=remote))
    return service, executions, workflow.id, credential, home


def start_runs(sites: SiteService, executions: ExecutionStore, workflow_id: str,
               credential: str, home: Path, n: int, rate: float, seconds: float,
               tmp: Path) -> list[str]:
    """Create N submitted executions whose 'jobs' are synthetic writers on the site."""
    client = sites.connect(sites.get_by_name("bench").id, credential)
    ids = []
    commands = []
    for _ in range(n):
        execution = executions.create(workflow_id, {}, "bench", credential, login="eflows")
        run_dir = f"{home}/eflows-bench/runs/{execution.id}"
        local = tmp / "runs" / execution.id
        local.mkdir(parents=True)
        executions.set_event_log(execution.id, str(local / "events.jsonl"))
        commands.append((execution.id, run_dir))
        ids.append(execution.id)
    script = f"{home}/eflows-bench/writer.py"
    with client.open_sftp() as sftp:
        subprocess.run(["mkdir", "-p", f"{home}/eflows-bench"], check=True)
        shutil.chown(f"{home}/eflows-bench", "eflows", "eflows")
        with sftp.open(script, "w") as f:
            f.write(WRITER.encode())
    q = shlex.quote
    for execution_id, run_dir in commands:
        # The whole background list (not only the writer) must let go of the channel's
        # stdin/stdout, or the exec only returns when the writer ends.
        line = (f"{{ mkdir -p {q(run_dir)} && cd {q(run_dir)} && /usr/bin/python3 {q(script)} "
                f"events.jsonl {execution_id} 1 {rate} {seconds} > output.log 2>&1; "
                "echo $? > exit_code; } > /dev/null 2>&1 < /dev/null & echo $!")
        _in, out, _err = client.exec_command(line)
        pid = out.read().decode().strip()
        executions.set_remote_job(execution_id, f"pid:{pid}")
        executions.set_state(execution_id, ExecutionState.SUBMITTED, "synthetic")
    client.close()
    return ids


def measure(n: int, rate: float, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        executor, executions, workflow_id, credential, home = setup(tmp)
        shutil.rmtree(home / "eflows-bench" / "runs", ignore_errors=True)
        remote = executor.router.remote
        assert isinstance(remote, RemoteExecutor)
        ids = start_runs(remote.sites, executions, workflow_id, credential, home, n, rate,
                         seconds, tmp)
        cpu0, wall0 = time.process_time(), time.monotonic()
        executor.recover()
        deadline = wall0 + seconds + 120
        while time.monotonic() < deadline:
            if all(executions.get(i).finished for i in ids):
                break
            time.sleep(0.2)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        states = [executions.get(i).state.value for i in ids]
        events = sum(len(executor.events(i)) for i in ids)
        executor.shutdown()
        executor.store.store.close()
        if set(states) != {"done"}:
            raise SystemExit(f"not all runs finished done: {states}")
        return {"runs": n, "events": events, "wall_s": wall, "cpu_s": cpu,
                "cpu_pct": 100 * cpu / wall, "cpu_ms_per_event": 1000 * cpu / max(events, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--rate", type=float, default=4.0, help="events/s per run")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    rows = [measure(n, args.rate, args.seconds) for n in args.runs]
    base = rows[0]
    print(f"{'runs':>5} {'events':>7} {'wall s':>7} {'CPU s':>7} {'CPU % of a core':>16} "
          f"{'ms/event':>9} {'CPU vs baseline':>16}")
    for row in rows:
        print(f"{row['runs']:>5} {row['events']:>7} {row['wall_s']:>7.1f} {row['cpu_s']:>7.2f} "
              f"{row['cpu_pct']:>16.1f} {row['cpu_ms_per_event']:>9.3f} "
              f"{row['cpu_s'] / base['cpu_s']:>15.1f}x")
    print(f"baseline: {base['runs']} run(s); {args.rate} events/s per run for "
          f"{args.seconds:.0f} s, followed over one site (direct jobs, loopback sshd)")


if __name__ == "__main__":
    main()
