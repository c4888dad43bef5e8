"""Launchers of the HPC task types (@binary, @mpi, @mpmd_mpi, @multinode, @container).

``nodes.hold_nodes`` holds the nodes a task needs for its duration, ``runner`` runs
its prolog, program (or Python body) and epilog there, ``process`` runs each program
in its own process group, ``mpi`` and ``containers`` build the launch command lines.
"""

from eflows_kernel.engine.launch.nodes import hold_nodes
from eflows_kernel.engine.launch.process import kill_all, kill_all_on_sigterm
from eflows_kernel.engine.launch.runner import run_hpc_task, run_without_engine
from eflows_kernel.model.hpc.spec import set_in_place_runner

set_in_place_runner(run_without_engine)

__all__ = ["hold_nodes", "kill_all", "kill_all_on_sigterm", "run_hpc_task",
           "run_without_engine"]
