"""A small, tolerant reader for the Graphviz DOT files the COMPSs runtime writes.

COMPSs (``GraphGenerator`` in the runtime) writes its task graphs as plain text in a narrow
dialect, and the files are read *while the runtime writes them* (``current_graph.dot`` is
rewritten at every monitor tick), so we want a parser that never needs Graphviz or pydot and
that survives a truncated or slightly odd file instead of raising. What the dialect encodes
(checked on the real files in ``tests/fixtures/compss-graphs/``):

- method tasks: ``<id>[shape=circle, style=filled fillcolor="#rrggbb" ...]`` where ``<id>`` is
  the COMPSs task id (1, 2, ...). The fill colour identifies the *task type* (core element),
  never the task's state; the colour-to-function mapping is the HTML table of the ``key``
  node in the ``legend`` subgraph (``<td>module.function</td><td bgcolor="#rrggbb">``);
- synchronisation points: ``Synchro<n>[label="main"|"barrier"|"sync", shape=octagon]``;
- data dependencies: ``<src> -> <dst> [label="d<data id>v<version>"]``; edges drawn grey
  (``[color=grey]``) only order synchronisation points; ``[ ltail="cluster..." ]`` means the
  edge leaves from the whole cluster (a commutative group or a task group);
- task groups: ``subgraph clusterTasks<name> { label="<name>"; ... }``, nested for nested
  groups; commutative task groups: ``subgraph clusterCommutative<data>_<version>``
  (label ``CGT<data>_<version>``).

A node belongs to the subgraph in which its *node statement* appears (COMPSs writes edges to
a group's first task inside the group's subgraph, but they do not make the source a member).
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CompssEdge",
    "CompssGraph",
    "CompssGroup",
    "CompssTask",
    "DotEdge",
    "DotGraph",
    "DotNode",
    "DotSubgraph",
    "SyncPoint",
    "parse_compss_graph",
    "parse_dot",
    "read_compss_graph",
]

# ---------------------------------------------------------------------------------------------
# Generic DOT layer
# ---------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/|^\#[^\n]*)
  | (?P<arrow>->|--)
  | (?P<punct>[{}\[\];,=:])
  | (?P<string>"(?:[^"\\]|\\.)*"?)
  | (?P<html><)
  | (?P<id>[A-Za-z_\x80-\uffff][\w.\x80-\uffff]*|-?(?:\.\d+|\d+(?:\.\d*)?))
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)


@dataclass
class DotNode:
    """A node statement: id, merged attributes, and the subgraph it was declared in."""

    id: str
    attrs: dict[str, str] = field(default_factory=dict)
    subgraph: str | None = None  # name of the innermost enclosing subgraph, None at top level


@dataclass
class DotEdge:
    """One ``a -> b`` hop (a chain ``a -> b -> c`` gives two edges), with its attributes."""

    src: str
    dst: str
    attrs: dict[str, str] = field(default_factory=dict)
    subgraph: str | None = None


@dataclass
class DotSubgraph:
    """A named or anonymous subgraph; ``parent`` is the enclosing subgraph's name."""

    name: str
    parent: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)  # ids declared directly in it, in order


@dataclass
class DotGraph:
    """The statements of one DOT file, in file order."""

    attrs: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, DotNode] = field(default_factory=dict)
    edges: list[DotEdge] = field(default_factory=list)
    subgraphs: dict[str, DotSubgraph] = field(default_factory=dict)

    def ancestors(self, subgraph: str | None) -> list[str]:
        """Names of ``subgraph`` and its enclosing subgraphs, outermost first."""
        chain: list[str] = []
        while subgraph is not None and subgraph not in chain:
            chain.append(subgraph)
            sub = self.subgraphs.get(subgraph)
            subgraph = sub.parent if sub else None
        return chain[::-1]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # pragma: no cover - the 'other' branch matches any character
            break
        kind = m.lastgroup or "other"
        if kind == "html":  # <...> with nested angle brackets
            depth, i = 0, pos
            while i < n:
                if text[i] == "<":
                    depth += 1
                elif text[i] == ">":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            tokens.append(("id", text[pos + 1 : i]))
            pos = i + 1
            continue
        value = m.group(kind)
        pos = m.end()
        if kind in ("ws", "comment", "other"):
            continue
        if kind == "string":
            body = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
            tokens.append(("id", body.replace('\\"', '"').replace("\\\n", "")))
        elif kind == "id":
            tokens.append(("id", value))
        else:
            tokens.append((kind, value))
    return tokens


