"""``pycompss.functions.data``: random data sets made by tasks, and list chunking.

``generator`` seeds every fragment with the same ``seed``, exactly as PyCOMPSs does
(so the fragments hold the same numbers); an unknown ``distribution`` gives ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eflows_kernel.compat.pycompss.functions.data_tasks import gen_normal as _gen_normal
from eflows_kernel.compat.pycompss.functions.data_tasks import gen_random as _gen_random
from eflows_kernel.compat.pycompss.functions.data_tasks import gen_uniform as _gen_uniform

_GENERATORS = {"random": _gen_random, "normal": _gen_normal, "uniform": _gen_uniform}


def generator(size: tuple[int, int], num_frag: int, seed: int = 0,
              distribution: str = "random", wait: bool = False) -> list[Any] | None:
    """``num_frag`` fragments of ``size[0] / num_frag`` rows of ``size[1]`` numbers."""
    make = _GENERATORS.get(distribution)
    if make is None:
        return None
    frag_size = int(size[0] / num_frag)
    data = [make(size[1], frag_size, seed) for _ in range(num_frag)]
    if wait:
        from eflows_kernel.model.api import compss_wait_on

        data = compss_wait_on(data)
    return data


def chunks(lst: list, number: int, balanced: bool = False) -> Iterator[list]:
    """Fragments of ``number`` items (balanced: the first ones get one more)."""
    if not balanced or not len(lst) % number:
        for i in range(0, len(lst), number):
            yield lst[i:i + number]
    else:
        rest = len(lst) % number
        start = 0
        while rest:
            yield lst[start:start + number + 1]
            rest -= 1
            start += number + 1
        for i in range(start, len(lst), number):
            yield lst[i:i + number]
