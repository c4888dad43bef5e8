"""Per-function progress: counts by state, mean duration, and when it will be done.

The aggregated view draws one node per task function from these, and the function
table lists them; both need only a few numbers per function, however many tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATES = ("pending", "ready", "running", "done", "failed", "cancelled")


@dataclass
class FunctionStats:
    """Every task of one function: one node of the aggregated view, one table row."""

    name: str
    layer: int
    x: float
    index: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    deps: set[str] = field(default_factory=set)
    done_seconds: float = 0.0  # summed duration of the successful attempts
    done_attempts: int = 0
    first_started: float | None = None
    last_ended: float | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.counts["done"] + self.counts["failed"] + self.counts["cancelled"]

    @property
    def mean_duration(self) -> float | None:
        return self.done_seconds / self.done_attempts if self.done_attempts else None

    def attempt_ended(self, started: float, ended: float, ok: bool) -> None:
        if self.first_started is None or started < self.first_started:
            self.first_started = started
        if self.last_ended is None or ended > self.last_ended:
            self.last_ended = ended
        if ok:
            self.done_seconds += max(0.0, ended - started)
            self.done_attempts += 1

    def eta(self, now: float) -> float | None:
        """Seconds until this function's tasks have all finished, at the rate they
        have been finishing since the first one started (None before one finished)."""
        remaining = self.total - self.finished
        if remaining == 0:
            return 0.0
        if not self.finished or self.first_started is None:
            return None
        elapsed = now - self.first_started
        return remaining * elapsed / self.finished if elapsed > 0 else None

    def state(self) -> str:
        """The colour of the group: what needs attention first."""
        counts = self.counts
        if counts["failed"]:
            return "failed"
        if counts["running"]:
            return "running"
        if counts["done"] == self.total:
            return "done"
        if counts["cancelled"] and counts["cancelled"] + counts["done"] == self.total:
            return "cancelled"
        if counts["ready"]:
            return "ready"
        return "pending" if self.finished < self.total else "done"

    def summary(self, now: float | None) -> dict[str, object]:
        """What the front end shows of this function (JSON-ready)."""
        eta = self.eta(now) if now is not None else None
        return {"name": self.name, "layer": self.layer, "x": self.x, "state": self.state(),
                "counts": [self.counts[s] for s in STATES], "total": self.total,
                "deps": sorted(self.deps), "mean": self.mean_duration,
                "eta": None if eta is None else round(eta, 1)}


__all__ = ["STATES", "FunctionStats"]
