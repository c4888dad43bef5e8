"""Runs on Dask workers: execute one task, apply PyCOMPSs failure rules, report events.

Reports go through ``Worker.log_event`` on a per-engine topic: they ride Dask's
batched streams (worker -> scheduler -> client) in order with the task results, so the
engine learns "running" and "done" with the worker's own timestamps and no polling.
"""

from __future__ import annotations

import collections
import ctypes
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import Any

import cloudpickle

from eflows_kernel.engine.attempt_details import captured_output, worker_name, worker_usage
from eflows_kernel.engine.checkpoint_store import save_record
from eflows_kernel.engine.launch import hold_nodes, run_hpc_task
from eflows_kernel.engine.wire import (
    MissingValue,
    Pickled,
    WireTask,
    decode_private,
    freeze,
    partial_input,
)
from eflows_kernel.engine.wire import PartialResult as _PartialResult
from eflows_kernel.model.exceptions import COMPSsException, TaskFailedError, TaskTimeoutError

_DEFINITIONS: dict[str, Any] = {}
_RUNNING: dict[tuple[str, int], int] = {}  # (run, task) -> thread running it
_RUNNING_LOCK = threading.Lock()
# Cancelled before they started here: refuse them if Dask starts them anyway.
_CANCELLED: set[tuple[str, int]] = set()
_STOPPED_RUNS: set[str] = set()


class TaskInterrupted(Exception):
    """Raised inside a running task that the engine cancelled."""


def interrupt_tasks(run: str, task_ids: list[int] | None) -> int:
    """Stop cancelled tasks still running on this worker (called via ``Client.run``).

    Dask cannot stop a running thread, so the exception is delivered asynchronously
    into the task's thread: pure Python code stops at once, a call blocked in C code
    (a long ``sleep``, a system call) stops when that call returns.
    """
    count = 0
    with _RUNNING_LOCK:
        if task_ids is None:  # every task of the run
            _STOPPED_RUNS.add(run)
            task_ids = [task for (task_run, task) in _RUNNING if task_run == run]
        else:
            _CANCELLED.update((run, task_id) for task_id in task_ids)
        for task_id in task_ids:
            thread_id = _RUNNING.get((run, task_id))
            if thread_id is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(thread_id), ctypes.py_object(TaskInterrupted))
                count += 1
    return count


class CancelSuccessors(TaskFailedError):
    """A CANCEL_SUCCESSORS task failed: its successors must not run, the run goes on."""


class GroupException(TaskFailedError):
    """A task raised COMPSsException: its group is cancelled, the main program told."""


def _definition(wire: WireTask) -> Any:
    definition = _DEFINITIONS.get(wire.definition_uid)
    if definition is None:
        definition = cloudpickle.loads(wire.definition)
        _DEFINITIONS[wire.definition_uid] = definition
    return definition


class ReportQueue:
    """Task reports waiting for the worker's event loop to send them.

    A task thread calling ``Worker.log_event`` wakes the event loop each time; here
    the thread only appends, and the loop sends the queue when the task finishes
    (from ``WorkerSetup.transition``, before Dask reports the result, so reports
    never overtake results) and every 20 ms (so "running" is not held back).
    """

    def __init__(self) -> None:
        self.items: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        self.active = False  # set by WorkerSetup once the flushing is in place

    def flush(self, worker: Any) -> None:
        """Send what is queued, one message per topic (the scheduler handles each
        message once, so batching the reports keeps its load per task low)."""
        items = self.items
        if not items:
            return
        batches: dict[str, list[dict[str, Any]]] = {}
        while items:
            topic, msg = items.popleft()
            batches.setdefault(topic, []).append(msg)
        for topic, msgs in batches.items():
            worker.log_event(topic, msgs)


REPORTS = ReportQueue()


def _reporter(wire: WireTask) -> tuple[Any, str]:
    try:
        from distributed import get_worker

        worker = get_worker()
        return worker, worker.address
    except (ImportError, ValueError):
        return None, socket.gethostname()


def execute_task(wire: WireTask, args: list[Any], kwargs: dict[str, Any],
                 deps: list[Any] | None = None) -> Any:
    """Dask entry point for every task; ``deps`` only orders the task after others."""
    definition = _definition(wire)
    worker, address = _reporter(wire)

    def report(state: str, **fields: Any) -> None:
        if worker is not None:
            fields.update(run=wire.run, task=wire.task, state=state, worker=address)
            if REPORTS.active:
                REPORTS.items.append((wire.topic, fields))
            else:
                worker.log_event(wire.topic, fields)

    key = (wire.run, wire.task)
    thread_id = threading.get_ident()
    with _RUNNING_LOCK:
        if wire.run in _STOPPED_RUNS or key in _CANCELLED:
            raise TaskInterrupted(f"task '{wire.name}' (#{wire.task}) was cancelled")
        _RUNNING[key] = thread_id
    try:
        partial = partial_input((args, kwargs, deps or []))
        if partial is not None:
            raise TaskInterrupted(f"task '{wire.name}' (#{wire.task}) was cancelled: "
                                  f"{partial.message}")
        with hold_nodes(wire) as nodes:  # an MPI/@multinode task's other nodes
            return _attempts(definition, wire, args, kwargs, report, worker, nodes)
    except TaskInterrupted:
        raise TaskInterrupted(f"task '{wire.name}' (#{wire.task}) was cancelled "
                              "while running") from None
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(key, None)
            # An interruption that raced with the task's end must not hit the next task.
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)


