"""A run's cluster while it runs: more or fewer workers, and the processes that start.

``compss_request_resources``/``compss_free_resources`` resize the cluster the engine
started; every worker process started after the application began (a new worker, a
restarted one) must be started without the application's main module.
"""

from __future__ import annotations

from typing import Any


def keep_the_application_out_of_new_workers() -> None:
    """Worker processes started during a run (more workers, a restarted worker) must not
    import the application: multiprocessing's spawn would re-run its ``__main__``
    module (all of it, for a script without ``if __name__ == "__main__"``). Workers get
    the tasks of ``__main__`` by value, so they need no main module at all.
    """
    import multiprocessing.spawn as spawn

    original = spawn.get_preparation_data
    if getattr(original, "_eflows_without_main", False):
        return

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    without_main._eflows_without_main = True  # type: ignore[attr-defined]
    spawn.get_preparation_data = without_main


def scale_workers(cluster: Any, delta: int) -> bool:
    """Grow or shrink a cluster the engine started (``compss_request_resources``).

    Slurm scale-out adds or removes worker jobs; a local cluster, worker processes.
    An existing scheduler's cluster is not ours to size: False.
    """
    if cluster is None:
        return False
    wanted = len(getattr(cluster, "worker_spec", None) or cluster.workers) + delta
    if hasattr(cluster, "job_cls"):  # dask-jobqueue: the spec counts jobs
        cluster.scale(jobs=max(1, wanted))
    else:
        cluster.scale(max(1, wanted))
    return True
