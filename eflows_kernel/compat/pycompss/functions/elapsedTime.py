"""``pycompss.functions.elapsedTime``: the 2.x name of ``elapsed_time``."""

from eflows_kernel.compat.pycompss.functions.elapsed_time import TIMEIT, TimeIT, TimeIt, timeit
