"""``pycompss.functions.map.map``: the builtin ``map``, always giving a list.

PyCOMPSs 2.x applications call it with a task as the function, so every item becomes
one task call and the list holds their futures; nothing waits here.
"""

from __future__ import annotations

import builtins
from typing import Any


def map(function: Any, *iterables: Any) -> list[Any]:
    """``list(map(function, *iterables))``."""
    return list(builtins.map(function, *iterables))
