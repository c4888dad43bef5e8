"""``pycompss.streams.environment``: streaming needs no start or stop here.

PyCOMPSs starts a stream server when ``runcompss --streaming=...`` asks for one; the
stream server of eflows_kernel is always available, so these only report success.
"""

from __future__ import annotations


def init_streaming(streaming_backend: str = "", streaming_master_name: str = "",
                   streaming_master_port: str = "") -> bool:
    return True


def stop_streaming() -> None:
    """Nothing to stop: streams end with the run's Dask scheduler."""
