"""``pycompss.functions.elapsed_time``: ``@timeit`` returns ``[result, seconds]``.

Put above ``@task`` it times the call in the main program (the submission, which
returns at once); below ``@task`` it times the body on the worker, and the task's
output is the two-item list.
"""

from __future__ import annotations

import time
from functools import wraps
from typing import Any


class TimeIt:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __call__(self, function: Any) -> Any:
        @wraps(function)
        def wrapped_f(*args: Any, **kwargs: Any) -> Any:
            start_time = time.time()
            result = function(*args, **kwargs)
            end_time = time.time()
            return [result, (end_time - start_time)]

        return wrapped_f

    def __str__(self) -> str:
        return "Elapsed time decorator object"


timeit = TimeIt
TimeIT = TimeIt
TIMEIT = TimeIt
