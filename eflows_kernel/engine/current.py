"""The process-wide current engine: the runtime the programming model talks to.

The engine registers itself with :mod:`eflows_kernel.model.runtime` (the model imports
nothing of the engine); these functions read and write that registration as an engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from eflows_kernel.model.runtime import current_runtime, set_current_runtime

if TYPE_CHECKING:
    from eflows_kernel.engine.engine import Engine


def current_engine() -> Engine | None:
    return cast("Engine | None", current_runtime())


def set_current_engine(engine: Engine | None) -> None:
    set_current_runtime(engine)
