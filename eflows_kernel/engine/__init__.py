"""Execution of PyCOMPSs tasks on Dask distributed, with a task-event stream."""

from eflows_kernel.engine.cluster import ClusterConfig
from eflows_kernel.engine.current import current_engine
from eflows_kernel.engine.data import TaskOutput
from eflows_kernel.engine.engine import Engine, EngineConfig

__all__ = ["ClusterConfig", "Engine", "EngineConfig", "TaskOutput", "current_engine"]
