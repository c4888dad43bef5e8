"""COMPSs' checkpointing options: which policy, how often, where, which tasks not.

``runcompss --checkpoint=<policy> --checkpoint_params=<params> --checkpoint_folder=<dir>``
(``--checkpoint_policy`` is taken as a synonym of ``--checkpoint``). The policies are
COMPSs' three, by their Java class name, short name or initials:

=====================================  ======================  ===========================
policy                                 params                  checkpoints
=====================================  ======================  ===========================
``...policies.CheckpointPolicyPeriodicTime`` (PT)  ``period.time:<n>[s|m|h]``  every n seconds
``...policies.CheckpointPolicyFinishedTasks`` (FT) ``finished.tasks:<n>``     every n finished tasks
``...policies.CheckpointPolicyInstantiatedGroup`` (ITG) ``instantiated.group:<n>``  each group of n
                                                                               consecutive tasks,
                                                                               once all finished
``...policies.NoCheckpoint``           (none)                  only at ``compss_snapshot()``
=====================================  ======================  ===========================

``avoid.checkpoint:[module.function,...]`` (in the params) lists tasks never saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PERIODIC = "periodic"
FINISHED = "finished"
INSTANTIATED = "instantiated"
NONE = "none"

_PACKAGE = "es.bsc.compss.checkpoint.policies."
_POLICIES = {
    PERIODIC: ("CheckpointPolicyPeriodicTime", "PeriodicTime", "PT", "periodic_time",
               "period", "periodic"),
    FINISHED: ("CheckpointPolicyFinishedTasks", "FinishedTasks", "FT", "finished_tasks",
               "finished"),
    INSTANTIATED: ("CheckpointPolicyInstantiatedGroup", "InstantiatedGroup", "ITG",
                   "instantiated_group", "instantiated", "instantiated_tasks_group"),
    NONE: ("NoCheckpoint", "none", "no", "off"),
}
_PARAM_OF = {PERIODIC: "period.time", FINISHED: "finished.tasks",
             INSTANTIATED: "instantiated.group"}
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class CheckpointOptionError(ValueError):
    """The checkpoint options cannot work; the message says how to fix them."""


@dataclass(frozen=True)
class CheckpointConfig:
    policy: str
    folder: str
    period: float | None = None  # seconds, periodic policy
    every: int | None = None  # finished tasks, or tasks per instantiated group
    avoid: frozenset[str] = field(default_factory=frozenset)

    def avoids(self, names: tuple[str, ...]) -> bool:
        return any(name in self.avoid for name in names)


def policy_name(value: str) -> str:
    """Our name for a COMPSs policy given by class name, short name or initials."""
    given = value.strip()
    short = given[len(_PACKAGE):] if given.startswith(_PACKAGE) else given.rsplit(".", 1)[-1]
    for name, spellings in _POLICIES.items():
        if short.lower() in (s.lower() for s in spellings):
            return name
    known = ", ".join(_PACKAGE + spellings[0] for spellings in _POLICIES.values())
    raise CheckpointOptionError(f"unknown checkpoint policy {value!r}; use one of {known}")


def _split_params(params: str) -> dict[str, str]:
    """``a:1,b:[x,y]`` -> {"a": "1", "b": "[x,y]"} (commas inside brackets kept)."""
    items: dict[str, str] = {}
    for part in re.findall(r"[^,\[\]]+(?:\[[^\]]*\])?", params):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition(":")
        if not sep:
            raise CheckpointOptionError(
                f"checkpoint parameter {part!r} has no value; write key:value, e.g. "
                "finished.tasks:10 or period.time:30s")
        items[key.strip()] = value.strip()
    return items


def _positive_int(key: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise CheckpointOptionError(f"{key}:{value} must be a positive whole number")
    return number


def _period(value: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", value)
    if not match or float(match.group(1)) <= 0:
        raise CheckpointOptionError(
            f"period.time:{value} must be a positive duration in seconds, minutes or "
            "hours, e.g. period.time:30s, period.time:5m, period.time:1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_checkpoint(policy: str | None, params: str | None,
                     folder: str | None) -> CheckpointConfig | None:
    """The checkpointing a run asked for, or None when it asked for none."""
    if not policy and not params and not folder:
        return None
    name = policy_name(policy) if policy else NONE
    if not folder:
        raise CheckpointOptionError(
            "checkpointing needs --checkpoint_folder=<directory> (where checkpoints are "
            "saved and read back by a rerun)")
    items = _split_params(params or "")
    avoid_text = items.pop("avoid.checkpoint", "")
    avoid = frozenset(a.strip() for a in avoid_text.strip("[]").split(",") if a.strip())
    wanted = _PARAM_OF.get(name)
    unknown = [key for key in items if key != wanted]
    if unknown:
        hint = f"; the {name} policy takes {wanted}:<value>" if wanted else \
            "; the NoCheckpoint policy takes only avoid.checkpoint:[...]"
        raise CheckpointOptionError(
            f"unknown checkpoint parameter(s) {', '.join(unknown)}{hint}")
    if wanted is not None and wanted not in items:
        example = {"period.time": "30s", "finished.tasks": "10",
                   "instantiated.group": "5"}[wanted]
        raise CheckpointOptionError(
            f"the {name} checkpoint policy needs --checkpoint_params={wanted}:<value>, "
            f"e.g. {wanted}:{example}")
    period = _period(items[wanted]) if name == PERIODIC else None
    every = _positive_int(wanted, items[wanted]) if name in (FINISHED, INSTANTIATED) \
        else None
    return CheckpointConfig(name, folder, period, every, avoid)
