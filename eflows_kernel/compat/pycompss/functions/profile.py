"""``pycompss.functions.profile``: ``@profile`` reports a task's memory use and time.

Like PyCOMPSs, it needs ``memory_profiler`` (and ``psutil``); the report is printed,
or appended to the file named by ``COMPSS_PROFILING_FILE``.
"""

from __future__ import annotations

import os
import time
from functools import wraps
from io import StringIO
from typing import Any

try:
    import psutil
    from memory_profiler import profile as mem_profile
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pycompss.functions.profile needs memory_profiler and psutil "
        "(pip install memory_profiler psutil)") from exc

from eflows_kernel.compat.pycompss.util.context import CONTEXT

__PROFILE_REDIRECT_ENV_VAR__ = "COMPSS_PROFILING_FILE"


class Profile:
    def __init__(self, full_report: bool = True, precision: int = 1,
                 backend: str = "psutil") -> None:
        self.stream = StringIO()
        self.full_report = full_report
        self.precision = precision
        self.backend = backend
        self.redirect = os.environ.get(__PROFILE_REDIRECT_ENV_VAR__, "")

    def __call__(self, function: Any) -> Any:
        @wraps(function)
        def wrapped_f(*args: Any, **kwargs: Any) -> Any:
            job_name = "master" if CONTEXT.in_master() else f"job{os.getpid()}"
            initial_memory = psutil.virtual_memory().used
            start_time = time.time()
            result = mem_profile(func=function, stream=self.stream,
                                 precision=self.precision, backend=self.backend)(*args, **kwargs)
            elapsed_time = time.time() - start_time
            final_memory = psutil.virtual_memory().used
            report = self.stream.getvalue().strip()
            self.stream.truncate(0)
            self.stream.seek(0)
            if self.full_report:
                info = (f"{report}\nJob name: {job_name}\nTask start time: {start_time}\n"
                        f"Elapsed time: {elapsed_time}\nInitial memory: {initial_memory}\n"
                        f"Final memory: {final_memory}")
            else:
                info = (f"{start_time:.7f} {job_name} {function.__name__} {elapsed_time} "
                        f"{initial_memory} {final_memory} MiB")
            self._redirect(info)
            return result

        return wrapped_f

    def _redirect(self, info: str) -> None:
        if not self.redirect:
            print(info)
            return
        with open(self.redirect, "a", encoding="utf-8") as handle:
            handle.write(f"{info}\n")


profile = Profile
PROFILE = Profile
