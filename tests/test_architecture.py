"""The architecture as a test: no import cycle, and no layer imports one above it.

Every module of ``eflows_kernel`` and ``eflows_extension`` is parsed (never imported) and
every import in it counted, at module level and inside functions (a lazy import that
dodges a loop is still a loop). Imports under ``if TYPE_CHECKING:`` never run: they count
for the layering (a lower layer may not even name a type of an upper one), not as a
cycle (a helper module may annotate the class it serves). docs/architecture.md draws the
same layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"eflows_kernel": REPO / "eflows_kernel",
         "eflows_extension": REPO / "extension" / "eflows_extension"}

# Each area and the areas it may import (besides itself). Lowest first; an area name is
# a module prefix, the longest one that matches decides.
MAY_IMPORT: dict[str, set[str]] = {
    "eflows_kernel.about": set(),
    "eflows_kernel.model": set(),
    "eflows_kernel.events": set(),
    "eflows_kernel.streams": {"eflows_kernel.model"},  # pycompss.streams on Dask
    "eflows_kernel.compat": {"eflows_kernel.model", "eflows_kernel.streams"},
    "eflows_kernel.compss": {"eflows_kernel.events"},
    "eflows_kernel.engine": {"eflows_kernel.model", "eflows_kernel.events",
                             "eflows_kernel.compat", "eflows_kernel.streams"},
    "eflows_kernel.services": set(),  # the package's docstring
    "eflows_kernel.services.errors": set(),
    "eflows_kernel.services.lifecycle": set(),
    "eflows_kernel.services.log_query": {"eflows_kernel.services.errors"},
    "eflows_kernel.services.paths": {  # the one safe-name and one safe-path rule
        "eflows_kernel.services.errors"},  # (an unsafe path is a 400)
    "eflows_kernel.services.bounds": set(),  # how big and deep an outside value may be
    "eflows_kernel.services.state": {"eflows_kernel.services.errors"},
    "eflows_kernel.services.workflows": {"eflows_kernel.services.errors",
                                         "eflows_kernel.services.state"},
    "eflows_kernel.services.credentials": {"eflows_kernel.services.errors",
                                           "eflows_kernel.services.state"},
    "eflows_kernel.services.hpc": {"eflows_kernel.events", "eflows_kernel.services.errors",
                                   "eflows_kernel.services.lifecycle",
                                   "eflows_kernel.services.paths"},
    "eflows_kernel.services.sites": {"eflows_kernel.services.errors",
                                     "eflows_kernel.services.state",
                                     "eflows_kernel.services.credentials",
                                     "eflows_kernel.services.hpc"},
    "eflows_kernel.services.transfers": {  # data logistics: locations, movements, schedules
        "eflows_kernel.events", "eflows_kernel.services.errors", "eflows_kernel.services.paths",
        "eflows_kernel.services.state", "eflows_kernel.services.credentials",
        "eflows_kernel.services.hpc", "eflows_kernel.services.sites"},
    "eflows_kernel.services.executions": {
        "eflows_kernel.about", "eflows_kernel.events", "eflows_kernel.services.errors",
        "eflows_kernel.services.lifecycle", "eflows_kernel.services.log_query",
        "eflows_kernel.services.state", "eflows_kernel.services.workflows",
        "eflows_kernel.services.sites"},
    "eflows_kernel.services.deploy": {  # the model: what an application's tasks declare
        "eflows_kernel.about", "eflows_kernel.events", "eflows_kernel.compss",
        "eflows_kernel.model",
        "eflows_kernel.services.errors", "eflows_kernel.services.lifecycle",
        "eflows_kernel.services.paths",
        "eflows_kernel.services.state", "eflows_kernel.services.workflows",
        "eflows_kernel.services.hpc", "eflows_kernel.services.sites",
        "eflows_kernel.services.executions", "eflows_kernel.services.transfers"},
    "eflows_kernel.services.app": {  # the composition root builds them all
        "eflows_kernel.about", "eflows_kernel.services.errors", "eflows_kernel.services.state",
        "eflows_kernel.services.workflows", "eflows_kernel.services.credentials",
        "eflows_kernel.services.transfers", "eflows_kernel.services.hpc",
        "eflows_kernel.services.sites", "eflows_kernel.services.executions",
        "eflows_kernel.services.deploy"},
    "eflows_kernel.client": {
        "eflows_kernel.about", "eflows_kernel.events", "eflows_kernel.services.errors",
        "eflows_kernel.services.state", "eflows_kernel.services.workflows",
        "eflows_kernel.services.credentials", "eflows_kernel.services.hpc",
        "eflows_kernel.services.sites", "eflows_kernel.services.executions",
        "eflows_kernel.services.transfers", "eflows_kernel.services.app"},
    "eflows_kernel.cli": {"eflows_kernel.client", "eflows_kernel.services.errors",
                          "eflows_kernel.services.log_query",
                          "eflows_kernel.services.sites", "eflows_kernel.services.workflows"},
    "eflows_kernel.widgets": {"eflows_kernel.events", "eflows_kernel.engine"},
    "eflows_kernel.ui": {"eflows_kernel.client", "eflows_kernel.widgets",
                         "eflows_kernel.services.errors", "eflows_kernel.services.workflows"},
    "eflows_kernel.kernel": {"eflows_kernel.about", "eflows_kernel.compat",
                             "eflows_kernel.engine", "eflows_kernel.widgets",
                             # the task errors a cell's failure display recognises
                             "eflows_kernel.model",
                             "eflows_kernel.client", "eflows_kernel.ui", "eflows_kernel"},
    "eflows_kernel": {  # the package's facade: start(), stop(), portal(), live_view()
        "eflows_kernel.about", "eflows_kernel.compat", "eflows_kernel.engine",
        "eflows_kernel.kernel", "eflows_kernel.widgets", "eflows_kernel.ui"},
    "eflows_extension": {  # the server extension: HTTP over the composition root
        "eflows_kernel.about", "eflows_kernel.services.errors",
        "eflows_kernel.services.lifecycle", "eflows_kernel.services.log_query",
        "eflows_kernel.services.workflows",
        "eflows_kernel.services.credentials", "eflows_kernel.services.sites",
        "eflows_kernel.services.executions", "eflows_kernel.services.transfers",
        "eflows_kernel.services.app"},
}
# The safe-name, safe-path and bounded-value rules are at the bottom, beside the errors:
# every area that names or writes files, or takes values from outside, uses them.
_RULES = {"eflows_kernel.services.paths", "eflows_kernel.services.bounds"}
for _area in ("workflows", "hpc", "sites", "executions", "deploy", "app"):
    MAY_IMPORT[f"eflows_kernel.services.{_area}"] |= _RULES
MAY_IMPORT["eflows_kernel.client"] |= _RULES
MAY_IMPORT["eflows_extension"] |= _RULES
# The one pair of areas allowed to import each other: the Jupyter kernel starts its engine
# through the public eflows_kernel.start(), whose IPython integration lives in kernel/.
# (No module cycle comes of it: test_no_import_cycle holds for every module.)
TWO_WAY = {frozenset({"eflows_kernel", "eflows_kernel.kernel"})}
# The one module cycle left, through that pair: eflows_kernel.start() turns the IPython
# integration on, which registers %eflows, whose "portal" calls eflows_kernel.portal()
# (tests/kernel/test_magics.py wants it through the facade). The magic importing
# eflows_kernel.ui.portal itself would end it; then this entry must go (a test says so).
ALLOWED_CYCLES = [["eflows_kernel", "eflows_kernel.kernel.integration",
                   "eflows_kernel.kernel.magics"]]


def _modules() -> dict[str, Path]:
    found = {}
    for top, root in ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            parts = [top, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _known(name: str) -> str | None:
    """The module of ours that importing ``name`` runs last (its longest known prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the import statements under ``if TYPE_CHECKING:`` (never executed)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
                "TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped.update(id(n) for branch in node.body for n in ast.walk(branch))
    return skipped


def _imports(module: str, path: Path, executed_only: bool = False) -> set[str]:
    """Every module of ours ``module`` imports, wherever the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree) if executed_only else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(t for a in node.names if (t := _known(a.name)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                target = submodule if submodule in MODULES else _known(base)
                if target:
                    found.add(target)
    found.discard(module)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}
EXECUTED = {module: _imports(module, path, executed_only=True)
            for module, path in MODULES.items()}


def _area(module: str) -> str:
    return max((a for a in MAY_IMPORT if module == a or module.startswith(a + ".")), key=len)


def _cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        yield sorted(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])


def test_every_module_is_parsed() -> None:
    assert len(MODULES) > 120
    assert "eflows_kernel.services.executions.service" in GRAPH
    assert "eflows_extension.handlers.native" in GRAPH
    assert GRAPH["eflows_kernel.services.deploy.runs"] >= {
        "eflows_kernel.services.deploy.finish", "eflows_kernel.services.hpc.remote_events"}


def test_no_import_cycle() -> None:
    cycles = [c for c in _cycles(EXECUTED) if c not in ALLOWED_CYCLES]
    assert cycles == [], "modules that import each other (directly or round a loop):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


def test_every_allowed_cycle_still_exists() -> None:
    """A cycle that was cut leaves ALLOWED_CYCLES, so none can come back unnoticed."""
    assert [c for c in ALLOWED_CYCLES if c not in list(_cycles(EXECUTED))] == []


def test_no_layer_imports_one_above_it() -> None:
    wrong = sorted(f"{module} imports {target}"
                   for module, targets in GRAPH.items() for target in targets
                   if _area(target) != _area(module)
                   and _area(target) not in MAY_IMPORT[_area(module)])
    assert wrong == [], "imports against the layering (see MAY_IMPORT):\n" + "\n".join(wrong)


def test_the_layers_themselves_have_no_cycle() -> None:
    layers = {area: {t for t in allowed if frozenset({area, t}) not in TWO_WAY}
              for area, allowed in MAY_IMPORT.items()}
    assert list(_cycles(layers)) == []


@pytest.mark.parametrize(("lower", "upper"), [
    ("eflows_kernel.services.hpc", "eflows_kernel.services.executions"),
    ("eflows_kernel.services.hpc", "eflows_kernel.services.sites"),
    ("eflows_kernel.model", "eflows_kernel.engine"),
    ("eflows_kernel.compss", "eflows_kernel.services.deploy"),
    ("eflows_kernel.services.executions", "eflows_kernel.services.deploy"),
    ("eflows_kernel.services.deploy", "eflows_kernel.services.app"),
    ("eflows_kernel.services.app", "eflows_kernel.client"),
    ("eflows_kernel.services.executions", "eflows_extension"),
])
def test_lower_layers_know_nothing_of_upper_ones(lower: str, upper: str) -> None:
    assert upper not in MAY_IMPORT[lower]
    users = [m for m, targets in GRAPH.items() if _area(m) == lower
             for t in targets if _area(t) == upper]
    assert users == []
