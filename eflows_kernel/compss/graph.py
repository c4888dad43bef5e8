"""What a COMPSs task graph says: tasks and their functions, groups, sync points, data edges.

Read from the DOT the runtime writes (``dot.py`` parses it, whatever it holds); the
dialect is described there.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from eflows_kernel.compss.dot import DotSubgraph, parse_dot

__all__ = ["CompssEdge", "CompssGraph", "CompssGroup", "CompssTask", "SyncPoint",
           "parse_compss_graph", "read_compss_graph"]

TASK_GROUP_PREFIX = "clusterTasks"
COMMUTATIVE_PREFIX = "clusterCommutative"
_DATA_LABEL_RE = re.compile(r"^d(\d+)v(\d+)$")
_LEGEND_ROW_RE = re.compile(
    r"<tr>\s*<td[^>]*>(?P<name>.*?)</td>\s*<td[^>]*bgcolor=\"?(?P<color>#[0-9a-fA-F]{6})",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(frozen=True)
class CompssTask:
    """A method task of the COMPSs graph."""

    id: int
    name: str | None  # function signature from the legend, e.g. ``module.function``
    color: str | None  # fill colour: the task *type*, not its state
    groups: tuple[str, ...] = ()  # task groups, outermost first (nested groups)
    commutative: str | None = None  # label of its commutative group (``CGT6_2``), if any
    cluster: str | None = None  # label of an enclosing cluster that is not a group (workers)
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SyncPoint:
    """A synchronisation point (``main``, ``barrier`` or ``sync``)."""

    id: str
    kind: str


@dataclass(frozen=True)
class CompssEdge:
    """A dependency edge; ``data_id``/``version`` come from the ``d<id>v<version>`` label."""

    src: str
    dst: str
    data_id: int | None = None
    version: int | None = None
    from_cluster: str | None = None  # ``ltail``: the edge leaves the whole cluster
    grey: bool = False  # ordering-only edge between synchronisation points


@dataclass(frozen=True)
class CompssGroup:
    """A task group (``clusterTasks<name>``); ``parent`` is the enclosing group's name."""

    name: str
    parent: str | None
    tasks: tuple[int, ...]


@dataclass
class CompssGraph:
    """What a COMPSs task-graph file says: tasks, sync points, edges, groups, legend."""

    tasks: dict[int, CompssTask] = field(default_factory=dict)
    syncs: dict[str, SyncPoint] = field(default_factory=dict)
    edges: list[CompssEdge] = field(default_factory=list)
    groups: dict[str, CompssGroup] = field(default_factory=dict)
    commutative_groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    legend: dict[str, str] = field(default_factory=dict)  # colour (lower case) -> name
    cluster_members: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def deps(self, task_id: int) -> list[int]:
        """Ids of the tasks ``task_id`` waits for (data edges; sync points are not tasks).

        An edge with ``ltail`` leaves a whole commutative group or task group: the task
        then waits for every task of that cluster, whichever of them wrote last.
        """
        found: set[int] = set()
        dst = str(task_id)
        for edge in self.edges:
            if edge.dst != dst:
                continue
            members = self.cluster_members.get(edge.from_cluster or "")
            if members:
                found.update(members)
            elif edge.src.isdigit():
                found.add(int(edge.src))
        found.discard(task_id)
        return sorted(found)


def _group_name(sub: DotSubgraph) -> str:
    label = sub.attrs.get("label")
    return label if label else sub.name[len(TASK_GROUP_PREFIX) :]


def parse_compss_graph(text: str) -> CompssGraph:
    """Turn COMPSs DOT text into a :class:`CompssGraph` (see the module docstring)."""
    dot = parse_dot(text)
    graph = CompssGraph()
    for node in dot.nodes.values():
        if node.id == "key" or "table" in node.attrs.get("label", "").lower():
            for m in _LEGEND_ROW_RE.finditer(node.attrs.get("label", "")):
                name = html.unescape(re.sub(r"<[^>]+>", "", m.group("name"))).strip()
                graph.legend[m.group("color").lower()] = name
    members: dict[str, list[int]] = {}
    for node in dot.nodes.values():
        shape = node.attrs.get("shape", "")
        if shape == "octagon" or node.id.startswith("Synchro"):
            graph.syncs[node.id] = SyncPoint(node.id, node.attrs.get("label", "sync"))
            continue
        if not node.id.isdigit():
            continue  # legend key, stream nodes and anything else that is not a task
        tid = int(node.id)
        color = node.attrs.get("fillcolor")
        color = color.lower() if color else None
        groups: list[str] = []
        commutative = cluster = None
        for sub_name in dot.ancestors(node.subgraph):
            sub = dot.subgraphs[sub_name]
            members.setdefault(sub_name, []).append(tid)
            if sub_name.startswith(TASK_GROUP_PREFIX):
                groups.append(_group_name(sub))
            elif sub_name.startswith(COMMUTATIVE_PREFIX):
                commutative = sub.attrs.get("label", sub_name)
            elif sub_name.startswith("cluster") and sub.attrs.get("label"):
                cluster = sub.attrs["label"]
        graph.tasks[tid] = CompssTask(
            id=tid,
            name=graph.legend.get(color) if color else None,
            color=color,
            groups=tuple(groups),
            commutative=commutative,
            cluster=cluster,
            attrs=tuple(sorted(node.attrs.items())),
        )
    graph.cluster_members = {k: tuple(v) for k, v in members.items()}
    for sub in dot.subgraphs.values():
        if sub.name.startswith(TASK_GROUP_PREFIX):
            parent = next(
                (
                    _group_name(dot.subgraphs[p])
                    for p in reversed(dot.ancestors(sub.parent))
                    if p.startswith(TASK_GROUP_PREFIX)
                ),
                None,
            )
            name = _group_name(sub)
            graph.groups[name] = CompssGroup(name, parent, graph.cluster_members.get(sub.name, ()))
        elif sub.name.startswith(COMMUTATIVE_PREFIX):
            label = sub.attrs.get("label", sub.name)
            graph.commutative_groups[label] = graph.cluster_members.get(sub.name, ())
    for edge in dot.edges:
        m = _DATA_LABEL_RE.match(edge.attrs.get("label", ""))
        graph.edges.append(
            CompssEdge(
                src=edge.src,
                dst=edge.dst,
                data_id=int(m.group(1)) if m else None,
                version=int(m.group(2)) if m else None,
                from_cluster=edge.attrs.get("ltail"),
                grey=edge.attrs.get("color", "").lower() in ("grey", "gray"),
            )
        )
    return graph


def read_compss_graph(path: str | Path) -> CompssGraph:
    """Read and parse a COMPSs DOT file (decoding errors are replaced, never fatal)."""
    return parse_compss_graph(Path(path).read_text(encoding="utf-8", errors="replace"))