def _attempts(definition: Any, wire: WireTask, args: list[Any], kwargs: dict[str, Any],
              report: Any, worker: Any = None, nodes: Any = None) -> Any:
    attempts = max(1, wire.max_attempts if wire.on_failure == "RETRY" else 1)
    name = worker_name(worker) if worker is not None else None
    hosts = {"hosts": [node.host for node in nodes]} if nodes else {}
    for attempt in range(1, attempts + 1):
        started = time.time()
        report("running", attempt=attempt, started=started, worker_name=name,
               hpc=hosts or None)
        decoded: list[Any] = []
        details: dict[str, Any] = {}  # what an HPC task ran: command line, exit value
        output = None
        try:
            with captured_output() as output:
                result = _run_once(definition, wire, args, kwargs, decoded, nodes, details)
        except COMPSsException as exc:
            error = _format_error(exc)
            ended = time.time()
            report("failed", attempt=attempt, started=started, ended=ended,
                   error=error, final=True, compss_exception=exc.message or str(exc),
                   hpc=details or None, **_details(output, worker, started, ended))
            if not wire.in_group:
                raise GroupException(f"task '{wire.name}' (#{wire.task}) raised "
                                     f"COMPSsException: {exc.message or exc}",
                                     wire.task, wire.name, error) from None
            # As in PyCOMPSs, what the task wrote before raising (its INOUT objects,
            # its files) is kept; its returns do not exist.
            return _partial_result(wire, decoded, exc)
        except TaskInterrupted:
            raise
        except (Exception, SystemExit) as exc:
            error = _format_error(exc)
            final = attempt == attempts
            ended = time.time()
            report("failed", attempt=attempt, started=started, ended=ended,
                   error=error, final=final, hpc=details or None,
                   **_details(output, worker, started, ended))
            if not final:
                continue
            if wire.on_failure == "IGNORE":
                return _defaults_result(wire, args, kwargs)
            message = (f"task '{wire.name}' (#{wire.task}) failed"
                       f"{f' after {attempts} attempts' if attempts > 1 else ''}:\n{error}")
            cls = CancelSuccessors if wire.on_failure == "CANCEL_SUCCESSORS" else TaskFailedError
            raise cls(message, wire.task, wire.name, error) from None
        if wire.checkpoint_dir:
            save_record(wire.checkpoint_dir, wire.name, result, wire.checkpoint_files)
        ended = time.time()
        report("done", attempt=attempt, started=started, ended=ended,
               hpc=details or None, **_details(output, worker, started, ended))
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _details(output: Any, worker: Any, started: float, ended: float) -> dict[str, Any]:
    """What the attempt printed, and the worker's CPU and memory while it ran."""
    fields: dict[str, Any] = output.fields() if output is not None else {}
    if worker is not None:
        fields["usage"] = worker_usage(worker, started, ended)
    return fields


def _format_error(exc: BaseException) -> str:
    if isinstance(exc, TaskTimeoutError):
        return f"{type(exc).__name__}: {exc}"
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    # Drop our own frames: the user wants to see their task's traceback.
    keep = [lines[0]] + [ln for ln in lines[1:] if not (
        ln.startswith('  File "') and "eflows_kernel/engine" in ln)]  # frames, not the message
    return "".join(keep).rstrip()


def _run_once(definition: Any, wire: WireTask, wire_args: list[Any],
              wire_kwargs: dict[str, Any], decoded: list[Any] | None = None,
              nodes: Any = None, details: dict[str, Any] | None = None) -> Any:
    # Every task works on its own copy of values other tasks produced, as on COMPSs
    # where each task deserialises its inputs: a task that modifies an input (even
    # one declared IN) cannot change what other tasks or the main program see.
    args = [decode_private(value, wire.arg_depths[index] if wire.arg_depths else 0)
            for index, value in enumerate(wire_args)]
    kwargs = {name: decode_private(value, wire.kwarg_depths.get(name, 0))
              for name, value in wire_kwargs.items()}
    if decoded is not None:
        decoded[:] = [args, kwargs]
    returned = run_body(definition, wire, args, kwargs, nodes, details)
    if not wire.tuple_layout:
        return freeze(returned) if wire.n_returns else None

    if wire.n_returns == 0:
        outputs: tuple[Any, ...] = ()
    elif wire.n_returns == 1:
        outputs = (returned,)
    else:
        if not isinstance(returned, tuple | list) or len(returned) != wire.n_returns:
            got = len(returned) if isinstance(returned, tuple | list) else "1 (not a tuple)"
            raise TypeError(f"task '{wire.name}' declares returns={wire.n_returns} "
                            f"but returned {got} values")
        outputs = tuple(returned)
    written = tuple(args[key] if kind == "a" else kwargs[key]
                    for kind, key, _, _ in wire.updates)
    return tuple(freeze(value) for value in outputs + written)


