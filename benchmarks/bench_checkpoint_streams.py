"""Checkpointing and streams: what they cost, side by side with the plain engine.

1. ``N`` trivial tasks (fan-out + fan-in) without checkpointing, with every task saved
   (``--checkpoint=FT --checkpoint_params=finished.tasks:100``), and the rerun that
   restores them all from the checkpoint; ratios to the run without checkpointing.
2. Object stream latency: a producer task publishes ``M`` timestamped objects while a
   consumer task polls; publish -> poll delay (p50, p95), next to Dask's own
   ``distributed.Queue`` measured the same way.

    .venv/bin/python benchmarks/bench_checkpoint_streams.py [--tasks 2000] [--messages 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_engine_overhead import inc_task, total_task
from distributed import LocalCluster

from eflows_kernel.compat import install_pycompss_shim
from eflows_kernel.engine import ClusterConfig, Engine, EngineConfig
from eflows_kernel.engine.checkpoint_policy import parse_checkpoint
from eflows_kernel.model import compss_wait_on, task
from eflows_kernel.model.parameter import STREAM_IN, STREAM_OUT


def producer(stream, count, pause):  # type: ignore[no-untyped-def]
    for _ in range(count):
        stream.publish(time.time())
        time.sleep(pause)
    stream.close()


def consumer(stream):  # type: ignore[no-untyped-def]
    delays = []
    while not stream.is_closed():
        for sent in stream.poll(50):
            delays.append(time.time() - sent)
    return delays


producer_task = task(stream=STREAM_OUT)(producer)
consumer_task = task(stream=STREAM_IN, returns=1)(consumer)


def dask_queue(count: int, pause: float) -> list[float]:
    """The same exchange through ``distributed.Queue`` (Dask's own, in the scheduler)."""
    from distributed import Queue, get_client

    def publish(count: int, pause: float) -> None:
        queue = Queue("bench")
        for _ in range(count):
            queue.put(time.time())
            time.sleep(pause)
        queue.put(None)

    def subscribe() -> list[float]:
        queue = Queue("bench")
        delays = []
        while True:
            sent = queue.get()
            if sent is None:
                return delays
            delays.append(time.time() - sent)

    client = get_client()
    received = client.submit(subscribe, pure=False)
    client.submit(publish, count, pause, pure=False)
    return received.result()


def timed_run(address: str, n: int, checkpoint: object) -> tuple[float, int]:
    engine = Engine(EngineConfig(cluster=ClusterConfig(scheduler_address=address),
                                 checkpoint=checkpoint)).start()
    try:
        start = time.perf_counter()
        result = compss_wait_on(total_task([inc_task(i) for i in range(n)]))
        elapsed = time.perf_counter() - start
        restored = engine.checkpoint.restored if engine.checkpoint else 0
    finally:
        engine.stop()
    assert result == sum(range(1, n + 1)), result
    return elapsed, restored


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    install_pycompss_shim()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", resources={"CPU": 1, "MEMORY": 1})
    address = cluster.scheduler_address
    times: dict[str, list[float]] = {"no checkpoint": [], "every task saved": [],
                                     "rerun, all restored": []}
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(address, 200, None)  # warm up
        for round_ in range(args.rounds):
            folder = Path(tmp) / f"cp{round_}"
            config = parse_checkpoint("FT", "finished.tasks:100", str(folder))
            times["no checkpoint"].append(timed_run(address, args.tasks, None)[0])
            times["every task saved"].append(timed_run(address, args.tasks, config)[0])
            elapsed, restored = timed_run(address, args.tasks, config)
            assert restored >= args.tasks, restored
            times["rerun, all restored"].append(elapsed)

        engine = Engine(EngineConfig(cluster=ClusterConfig(scheduler_address=address))).start()
        try:
            from pycompss.streams.distro_stream import ObjectDistroStream

            stream = ObjectDistroStream()
            delays_future = consumer_task(stream)
            producer_task(stream, args.messages, 0.005)
            ours = compss_wait_on(delays_future)
            theirs = dask_queue(args.messages, 0.005)
        finally:
            engine.stop()
    cluster.close()

    baseline = statistics.median(times["no checkpoint"])
    print(f"\n{args.tasks} trivial tasks + 1 fan-in, 2 workers x 1 thread, median of "
          f"{args.rounds} rounds")
    print(f"{'variant':<22}{'median s':>10}{'per task ms':>13}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22}{median:>10.2f}{1000 * median / args.tasks:>13.3f}"
              f"{median / baseline:>8.2f}")
    print(f"\nobject stream, {args.messages} messages, publish -> poll delay")
    print(f"{'transport':<26}{'received':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for name, delays in (("ObjectDistroStream", ours), ("distributed.Queue (base)", theirs)):
        print(f"{name:<26}{len(delays):>9}{1000 * percentile(delays, 0.5):>9.2f}"
              f"{1000 * percentile(delays, 0.95):>9.2f}")
    assert len(ours) == args.messages, len(ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
