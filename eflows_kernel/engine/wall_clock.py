"""``--wall_clock_limit``: stop a run that lasts longer than its limit, as COMPSs does.

When the limit is reached, COMPSs cancels the application's tasks, stops the runtime
and exits with status 0. Here the clock cancels every task that has not finished
(running ones are interrupted), then interrupts the main program; the runner reports
the run as ``cancelled`` with the reason and exits with status 0, as ``runcompss`` does.
"""

from __future__ import annotations

import _thread
import sys
import threading
from typing import Any


class WallClock:
    """A timer that ends ``engine``'s run ``seconds`` after :meth:`start`."""

    def __init__(self, engine: Any, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"the wall clock limit must be a positive number of seconds, "
                             f"not {seconds!r}")
        self.engine = engine
        self.seconds = seconds
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def reason(self) -> str:
        return f"wall clock limit of {self.seconds:g} s reached"

    def start(self) -> WallClock:
        self._timer.start()
        return self

    def cancel(self) -> None:
        self._timer.cancel()

    def _expire(self) -> None:
        self.expired = True
        print(f"WARNING: Wall clock limit reached for app {self.engine.config.app or ''}! "
              f"({self.seconds:g} s) Cancelling tasks...", file=sys.stderr, flush=True)
        _thread.interrupt_main()  # the main program stops where it is (KeyboardInterrupt)
        self.engine.graph.cancel_all(self.reason)
        self.engine.apply_cancellations()