def run_body(definition: Any, wire: WireTask, args: list[Any],
             kwargs: dict[str, Any], nodes: Any = None,
             details: dict[str, Any] | None = None) -> Any:
    """Run the task's body: its function, or its launcher (``@binary``, ``@mpi``...).

    The one place where a task body runs; decorators that run a program set
    ``definition.launcher`` (see model/task.py) and get the decoded arguments. The
    HPC task types (``definition.hpc``, engine/launch) also get the nodes the task
    holds, and record what they ran in ``details``.
    """
    if getattr(definition, "hpc", None) is not None:
        return run_hpc_task(definition, wire, args, kwargs, nodes,
                            {} if details is None else details)
    launcher = getattr(definition, "launcher", None)
    if launcher is not None:
        return launcher(definition, args, kwargs)
    if wire.time_out:
        return _call_with_timeout(definition.func, args, kwargs, wire.time_out, wire.name)
    return definition.func(*args, **kwargs)


def _partial_result(wire: WireTask, decoded: list[Any], exc: COMPSsException) -> Any:
    missing = MissingValue(f"task '{wire.name}' (#{wire.task}) raised COMPSsException "
                           f"({exc.message or exc}), so its return value does not exist")
    args, kwargs = decoded if decoded else ([], {})
    written = tuple((args[key] if kind == "a" else kwargs[key]) if decoded else missing
                    for kind, key, _, _ in wire.updates)
    result = _PartialResult((missing,) * wire.n_returns + written)
    result.message = missing.message
    return result


def _defaults_result(wire: WireTask, wire_args: list[Any],
                     wire_kwargs: dict[str, Any]) -> Any:
    """Outputs of an IGNOREd failure: the declared defaults, else None / the inputs."""
    defaults = wire.defaults
    _copy_default_files(wire, wire_args, wire_kwargs)
    returns_default = defaults.get("returns")
    if not wire.tuple_layout:
        return returns_default if wire.n_returns else None
    if wire.n_returns > 1 and isinstance(returns_default, tuple | list):
        outputs = tuple(returns_default)[: wire.n_returns]
        outputs += (None,) * (wire.n_returns - len(outputs))
    else:
        outputs = (returns_default,) * wire.n_returns
    written = []
    for kind, key, depth, name in wire.updates:
        if name in defaults:
            written.append(defaults[name])
        else:
            value = wire_args[key] if kind == "a" else wire_kwargs[key]
            written.append(decode_private(value, depth))
    return outputs + tuple(written)


def _copy_default_files(wire: WireTask, wire_args: list[Any],
                        wire_kwargs: dict[str, Any]) -> None:
    """PyCOMPSs' IGNORE defaults for files: the default names a file to copy."""
    import shutil

    for key, _spec in wire.file_params.items():
        target = wire_args[key] if isinstance(key, int) else wire_kwargs.get(key)
        name = _param_name(wire, key)
        source = wire.defaults.get(name)
        if source is not None and target is not None and "OUT" in _spec:
            shutil.copyfile(str(source), str(target))


def _param_name(wire: WireTask, key: Any) -> str:
    if isinstance(key, int) and key < len(wire.arg_names):
        return wire.arg_names[key]
    return str(key)


def _call_with_timeout(func: Any, args: list[Any], kwargs: dict[str, Any],
                       time_out: float, name: str) -> Any:
    """Run the task in a child process that is killed when ``time_out`` expires.

    A thread cannot be stopped from outside in Python, and a task blocked in C code
    would outlive any in-process timer, so a separate process is the only way to
    honour ``time_out`` for every task body.
    """
    payload = cloudpickle.dumps((func, args, kwargs))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "eflows_kernel.engine.timeout_child"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        out, _ = proc.communicate(payload, timeout=time_out)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise TaskTimeoutError(
            f"task '{name}' exceeded its time_out of {time_out:g} s and was stopped") from None
    ok, value = cloudpickle.loads(out)
    if not ok:
        raise value
    return value


__all__ = ["Pickled", "execute_task"]
