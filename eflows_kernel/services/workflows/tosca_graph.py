"""A TOSCA ``topology_template.workflows`` step graph, as the order between node templates.

eFlows4HPC topologies declare how ``exec_job`` runs: steps that target node templates,
``call_operation`` (``Runnable.submit`` / ``run``) or ``set_state`` activities, and
``on_success`` edges. A node's steps follow each other; an edge from a step of one node
to a step of another says the second node waits for the first. That order is what an
execution runs (it replaces the order node requirements suggest, for the nodes the
workflow names).
"""

from __future__ import annotations

from typing import Any

RUN_WORKFLOW = "exec_job"  # the workflow HPCWaaS triggers


def chosen_workflow(workflows: dict[str, Any]) -> str | None:
    """The TOSCA workflow an execution runs: ``exec_job``, or the only one there is."""
    if RUN_WORKFLOW in workflows:
        return RUN_WORKFLOW
    return next(iter(workflows)) if len(workflows) == 1 else None


def node_order(workflow: Any) -> tuple[dict[str, list[str]], list[str]]:
    """Each node the workflow targets -> the nodes it waits for; and what was not understood.

    Only nodes with a ``call_operation`` run something; a node that only changes state
    passes its predecessors on to its successors.
    """
    problems: list[str] = []
    steps = (workflow or {}).get("steps") if isinstance(workflow, dict) else None
    if not isinstance(steps, dict):
        return {}, ["no steps"]
    target: dict[str, str] = {}
    runs: set[str] = set()
    for name, step in steps.items():
        if not isinstance(step, dict) or not isinstance(step.get("target"), str):
            problems.append(f"steps.{name}: no target node; ignored")
            continue
        target[name] = step["target"]
        for activity in step.get("activities") or []:
            if isinstance(activity, dict) and "call_operation" in activity:
                runs.add(step["target"])
    waits: dict[str, set[str]] = {node: set() for node in target.values()}
    for name, step in steps.items():
        if name not in target:
            continue
        for after in step.get("on_success") or []:
            if after not in target:
                problems.append(f"steps.{name}.on_success: no step named {after!r}")
            elif target[after] != target[name]:
                waits[target[after]].add(target[name])
    # A node that runs nothing is a pass-through: its waits go to whoever waits for it.
    resolved: dict[str, list[str]] = {}
    for node in waits:
        if node not in runs:
            continue
        found: set[str] = set()
        stack, seen = list(waits[node]), set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in runs:
                found.add(current)
            else:
                stack.extend(waits.get(current, ()))
        resolved[node] = sorted(found)
    return resolved, problems


# What a step of the run workflow may say: anything else changes what runs in a way
# this server would not follow (a conditional step, a failure branch, another workflow).
_STEP_KEYS = frozenset({"target", "target_relationship", "operation_host", "activities",
                        "on_success"})
_ACTIVITIES = frozenset({"call_operation", "set_state"})
_WHY = {"on_failure": "a failure branch (its steps would run whatever happened)",
        "filter": "a condition (the step would run unconditionally)",
        "preconditions": "a condition (the step would run unconditionally)",
        "inline": "another workflow run inline (its steps would not run)",
        "delegate": "a step delegated to the orchestrator's own workflow (it would not run)"}


def unfollowed_steps(workflow: Any) -> list[str]:
    """What the steps of the workflow an execution runs say that this server would not
    follow, one line per step and key (empty: it runs as declared)."""
    steps = (workflow or {}).get("steps") if isinstance(workflow, dict) else None
    found: list[str] = []
    for name, step in (steps or {}).items() if isinstance(steps, dict) else ():
        if not isinstance(step, dict):
            continue
        keys = [k for k in step if k not in _STEP_KEYS]
        keys += [k for activity in step.get("activities") or [] if isinstance(activity, dict)
                 for k in activity if k not in _ACTIVITIES]
        for key in keys:
            found.append(f"steps.{name}.{key}: {_WHY.get(key, 'not understood')}")
    return found


__all__ = ["RUN_WORKFLOW", "chosen_workflow", "node_order", "unfollowed_steps"]
