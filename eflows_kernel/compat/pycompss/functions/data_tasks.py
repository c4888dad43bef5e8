"""``pycompss.functions.data_tasks``: the tasks behind ``data.generator``."""

from __future__ import annotations

import random

from eflows_kernel.model.task import task


@task(returns=list)
def gen_random(size: int, frag_size: int, seed: int) -> list[list[float]]:
    random.seed(seed)
    return [[random.random() for _ in range(size)] for _ in range(frag_size)]


@task(returns=list)
def gen_normal(size: int, frag_size: int, seed: int) -> list[list[float]]:
    random.seed(seed)
    return [[random.gauss(mu=0.0, sigma=1.0) for _ in range(size)] for _ in range(frag_size)]


@task(returns=list)
def gen_uniform(size: int, frag_size: int, seed: int) -> list[list[float]]:
    random.seed(seed)
    return [[random.uniform(-1.0, 1.0) for _ in range(size)] for _ in range(frag_size)]
