"""Child process that runs one task body under a ``time_out`` (see worker.py)."""

from __future__ import annotations

import os
import sys

import cloudpickle


def main() -> None:
    # The task may print: keep the real stdout for the result, send prints to stderr.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    func, args, kwargs = cloudpickle.loads(sys.stdin.buffer.read())
    try:
        result = (True, func(*args, **kwargs))
    except BaseException as exc:
        result = (False, exc)
    with os.fdopen(result_fd, "wb") as out:
        out.write(cloudpickle.dumps(result))


if __name__ == "__main__":
    main()
