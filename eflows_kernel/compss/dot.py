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

import itertools
import re
from dataclasses import dataclass, field

__all__ = ["DotEdge", "DotGraph", "DotNode", "DotSubgraph", "parse_dot"]

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
