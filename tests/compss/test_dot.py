"""The COMPSs DOT reader on the real graphs the runtime wrote (tests/fixtures/compss-graphs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eflows_kernel.compss.dot import parse_dot
from eflows_kernel.compss.graph import parse_compss_graph, read_compss_graph

GRAPHS = Path(__file__).resolve().parents[1] / "fixtures" / "compss-graphs"

# file: (tasks, sync points, edges, data edges, task groups, commutative groups, legend rows)
EXPECTED = {
    "0_annotation_commutative.dot": (32, 4, 44, 28, 0, 5, 9),
    "1_compss_exceptions.dot": (16, 5, 24, 12, 4, 0, 4),
    "2_cancel_running_tasks.dot": (16, 3, 20, 16, 2, 0, 5),
    "2_task_groups.dot": (24, 11, 44, 18, 10, 0, 2),
}


def test_all_fixtures_are_covered() -> None:
    assert sorted(p.name for p in GRAPHS.glob("*.dot")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts(name: str) -> None:
    g = read_compss_graph(GRAPHS / name)
    tasks, syncs, edges, data_edges, groups, commutative, legend = EXPECTED[name]
    assert len(g.tasks) == tasks
    assert sorted(g.tasks) == list(range(1, tasks + 1))
    assert len(g.syncs) == syncs
    assert len(g.edges) == edges == (GRAPHS / name).read_text().count("->")
    assert sum(e.data_id is not None for e in g.edges) == data_edges
    assert len(g.groups) == groups
    assert len(g.commutative_groups) == commutative
    assert len(g.legend) == legend
    # every task's fill colour is a legend entry: the colour is the task type
    assert all(t.name is not None for t in g.tasks.values())
    assert g.syncs["Synchro0"].kind == "main"


def test_names_edges_and_sync_kinds() -> None:
    g = read_compss_graph(GRAPHS / "1_compss_exceptions.dot")
    assert g.tasks[1].name == "testCOMPSsExceptions.task_with_return"
    assert g.tasks[7].name == "testCOMPSsExceptions.write_two"  # red = a type, not a failure
    assert g.tasks[8].name == "testCOMPSsExceptions.write_one"
    assert {s.kind for k, s in g.syncs.items() if k != "Synchro0"} == {"barrier"}
    edge = next(e for e in g.edges if (e.src, e.dst) == ("1", "2"))
    assert (edge.data_id, edge.version) == (1, 2)
    grey = [e for e in g.edges if e.grey]
    assert len(grey) == 8 and all(e.dst.startswith("Synchro") for e in grey)
    assert g.deps(2) == [1] and g.deps(7) == [] and g.deps(9) == [8]
    assert g.tasks[9].groups == ("exceptionGroup2",)
    assert g.tasks[7].groups == ()


def test_nested_groups() -> None:
    g = read_compss_graph(GRAPHS / "2_task_groups.dot")
    assert g.tasks[1].groups == ("bigGroup", "group0")
    assert g.tasks[10].groups == ("individualGroup",)
    assert g.groups["group5"].parent == "bigGroup2"
    assert g.groups["bigGroup"].parent is None
    assert g.groups["bigGroup"].tasks == tuple(range(1, 10))
    assert g.groups["individualGroup2"].tasks == (22, 23, 24)
    assert "Synchro0" not in g.tasks  # edge to a group's first task does not make it a member


def test_commutative_groups_expand_ltail_deps() -> None:
    g = read_compss_graph(GRAPHS / "0_annotation_commutative.dot")
    assert g.commutative_groups["CGT6_4"] == (9, 10, 11)
    assert g.commutative_groups["CGT8_7"] == tuple(range(19, 26))  # declared after its edges
    assert g.tasks[19].commutative == "CGT8_7"
    assert g.deps(8) == [6, 7]  # 6 -> 8 [ltail=clusterCommutative6_2]
    assert g.deps(12) == [1, 9, 10, 11]
    assert g.deps(27) == [26] and g.deps(19) == []


def test_cancel_fixture_groups_and_deps() -> None:
    g = read_compss_graph(GRAPHS / "2_cancel_running_tasks.dot")
    assert g.groups["failedGroup"].tasks == (1, 2, 3, 4, 5, 6)
    assert g.tasks[5].name == "testCancelRunningTasks.cancelled_task"
    assert g.deps(5) == [4] and g.deps(1) == []  # main -> 1 carries data but is no task


def test_tolerant_of_truncated_and_odd_input() -> None:
    text = (GRAPHS / "2_task_groups.dot").read_text()
    partial = parse_compss_graph(text[: len(text) // 2])  # file being rewritten
    assert 0 < len(partial.tasks) < 24
    assert parse_compss_graph("").tasks == {}
    dot = parse_dot('digraph { /* c */ a -> b -> c [label="x y"]; // tail\n "q\\"r" [k=v] }')
    assert [(e.src, e.dst) for e in dot.edges] == [("a", "b"), ("b", "c")]
    assert dot.edges[1].attrs["label"] == "x y"
    assert dot.nodes['q"r'].attrs == {"k": "v"}
