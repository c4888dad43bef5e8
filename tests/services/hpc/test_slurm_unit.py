"""The Slurm client without a cluster: state mapping, parsing and input validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eflows_kernel.services.errors import ServiceError, ValidationError
from eflows_kernel.services.executions import ExecutionState
from eflows_kernel.services.hpc import slurm


class NoClient:
    """Any use means a bad value reached the site."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the client was used ({name})")


@pytest.mark.parametrize(("slurm_state", "expected"), [
    ("PENDING", ExecutionState.SUBMITTED),
    ("CONFIGURING", ExecutionState.SUBMITTED),
    ("REQUEUED", ExecutionState.SUBMITTED),
    ("RUNNING", ExecutionState.RUNNING),
    ("COMPLETING", ExecutionState.RUNNING),
    ("SUSPENDED", ExecutionState.RUNNING),
    ("COMPLETED", ExecutionState.DONE),
    ("FAILED", ExecutionState.FAILED),
    ("TIMEOUT", ExecutionState.FAILED),
    ("NODE_FAIL", ExecutionState.FAILED),
    ("OUT_OF_MEMORY", ExecutionState.FAILED),
    ("BOOT_FAIL", ExecutionState.FAILED),
    ("PREEMPTED", ExecutionState.FAILED),
    ("DEADLINE", ExecutionState.FAILED),
    ("CANCELLED", ExecutionState.CANCELLED),
    ("CANCELLED by 0", ExecutionState.CANCELLED),
    ("PENDING+", ExecutionState.SUBMITTED),
])
def test_slurm_states_map_to_execution_states(slurm_state: str,
                                              expected: ExecutionState) -> None:
    assert slurm.to_execution_state(slurm_state) is expected


def test_unknown_state_fails_loudly() -> None:
    with pytest.raises(slurm.SlurmError, match="WIBBLE"):
        slurm.to_execution_state("WIBBLE")


def test_finished_states() -> None:
    assert slurm.JobState("COMPLETED").finished
    assert slurm.JobState("OUT_OF_MEMORY").finished
    assert not slurm.JobState("COMPLETING").finished
    assert not slurm.JobState("PENDING").finished


def test_errors_are_service_errors() -> None:
    assert issubclass(slurm.SlurmError, ServiceError)
    assert slurm.JobRejected.status == 400
    assert slurm.JobNotFound.status == 404


@pytest.mark.parametrize("bad", ["1; touch /tmp/pwned", "$(id)", "12 13", "", "-1", "1\n2"])
def test_bad_job_ids_never_reach_the_site(bad: str) -> None:
    with pytest.raises(ValidationError):
        slurm.state(NoClient(), bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        slurm.cancel(NoClient(), bad)  # type: ignore[arg-type]


def test_wait_status_split() -> None:
    assert slurm._split_status("768") == (3, None)
    assert slurm._split_status("15") == (0, 15)
    assert slurm._split_status("0") == (0, None)
    assert slurm._split_status("N/A") == (None, None)


def test_time_limits() -> None:
    assert slurm._time_limit(5) == "5"
    assert slurm._time_limit("1-02:03:04") == "1-02:03:04"
    assert slurm._time_limit(timedelta(seconds=61)) == "2"
    for bad in ("5; rm -rf ~", "$(id)", 0, -3):
        with pytest.raises(ValidationError):
            slurm._time_limit(bad)


def test_cancel_reason_says_who() -> None:
    assert slurm._reason("CANCELLED", "None", slurm.CANCEL_MARK, 15) == \
        "cancelled through eflows, signal 15"
    assert "outside eflows" in (slurm._reason("CANCELLED", "None", "", None) or "")
    assert slurm._reason("FAILED", "NonZeroExitCode", "", None) == "NonZeroExitCode"
    assert slurm._reason("COMPLETED", "None", "", None) is None


def test_a_refused_qos_or_account_is_named_with_the_way_out() -> None:
    # sbatch's own words on a cluster with accounting (Slurm 22.05).
    qos = slurm.refusal("sbatch: error: Batch job submission failed: Invalid qos "
                        "specification", qos="eflows-nope", account="proj")
    assert qos.status == 400 and qos.details["field"] == "qos"
    assert "Invalid qos specification" in qos.message  # Slurm's own message stays
    assert "QOS 'eflows-nope' is not one your account may use" in qos.message
    assert "sacctmgr show assoc" in qos.message
    default = slurm.refusal("sbatch: error: Invalid qos specification")
    assert "the default QOS of your account" in default.message
    account = slurm.refusal("sbatch: error: Batch job submission failed: Invalid account "
                            "or account/partition combination specified", account="nope",
                            partition="multi")
    assert account.details["field"] == "account"
    assert "account 'nope' is not one you may charge" in account.message
    assert "(partition 'multi')" in account.message
    other = slurm.refusal("sbatch: error: Batch job submission failed: Requested node "
                          "configuration is not available", qos="normal")
    assert other.message == ("sbatch refused the job: Batch job submission failed: "
                             "Requested node configuration is not available")
    assert other.details["sbatch"].startswith("sbatch: error: ")  # as Slurm said it
    assert "field" not in other.details
