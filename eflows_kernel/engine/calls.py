"""One task call, from the user's arguments to the placeholders the user gets back.

The analysis (submission.py) says what the call reads and writes; here the call
becomes a task record, a queued Dask submission (batching.py) and its outputs:
``TaskOutput`` futures, or, for ``returns=MyClass``, an empty ``MyClass()`` the
user can call task methods on, as in PyCOMPSs. ``@reduction`` calls become a tree
of tasks and ``is_replicated`` tasks run once on every worker.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from eflows_kernel.engine.batching import PendingTask
from eflows_kernel.engine.checkpoint import restored_value
from eflows_kernel.engine.data import TaskOutput
from eflows_kernel.engine.launch.plan import LaunchPlan, event_fields
from eflows_kernel.engine.state import TaskRecord
from eflows_kernel.engine.submission import CallPlan
from eflows_kernel.engine.wire import PRIMITIVES, WireTask
from eflows_kernel.model.exceptions import EngineError
from eflows_kernel.model.parameter import DataType
from eflows_kernel.model.task import RETRY_ATTEMPTS, TaskDefinition, _parse_on_failure
from eflows_kernel.model.variants import alternatives_of

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine


def submit_call(engine: Engine, definition: TaskDefinition, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    opts = definition.options
    if opts.is_reduce and opts.chunk_size and not kwargs.pop("__eflows_chunk__", False):
        reduced = _reduce(engine, definition, args, kwargs)
        if reduced is not _NOT_REDUCED:
            return reduced
    task_id = next(engine._ids)
    plan = engine._analyser.analyse(definition, task_id, args, dict(kwargs))
    try:
        resources, launch = engine.task_resources(definition, plan.computing_units,
                                                  plan.memory_size, plan.arguments)
    except EngineError:
        alternative = _fitting_alternative(engine, definition, plan)
        if alternative is None:
            raise
        return submit_call(engine, alternative, args, kwargs)
    workers: list[list[str] | None] = [None]
    if opts.is_replicated:
        workers = [[address] for address in engine.worker_addresses()] or [None]
    result = _submit_plan(engine, definition, task_id, plan, resources, workers[0],
                          args=args, kwargs=kwargs, launch=launch)
    for replica_workers in workers[1:]:
        # Every worker runs it once; the first copy's outputs are the task's outputs.
        replica_id = next(engine._ids)
        replica = engine._analyser.analyse(definition, replica_id, args, dict(kwargs))
        _submit_plan(engine, definition, replica_id, replica, resources, replica_workers,
                     track_outputs=False, launch=launch)
    return result


def _submit_plan(engine: Engine, definition: TaskDefinition, task_id: int, plan: CallPlan,
                 resources: dict[str, float] | None, workers: list[str] | None,
                 track_outputs: bool = True, args: tuple[Any, ...] = (),
                 kwargs: dict[str, Any] | None = None,
                 launch: LaunchPlan | None = None) -> Any:
    graph = engine.graph
    saving = engine.checkpoint.plan(definition, task_id, args, kwargs or {}) \
        if engine.checkpoint is not None and track_outputs else None
    restored = saving is not None and saving.restorable
    opts = definition.options
    on_failure = opts.on_failure
    if "on_failure" in plan.options:
        on_failure = _parse_on_failure(plan.options["on_failure"], definition.name)
    defaults = {**opts.defaults, **(plan.options.get("defaults") or {})}
    n_returns = plan.returns.count
    tuple_layout = bool(plan.updates) or n_returns > 1
    record = TaskRecord(task_id, definition.name, on_failure.value,
                        tuple(engine._group_stack),
                        deps=() if restored else tuple(sorted(plan.data_deps
                                                              | plan.order_deps)),
                        after_readers=frozenset(plan.after_readers - plan.data_deps
                                                - plan.needed))
    first_event: dict[str, Any] = {"name": definition.name, "deps": list(record.deps)}
    if record.groups:
        first_event["groups"] = list(record.groups)
    if engine.config.record_args:
        first_event["args"] = plan.summary
    if opts.priority:
        first_event["priority"] = True
    if resources:
        first_event["constraints"] = {"computing_units": plan.computing_units,
                                      "memory_size": plan.memory_size or 0}
    if launch is not None:  # task type, processes, nodes of @binary/@mpi... tasks
        first_event.update(event_fields(definition.hpc, launch))
    graph.add(record, first_event)

    outputs = [TaskOutput(task_id, definition.name, None, (i,) if tuple_layout else ())
               for i in range(n_returns)]
    versions = list(outputs)
    restored_future = None
    if restored:  # committed by an earlier run: its outputs come from the checkpoint
        if plan.order_deps:
            engine.batcher.flush()  # the tasks its files wait for must reach Dask
        result = engine.checkpoint.restore(task_id, saving, plan.order_deps)
        restored_future = engine.client.submit(
            restored_value, result, pure=False,
            key=f"{definition.name}-{task_id}-{engine.run_id}")
        graph.report({"task": task_id, "state": "done", "restored": True})
        pending = None
    elif not record.finished:
        with graph.lock:
            order_records = [graph.tasks[d] for d in plan.order_deps]
        if any(r.future is None and not r.finished for r in order_records):
            engine.batcher.flush()  # the tasks it must run after reach Dask first
        wire = WireTask(
            run=engine.run_id, task=task_id, name=definition.name,
            definition=engine._payload(definition), definition_uid=definition.uid,
            topic=engine._topic, arg_depths=tuple(plan.arg_depths),
            kwarg_depths=plan.kwarg_depths, updates=tuple(plan.updates),
            n_returns=n_returns, tuple_layout=tuple_layout,
            on_failure=on_failure.value, defaults=defaults,
            max_attempts=RETRY_ATTEMPTS, time_out=opts.time_out,
            file_params=plan.file_params, arg_names=tuple(plan.arg_names),
            in_group=bool(record.groups),
            checkpoint_dir=saving.record if saving is not None else None,
            checkpoint_files=saving.files if saving is not None else (), hpc=launch)
        pending = PendingTask(record, wire, plan.args, plan.kwargs, order_records,
                              key=f"{definition.name}-{task_id}-{engine.run_id}",
                              priority=1 if opts.priority else 0, resources=resources,
                              workers=workers, outputs=versions)
    else:
        pending = None
    if track_outputs:
        for obj, position, path in plan.written_objects:
            version = TaskOutput(task_id, definition.name, None,
                                 (n_returns + position, *path))
            versions.append(version)
            engine.objects.written(obj, version)
        for obj in plan.deleted_objects:
            engine.objects.forget(obj)
    if restored_future is not None:
        for version in versions:
            version.future = restored_future
    if pending is not None:
        engine.batcher.add(pending)
    engine.apply_cancellations()
    if n_returns == 0 or not track_outputs:
        return None
    placeholders = [_placeholder(engine, plan, i, output) for i, output in enumerate(outputs)]
    return placeholders[0] if n_returns == 1 else placeholders


def _placeholder(engine: Engine, plan: CallPlan, index: int, output: TaskOutput) -> Any:
    """What the user holds for one return value (see the module docstring)."""
    if plan.returns.same_as is not None:
        obj = plan.arguments[plan.returns.same_as]
        if type(obj) not in PRIMITIVES and not isinstance(obj, TaskOutput):
            engine.objects.written(obj, output)
            return obj
        return output
    cls = plan.returns.placeholder_class(index)
    if cls is not None:
        try:
            instance = cls()
        except Exception:  # no empty constructor: a plain future, as in PyCOMPSs
            return output
        engine.objects.written(instance, output)
        return instance
    return output


def _fitting_alternative(engine: Engine, definition: TaskDefinition,
                         plan: CallPlan) -> TaskDefinition | None:
    from eflows_kernel.model.decorators import resolve_constraints

    for alternative in alternatives_of(definition):
        units, memory = resolve_constraints(alternative, plan.arguments)
        try:
            engine._resources(alternative.name, units, memory)
        except EngineError:
            continue
        return alternative
    return None


_NOT_REDUCED = object()


def _reduce(engine: Engine, definition: TaskDefinition, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
    """``@reduction(chunk_size=N)``: reduce the collection N elements at a time."""
    parameters = definition.signature.parameters
    name = next((p for p in parameters
                 if (s := definition.param_specs.get(p)) is not None
                 and s.type is DataType.COLLECTION), None)
    if name is None:
        return _NOT_REDUCED
    try:
        bound = definition.signature.bind(*args, **kwargs)
    except TypeError:
        return _NOT_REDUCED  # analyse() reports the wrong call
    collection = bound.arguments.get(name)
    chunk = max(2, definition.options.chunk_size)
    if not isinstance(collection, list | tuple) or len(collection) <= chunk:
        return _call_chunk(engine, definition, bound, name, list(collection or []))
    partials = list(collection)
    while len(partials) > chunk:
        partials = [_call_chunk(engine, definition, bound, name, partials[i:i + chunk])
                    for i in range(0, len(partials), chunk)]
    return _call_chunk(engine, definition, bound, name, partials)


def _call_chunk(engine: Engine, definition: TaskDefinition, bound: inspect.BoundArguments,
                name: str, chunk: list[Any]) -> Any:
    bound.arguments[name] = chunk
    kwargs = dict(bound.kwargs)
    kwargs["__eflows_chunk__"] = True
    return submit_call(engine, definition, tuple(bound.args), kwargs)
