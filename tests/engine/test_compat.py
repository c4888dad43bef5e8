"""The pycompss.* import paths PyCOMPSs users write resolve to this layer."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(("module", "names"), [
    ("pycompss.api.task", ["task"]),
    ("pycompss.api.parameter", ["IN", "OUT", "INOUT", "IN_DELETE", "FILE_IN", "FILE_OUT",
                                "FILE_INOUT", "COLLECTION_IN", "COLLECTION_INOUT", "Type",
                                "Direction", "Depth", "FILE", "COLLECTION"]),
    ("pycompss.api.api", ["compss_wait_on", "compss_wait_on_file", "compss_open",
                          "compss_barrier", "compss_barrier_group", "compss_cancel_group",
                          "compss_delete_file", "compss_delete_object", "compss_file_exists",
                          "TaskGroup"]),
    ("pycompss.api.constraint", ["constraint"]),
    ("pycompss.api.exceptions", ["COMPSsException"]),
    ("pycompss.api.on_failure", ["on_failure"]),
    ("pycompss.api.task_group", ["TaskGroup"]),
])
def test_pycompss_import_paths(pycompss_shim, module, names):
    imported = importlib.import_module(module)
    missing = [n for n in names if not hasattr(imported, n)]
    assert not missing


def test_the_alias_serves_our_objects(pycompss_shim):
    from pycompss.api.exceptions import COMPSsException
    from pycompss.api.task import task

    from eflows_kernel.model import COMPSsException as Ours
    from eflows_kernel.model import task as our_task

    assert task is our_task and COMPSsException is Ours


def test_the_dict_form_of_directions(pycompss_shim):
    from pycompss.api.parameter import COLLECTION_IN, FILE, IN, Depth, Direction, Type

    from eflows_kernel.model.parameter import DataType, parse_param_spec

    spec = parse_param_spec({Type: COLLECTION_IN, Depth: 2}, task_name="t", param="p")
    assert spec.type is DataType.COLLECTION and spec.depth == 2
    spec = parse_param_spec({Type: FILE, Direction: IN}, task_name="t", param="p")
    assert spec.type is DataType.FILE and not spec.writes
