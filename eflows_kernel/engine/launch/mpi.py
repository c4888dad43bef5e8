"""MPI launch command lines for the nodes a task holds, as COMPSs' MPI invokers build them.

``mpirun`` gets the task's nodes with their slots and ``-n`` processes; the MPI flavour
(Open MPI or MPICH/Intel's Hydra) is read from ``COMPSS_MPIRUN_TYPE`` (``ompi``,
``impi``, ``mpich``) like COMPSs does, else from ``mpirun --version``. ``srun`` places
each rank on its node exactly (``--distribution=arbitrary``). Inside a Slurm
allocation the Slurm environment is rewritten to the task's nodes (COMPSs' binary
runner does the same), so that ``mpirun``'s own ``srun`` and an ``srun`` runner start
the ranks on those nodes only, overlapping the steps that hold the workers.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from eflows_kernel.model.exceptions import EngineError


@dataclass(frozen=True)
class Node:
    """Cores a task holds on one host (a Dask worker there), and its processes."""

    host: str
    processes: int
    cores: int
    worker: str = ""


@dataclass(frozen=True)
class Program:
    argv: tuple[str, ...]
    processes: int


# Variables an mpirun passes to ranks on other hosts (Open MPI only exports what -x names).
EXPORTED = ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "OMP_NUM_THREADS", "COMPSS_NUM_NODES",
            "COMPSS_HOSTNAMES", "COMPSS_NUM_THREADS", "COMPSS_NUM_PROCS", "COMPSS_NODES",
            "EFLOWS_HOST_PATHS")

_SLURM_STEP_VARS = (
    "SLURM_STEP_NODELIST", "SLURM_STEP_CPUS_PER_NODE", "SLURM_STEP_NUM_TASKS",
    "SLURM_STEP_TASKS_PER_NODE", "SLURM_STEPID", "SLURM_STEP_ID", "SLURM_STEP_NUM_NODES",
    "SLURM_STEP_LAUNCHER_PORT", "SLURM_STEP_RESV_PORTS", "SLURM_NODEID", "SLURM_LOCALID",
    "SLURM_GTIDS", "SLURM_CPU_BIND", "SLURM_CPU_BIND_LIST", "SLURM_CPU_BIND_TYPE",
    "SLURM_LAUNCH_NODE_IPADDR", "SLURM_SRUN_COMM_PORT", "SLURM_SRUN_COMM_HOST",
    "SLURM_TASK_PID", "SLURM_DISTRIBUTION", "SLURM_PROCID", "SLURM_TOPOLOGY_ADDR",
    "SLURM_TOPOLOGY_ADDR_PATTERN", "SLURM_PRIO_PROCESS", "SLURMD_NODENAME",
    "SLURM_MEM_PER_CPU", "SLURM_SUBMIT_HOST", "SLURM_CPUS_PER_TASK", "SLURM_NTASKS_PER_NODE",
    "SLURM_TRES_PER_TASK")


def host_counts(nodes: list[Node]) -> list[tuple[str, int]]:
    """Processes per host, first-seen order (several slots may share a host)."""
    counts: Counter[str] = Counter()
    for node in nodes:
        counts[node.host] += node.processes
    return list(counts.items())


def flavour(runner: str) -> str:
    """``slurm`` (srun), ``ompi`` or ``mpich`` (Hydra: MPICH, Intel MPI)."""
    name = os.path.basename(runner)
    if name == "srun":
        return "slurm"
    wanted = os.environ.get("COMPSS_MPIRUN_TYPE", "").strip().lower()
    if wanted in ("ompi", "openmpi"):
        return "ompi"
    if wanted in ("impi", "mpich", "hydra"):
        return "mpich"
    return _detected_flavour(shutil.which(runner) or runner)


@functools.lru_cache(maxsize=8)
def _detected_flavour(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=20)
        text = (out.stdout + out.stderr).lower()
    except (OSError, subprocess.TimeoutExpired):
        return "ompi"
    if "open mpi" in text or "open-mpi" in text or "openrte" in text:
        return "ompi"
    if "hydra" in text or "mpich" in text or "intel" in text:
        return "mpich"
    return "ompi"


def launch_command(runner: str, flags: list[str], nodes: list[Node],
                   programs: list[Program], threads: int, sandbox: Path,
                   env: dict[str, str]) -> list[str]:
    """The launcher's argv for ``programs`` (one, or several for MPMD) on ``nodes``.

    Hosts go on the command line with their slots (``--host n1:2,n2:2``; a hostfile
    costs Open MPI a tenth of a second more per launch); srun's placement file goes into
    ``sandbox``. Adds what the launch needs to ``env`` (the Slurm view of the nodes,
    Open MPI's consent to run as root).
    """
    kind = flavour(runner)
    total = sum(p.processes for p in programs)
    if in_slurm_allocation(env):
        env.update(slurm_view(nodes, total, env))
    if kind == "slurm":
        return _srun(runner, flags, nodes, programs, threads, sandbox, env)
    counts = host_counts(nodes)
    hosts = ",".join(f"{host}:{n}" for host, n in counts)  # each host with its slots
    if kind == "ompi":
        base = [runner, "--host", hosts]
        # Cores are accounted for by the engine, not pinned: two MPI tasks on one node
        # must not both bind their ranks to cores 0..n-1.
        base += ["--bind-to", "none"]
        if len(counts) > 1:  # ranks on other hosts only get the variables named here
            for name in EXPORTED:
                if name in env:
                    base += ["-x", name]
        if os.geteuid() == 0:
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
            env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    else:
        base = [runner, "-hosts", hosts]
    argv = list(base)
    for index, program in enumerate(programs):
        if index:
            argv.append(":")
        argv += ["-n", str(program.processes)]
        if index == 0:
            argv += flags
        argv += list(program.argv)
    return argv


def _srun(runner: str, flags: list[str], nodes: list[Node], programs: list[Program],
          threads: int, sandbox: Path, env: dict[str, str]) -> list[str]:
    if not in_slurm_allocation(env):
        raise EngineError(f"runner={runner!r} starts MPI processes inside a Slurm "
                          "allocation, but this worker is not in one; use runner='mpirun'")
    total = sum(p.processes for p in programs)
    hostfile = sandbox / "slurm_hostfile"
    hostfile.write_text("".join(f"{host}\n" for host, n in host_counts(nodes)
                                for _ in range(n)))
    env["SLURM_HOSTFILE"] = str(hostfile)  # one line per rank: its node, in rank order
    argv = [runner, "--overlap", "--distribution=arbitrary", "-n", str(total),
            f"--nodes={len(host_counts(nodes))}", f"--cpus-per-task={threads}", *flags]
    if len(programs) == 1:
        return argv + list(programs[0].argv)
    conf = sandbox / "multi_prog.conf"
    lines, first = [], 0
    for program in programs:
        last = first + program.processes - 1
        lines.append(f"{first}-{last} {' '.join(_quote(a) for a in program.argv)}\n")
        first = last + 1
    conf.write_text("".join(lines))
    return [*argv, "--multi-prog", str(conf)]


def _quote(arg: str) -> str:
    return f"'{arg}'" if any(c.isspace() for c in arg) else arg


def in_slurm_allocation(env: dict[str, str]) -> bool:
    return bool(env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID"))


def slurm_view(nodes: list[Node], processes: int, env: dict[str, str]) -> dict[str, str]:
    """The Slurm variables as if the allocation were just the task's nodes."""
    counts = host_counts(nodes)
    hosts = ",".join(host for host, _ in counts)
    per_node = max(n for _, n in counts)
    view = {
        "SLURM_NODELIST": hosts, "SLURM_JOB_NODELIST": hosts,
        "SLURM_NNODES": str(len(counts)), "SLURM_JOB_NUM_NODES": str(len(counts)),
        "SLURM_JOB_CPUS_PER_NODE": f"{per_node}(x{len(counts)})",
        "SLURM_TASKS_PER_NODE": f"{per_node}(x{len(counts)})",
        "SLURM_NTASKS": str(processes), "SLURM_NPROCS": str(processes),
        "SLURM_OVERLAP": "1", "SLURM_MEM_PER_NODE": "0",
    }
    for name in _SLURM_STEP_VARS:
        env.pop(name, None)
    return view
