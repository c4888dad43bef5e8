"""Slurm pending reasons that will not clear by waiting, said in words with what to change.

Slurm accepts a job that asks more than its partition, QOS or account allows (unless the
site sets ``EnforcePartLimits``) and leaves it PENDING with a reason such as
``PartitionNodeLimit``: the job waits for ever and the jobs table shows one CamelCase word.
A workflow user needs to know that this job cannot start as asked, and which of the
step's fields (``num_nodes``, ``time_limit`` / ``--exec_time``, ``qos``) to change. The
job is left queued: an administrator may still raise the limit, and the user decides.

Transient reasons (Resources, Priority, ReqNodeNotAvail, the Grp* limits shared with
other jobs...) are not here: those clear when other jobs end.
"""

from __future__ import annotations

_NODES = "lower the step's num_nodes"
_TIME = "lower the step's time_limit (or --exec_time in extra_compss_opts)"
_LIMIT_OF = {
    "Partition": "its partition (sinfo -p <partition>; scontrol show partition)",
    "QOS": "its QOS (sacctmgr show qos)",
    "Assoc": "the account it runs under (sacctmgr show assoc user=$USER)",
}

UNRUNNABLE: dict[str, str] = {
    "PartitionNodeLimit": f"it asks more (or fewer) nodes than {_LIMIT_OF['Partition']} "
                          f"allows: {_NODES}, or run it on a partition that has them",
    "PartitionTimeLimit": f"its time limit is above the MaxTime of "
                          f"{_LIMIT_OF['Partition']}: {_TIME}",
    "PartitionConfig": f"it asks for what {_LIMIT_OF['Partition']} does not have (more "
                       "cores, memory or nodes than it holds, or an account or QOS it does "
                       f"not take): check num_nodes and the step's options against it",
    "BadConstraints": "no node can meet its constraints (features, cores or memory per "
                      "node): check the step's options against the nodes (sinfo -N -l)",
    "QOSMaxNodePerJobLimit": f"it asks more nodes than {_LIMIT_OF['QOS']} allows one job: "
                             f"{_NODES} or choose another qos",
    "QOSMaxWallDurationPerJobLimit": f"its time limit is above the MaxWall of "
                                     f"{_LIMIT_OF['QOS']}: {_TIME} or choose another qos",
    "QOSMaxCpuPerJobLimit": f"it asks more cores than {_LIMIT_OF['QOS']} allows one job: "
                            f"{_NODES} or choose another qos",
    "QOSMinCpuNotSatisfied": f"it asks fewer cores than {_LIMIT_OF['QOS']} requires",
    "AssocMaxNodesPerJobLimit": f"it asks more nodes than {_LIMIT_OF['Assoc']} allows one "
                                f"job: {_NODES}",
    "AssocMaxWallDurationPerJobLimit": f"its time limit is above what "
                                       f"{_LIMIT_OF['Assoc']} allows one job: {_TIME}",
    "AssocMaxCpuPerJobLimit": f"it asks more cores than {_LIMIT_OF['Assoc']} allows one "
                              f"job: {_NODES}",
    "InvalidQOS": "its qos is not one the account may use: change the step's qos "
                  "(sacctmgr show assoc user=$USER format=account,qos)",
    "InvalidAccount": "its account is not one the login may use: change the site's account "
                      "(sacctmgr show assoc user=$USER)",
}


def unrunnable(reason: str | None) -> str | None:
    """Why a job pending for ``reason`` cannot start as asked, and what to change; None
    for a reason that clears by waiting."""
    if not reason:
        return None
    return UNRUNNABLE.get(reason.split(",")[0].strip())


def pending_warning(job_id: str, reason: str) -> str | None:
    """The run's log line for a job pending for ``reason``, if it will not clear."""
    why = unrunnable(reason)
    if why is None:
        return None
    return (f"Slurm job {job_id} is pending ({reason}) and will not start as submitted: "
            f"{why}. It stays queued until you cancel it or the limit changes.")


__all__ = ["UNRUNNABLE", "pending_warning", "unrunnable"]
