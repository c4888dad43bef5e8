"""A workflow's steps as a DAG: which job steps wait for which, and which data each moves.

A spec (or a TOSCA topology) says ``depends_on`` between steps and data movements. The
executions run the job steps (PyCOMPSs jobs); a data movement is done by the job step
next to it: an ``in`` movement by the steps that depend on it, an ``out`` movement by
the step it depends on. So a step waits for the job steps it reaches through other
steps and movements, and a movement nobody is next to goes with the entry steps (in) or
the final ones (out), which is what every execution did before graphs.
"""

from __future__ import annotations

from collections.abc import Iterable

from eflows_kernel.services.workflows.model import Workflow


class StepGraphError(ValueError):
    """``depends_on`` names something unknown, or the steps wait for each other in a ring.

    ``errors``: the field path (``steps.<name>.depends_on``) -> what is wrong.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())))


def _edges(workflow: Workflow) -> dict[str, list[str]]:
    """Every node (step, movement or site copy) -> the nodes it names in ``depends_on``."""
    edges: dict[str, list[str]] = {s.name: list(s.depends_on) for s in workflow.steps}
    for move in [*workflow.data_movements, *workflow.site_copies]:
        edges[move.name] = list(move.depends_on)
    return edges


def check_step_graph(workflow: Workflow) -> dict[str, str]:
    """Unknown names in ``depends_on`` and rings of waiting, by field path."""
    edges = _edges(workflow)
    problems: dict[str, str] = {}
    # An environment or an image build (TOSCA requirements) is there before any step.
    before = set(workflow.environments) | {c.name for c in workflow.software.containers}
    for kind, items in (("steps", workflow.steps), ("data_movements", workflow.data_movements),
                        ("site_copies", workflow.site_copies)):
        for item in items:
            unknown = [d for d in item.depends_on if d not in edges and d not in before]
            if unknown:
                problems[f"{kind}.{item.name}.depends_on"] = (
                    f"{', '.join(map(repr, unknown))}: no step or data movement of that name")
    state: dict[str, int] = {}  # 1: being visited, 2: done

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            ring = [*path[path.index(node):], node]
            kind = "steps" if node in {s.name for s in workflow.steps} else "data_movements"
            problems.setdefault(f"{kind}.{node}.depends_on",
                                "the steps wait for each other: " + " -> ".join(ring))
            return
        state[node] = 1
        for dep in edges.get(node, []):
            if dep in edges:
                visit(dep, [*path, node])
        state[node] = 2

    for node in edges:
        visit(node, [])
    return problems


def step_dependencies(workflow: Workflow) -> dict[str, tuple[str, ...]]:
    """Each job step -> the job steps it waits for (through movements too), in step order.

    Raises :class:`StepGraphError` for unknown names or a ring.
    """
    problems = check_step_graph(workflow)
    if problems:
        raise StepGraphError(problems)
    edges = _edges(workflow)
    steps = [s.name for s in workflow.steps]
    result: dict[str, tuple[str, ...]] = {}
    for step in steps:
        found: set[str] = set()
        stack, seen = list(edges[step]), set()
        while stack:
            node = stack.pop()
            if node in seen or node not in edges:
                continue
            seen.add(node)
            if node in edges and node in steps:
                found.add(node)  # the nearest job step on this path
            else:
                stack.extend(edges[node])
        result[step] = tuple(s for s in steps if s in found)
    return result


def _entry_and_final(deps: dict[str, tuple[str, ...]]) -> tuple[list[str], list[str]]:
    waited_for = {d for ds in deps.values() for d in ds}
    entry = [s for s, ds in deps.items() if not ds]
    final = [s for s in deps if s not in waited_for]
    return entry, final


def movements_by_step(workflow: Workflow) -> dict[str, tuple[str, ...]]:
    """Each job step -> the data movements its deployment does (stage-in and stage-out).

    A movement goes with the steps next to it (see the module's docstring); one next to
    none goes with the entry steps (in) or the final steps (out) of its environment.
    """
    deps = step_dependencies(workflow)
    edges = _edges(workflow)
    steps = set(deps)
    entry, final = _entry_and_final(deps)
    moved: dict[str, list[str]] = {s: [] for s in deps}
    environment = {s.name: s.environment for s in workflow.steps}
    for move in workflow.data_movements:
        if move.direction == "in":
            owners = [s for s in deps if _reaches(edges, s, move.name, steps)]
            ends = entry
        else:
            owners = _nearest_steps(edges, move.name, steps)
            ends = final
        # Next to no step: the entry (or final) steps on its environment, else all of them.
        owners = owners or [s for s in ends if environment[s] == move.environment] or ends
        for owner in owners:
            moved[owner].append(move.name)
    return {s: tuple(m) for s, m in moved.items()}


def site_copy_ends(workflow: Workflow) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each site copy -> (the job steps it copies after, the job steps that wait for it).

    A copy happens between jobs: after the nearest jobs it depends on (through
    movements too), before every job that reaches it without another job between.
    """
    edges = _edges(workflow)
    steps = {s.name for s in workflow.steps}
    order = [s.name for s in workflow.steps]
    ends = {}
    for copy in workflow.site_copies:
        before = set(_nearest_steps(edges, copy.name, steps))
        after = {s for s in order if _reaches(edges, s, copy.name, steps)}
        ends[copy.name] = (tuple(s for s in order if s in before),
                           tuple(s for s in order if s in after))
    return ends


def _nearest_steps(edges: dict[str, list[str]], node: str, steps: set[str]) -> list[str]:
    found: list[str] = []
    stack, seen = list(edges.get(node, [])), set()
    while stack:
        current = stack.pop()
        if current in seen or current not in edges:
            continue
        seen.add(current)
        if current in steps:
            found.append(current)
        else:
            stack.extend(edges[current])
    return found


def _reaches(edges: dict[str, list[str]], step: str, target: str, steps: set[str]) -> bool:
    """``step`` depends on ``target`` without another job step in between."""
    stack, seen = list(edges.get(step, [])), set()
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current in seen or current not in edges or current in steps:
            continue
        seen.add(current)
        stack.extend(edges[current])
    return False


def ancestors(deps: dict[str, tuple[str, ...]], step: str) -> set[str]:
    """Every job step ``step`` waits for, directly or not."""
    found: set[str] = set()
    stack = list(deps.get(step, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(deps.get(current, ()))
    return found


def successors(deps: dict[str, tuple[str, ...]], steps: Iterable[str]) -> set[str]:
    """Every job step that waits, directly or not, for one of ``steps``."""
    start = set(steps)
    return {s for s in deps if ancestors(deps, s) & start}


__all__ = ["StepGraphError", "ancestors", "check_step_graph", "movements_by_step",
           "step_dependencies", "successors"]
