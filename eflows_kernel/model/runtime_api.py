"""The PyCOMPSs API calls that steer the run itself rather than its data.

``compss_snapshot`` (checkpoint now), ``compss_set_wall_clock`` (a time limit from
now on), ``compss_request_resources``/``compss_free_resources`` (more or fewer
workers) and ``compss_add_logger``. Without a runtime they do nothing, as PyCOMPSs'
dummy API does.
"""

from __future__ import annotations

import logging
import warnings

from eflows_kernel.model.runtime import current_runtime


def compss_snapshot() -> None:
    """Checkpoint every task called so far (each once it finishes), as PyCOMPSs does.

    Needs a checkpoint folder (``eflows-run --checkpoint_folder=DIR``); without one
    there is nothing to save to, and a warning says so.
    """
    runtime = current_runtime()
    if runtime is not None and not runtime.snapshot():
        warnings.warn("compss_snapshot(): this run has no checkpoint folder "
                      "(eflows-run --checkpoint_folder=DIR), so nothing is saved",
                      UserWarning, stacklevel=2)


def compss_set_wall_clock(wall_clock_limit: int) -> None:
    """Stop the run ``wall_clock_limit`` seconds from now (``--wall_clock_limit``)."""
    runtime = current_runtime()
    if runtime is not None and wall_clock_limit and wall_clock_limit > 0:
        runtime.set_wall_clock(float(wall_clock_limit))


def _scale(delta: int, what: str) -> None:
    runtime = current_runtime()
    if runtime is not None and delta and not runtime.scale_workers(delta):
        warnings.warn(f"{what}: the run uses an existing Dask cluster, whose size "
                      "eflows_kernel does not manage; nothing changed", UserWarning,
                      stacklevel=3)


def compss_request_resources(num_resources: int, group_name: str | None = None) -> None:
    """Add ``num_resources`` workers (local processes or Slurm worker jobs)."""
    _scale(int(num_resources), "compss_request_resources")


def compss_free_resources(num_resources: int, group_name: str | None = None) -> None:
    """Remove ``num_resources`` workers once they are idle."""
    _scale(-int(num_resources), "compss_free_resources")


def compss_add_logger(logger_name: str) -> None:
    """Make ``logger_name``'s messages reach the run's output, as PyCOMPSs' logger does."""
    logger = logging.getLogger(logger_name)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