class _Parser:
    """Recursive descent over the token list; unknown or broken input is skipped, not fatal."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.graph = DotGraph()
        self._anon = 0

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> tuple[str, str] | None:
        tok = self.peek()
        self.i += 1
        return tok

    def is_punct(self, value: str, k: int = 0) -> bool:
        tok = self.peek(k)
        return tok is not None and tok[0] in ("punct", "arrow") and tok[1] == value

    def parse(self) -> DotGraph:
        # [strict] (graph|digraph) [id] { stmts }
        while self.peek() is not None and not self.is_punct("{"):
            self.take()
        if self.peek() is not None:
            self.take()
            self.stmts(None)
        return self.graph

    def stmts(self, sub: str | None) -> None:
        while self.peek() is not None:
            if self.is_punct("}"):
                self.take()
                return
            if self.is_punct(";") or self.is_punct(","):
                self.take()
                continue
            self.stmt(sub)

    def attr_lists(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        while self.is_punct("["):
            self.take()
            while self.peek() is not None and not self.is_punct("]"):
                tok = self.take()
                if tok is None or tok[0] != "id":
                    continue
                if self.is_punct("="):
                    self.take()
                    val = self.take()
                    attrs[tok[1]] = val[1] if val is not None and val[0] == "id" else ""
                else:
                    attrs[tok[1]] = "true"
            if self.peek() is not None:
                self.take()  # ']'
        return attrs

    def node_ref(self, sub: str | None) -> str | None:
        """A node id (``a``, ``a:port``) or an inline subgraph used as an edge end."""
        tok = self.peek()
        if tok is None or tok[0] != "id":
            return None
        self.take()
        if self.is_punct(":") and self.peek(1) and self.peek(1)[0] == "id":  # type: ignore[index]
            self.take()
            self.take()
        return tok[1]

    def subgraph(self, parent: str | None, name: str | None) -> str:
        if name is None:
            self._anon += 1
            name = f"__anon{self._anon}"
        if name not in self.graph.subgraphs:
            self.graph.subgraphs[name] = DotSubgraph(name=name, parent=parent)
        self.take()  # '{'
        self.stmts(name)
        return name

    def stmt(self, sub: str | None) -> None:
        tok = self.peek()
        assert tok is not None
        if tok == ("id", "subgraph") or self.is_punct("{"):
            name = None
            if tok == ("id", "subgraph"):
                self.take()
                nxt = self.peek()
                if nxt is not None and nxt[0] == "id":
                    name = nxt[1]
                    self.take()
            if self.is_punct("{"):
                self.subgraph(sub, name)
            return
        if tok[0] != "id":
            self.take()  # stray punctuation
            return
        if tok[1] in ("node", "edge", "graph") and self.is_punct("[", 1):
            self.take()
            attrs = self.attr_lists()
            if tok[1] == "graph":
                self._graph_attrs(sub).update(attrs)
            return
        if self.is_punct("=", 1):  # graph attribute: id = value
            self.take()
            self.take()
            val = self.take()
            self._graph_attrs(sub)[tok[1]] = val[1] if val and val[0] == "id" else ""
            return
        first = self.node_ref(sub)
        if first is None:
            return
        chain = [first]
        while self.is_punct("->") or self.is_punct("--"):
            self.take()
            nxt = self.node_ref(sub)
            if nxt is None:
                break
            chain.append(nxt)
        attrs = self.attr_lists()
        if len(chain) == 1:
            node = self.graph.nodes.get(first)
            if node is None:
                node = self.graph.nodes[first] = DotNode(id=first, subgraph=sub)
                if sub is not None:
                    self.graph.subgraphs[sub].nodes.append(first)
            node.attrs.update(attrs)
            return
        for src, dst in itertools.pairwise(chain):
            self.graph.edges.append(DotEdge(src=src, dst=dst, attrs=dict(attrs), subgraph=sub))

    def _graph_attrs(self, sub: str | None) -> dict[str, str]:
        return self.graph.attrs if sub is None else self.graph.subgraphs[sub].attrs


def parse_dot(text: str) -> DotGraph:
    """Parse DOT text into nodes, edges and subgraphs; never raises on malformed input."""
    return _Parser(_tokenize(text)).parse()


# ---------------------------------------------------------------------------------------------
# COMPSs layer
# ---------------------------------------------------------------------------------------------

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
