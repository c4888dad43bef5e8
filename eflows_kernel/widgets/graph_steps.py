"""The events of a step graph, as the task-graph model reads them.

A workflow of several steps has one event log in which each step's own events are
copied with ``step`` (its name) beside the graph's ``step`` events (each step's state).
Every step numbers its tasks from 1 and reports its own run ending, so read as they are
the steps' tasks would collide and the first step to end would end the view. Here each
step's task gets an id of its own in the view, its dependencies follow it, its name says
its step (``prepare/count``: the view groups the functions of each step), and a step's
``run`` events stay the step's: the graph's own ``run`` event ends the view.
"""

from __future__ import annotations

from typing import Any

ACTIVE = ("queued", "staging-in", "submitted", "running", "cancelling", "staging-out")


class StepEvents:
    """Rewrites step-tagged events for the model; keeps each step's state."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}  # step -> its latest state, in order of appearance
        self._ids: dict[tuple[str, int], int] = {}

    def task_id(self, step: str, task: int) -> int:
        key = (step, task)
        if key not in self._ids:
            self._ids[key] = len(self._ids) + 1
        return self._ids[key]

    def rewrite(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as the model applies it; None: nothing for the task graph."""
        step = event.get("step")
        if not isinstance(step, str):
            return event
        kind = event.get("type")
        if kind == "step":
            self.states[step] = str(event.get("state"))
            return None
        if kind != "task" or not isinstance(event.get("task"), int):
            return None  # a step's run, stages and logs: the step's, not the graph's
        rewritten = dict(event, task=self.task_id(step, event["task"]))
        if isinstance(event.get("deps"), list):
            rewritten["deps"] = [self.task_id(step, d) for d in event["deps"]
                                 if isinstance(d, int)]
        if isinstance(event.get("name"), str):
            rewritten["name"] = f"{step}/{event['name']}"
        return rewritten

    @property
    def any_active(self) -> bool:
        return any(state in ACTIVE for state in self.states.values())
