"""Pending reasons that will not clear by waiting are said with what to change."""

from __future__ import annotations

import pytest

from eflows_kernel.services.hpc.pending_reasons import pending_warning, unrunnable


@pytest.mark.parametrize("reason, field", [
    ("PartitionNodeLimit", "num_nodes"),
    ("PartitionTimeLimit", "time_limit"),
    ("QOSMaxWallDurationPerJobLimit", "time_limit"),
    ("AssocMaxNodesPerJobLimit", "num_nodes"),
    ("InvalidQOS", "qos"),
])
def test_a_reason_that_never_clears_names_the_field_to_change(reason: str, field: str) -> None:
    said = pending_warning("42", reason)
    assert said is not None
    assert "Slurm job 42" in said and reason in said and field in said
    assert "will not start as submitted" in said


@pytest.mark.parametrize("reason", ["Resources", "Priority", "ReqNodeNotAvail", "None", "",
                                    None, "QOSGrpCpuLimit", "Dependency", "BeginTime"])
def test_reasons_that_clear_by_waiting_say_nothing(reason: str | None) -> None:
    assert unrunnable(reason) is None
    assert pending_warning("42", reason or "") is None


def test_the_first_of_several_reasons_is_read() -> None:
    assert unrunnable("PartitionNodeLimit,PartitionTimeLimit") == unrunnable(
        "PartitionNodeLimit")
