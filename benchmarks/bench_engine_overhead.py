"""Engine overhead: 10,000 trivial tasks, fan-out then fan-in, ours vs plain Dask.

All variants run side by side on the same local cluster (2 worker processes, 1 thread
each), alternating, several rounds; the table shows the median time of each and its
ratio to the plain Dask submit loop (``client.submit`` per task) and to Dask's own
batched form (``client.map``). Target (issue #12): ours with the event log on <= 1.00x
the plain submit loop (the engine sends ready tasks to Dask in batches).

    .venv/bin/python benchmarks/bench_engine_overhead.py [--tasks 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from eflows_kernel.compat import install_pycompss_shim
from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.model import compss_wait_on, task


def inc(x: int) -> int:
    return x + 1


def total(values: list[int]) -> int:
    return sum(values)


inc_task = task(returns=1)(inc)
total_task = task(returns=1)(total)


def run_plain(client: Client, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    futures = [client.submit(inc, i, pure=False) for i in range(n)]
    result = client.submit(total, futures, pure=False).result()
    return time.perf_counter() - start, result


def run_map(client: Client, n: int) -> tuple[float, int]:
    start = time.perf_counter()
    futures = client.map(inc, range(n), pure=False)
    result = client.submit(total, futures, pure=False).result()
    return time.perf_counter() - start, result


def run_ours(address: str, n: int, event_log: Path | None) -> tuple[float, int]:
    engine = Engine(EngineConfig(cluster=ClusterConfig(scheduler_address=address),
                                 event_log=event_log, record_args=True)).start()
    try:
        start = time.perf_counter()
        outputs = [inc_task(i) for i in range(n)]
        result = compss_wait_on(total_task(outputs))
        elapsed = time.perf_counter() - start
    finally:
        engine.stop()
    if event_log is not None:
        events = len(Path(event_log).read_text().splitlines())
        # Per task: first event, running, done; the fan-in task is also made ready;
        # plus the run's starting, running and done events.
        expected = 3 * (n + 1) + 1 + 3
        assert events == expected, (events, expected)
    return elapsed, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    n = args.tasks
    expected = sum(range(1, n + 1))
    install_pycompss_shim()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", resources={"CPU": 1, "MEMORY": 1})
    client = Client(cluster)
    times: dict[str, list[float]] = {"plain Dask futures": [], "Dask client.map": [],
                                     "eflows (no event log)": [],
                                     "eflows (event log on)": []}
    with tempfile.TemporaryDirectory() as tmp:
        run_plain(client, min(n, 500))  # warm the workers up
        for round_ in range(args.rounds):
            elapsed, result = run_plain(client, n)
            assert result == expected
            times["plain Dask futures"].append(elapsed)
            elapsed, result = run_map(client, n)
            assert result == expected
            times["Dask client.map"].append(elapsed)
            elapsed, result = run_ours(cluster.scheduler_address, n, None)
            assert result == expected
            times["eflows (no event log)"].append(elapsed)
            log = Path(tmp) / f"events-{round_}.jsonl"
            elapsed, result = run_ours(cluster.scheduler_address, n, log)
            assert result == expected
            times["eflows (event log on)"].append(elapsed)
    client.close()
    cluster.close()

    baseline = statistics.median(times["plain Dask futures"])
    batched = statistics.median(times["Dask client.map"])
    targets = {"eflows (no event log)": 1.00, "eflows (event log on)": 1.00}
    print(f"\n{n} trivial tasks fan-out + 1 fan-in task, {args.workers} workers x 1 thread, "
          f"median of {args.rounds} rounds (alternating)")
    print(f"{'variant':<24}{'median s':>10}{'min s':>9}{'per task ms':>13}"
          f"{'/submit':>9}{'/map':>7}{'target':>8}")
    failed = False
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / baseline
        target = targets.get(name)
        mark = "" if target is None else f"<={target:.2f}"
        failed |= target is not None and ratio > target
        print(f"{name:<24}{median:>10.2f}{min(values):>9.2f}{1000 * median / n:>13.3f}"
              f"{ratio:>9.3f}{median / batched:>7.3f}{mark:>8}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
