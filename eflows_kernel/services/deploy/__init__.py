"""Remote deployment: run a registered workflow on a site over SSH, follow it live.

:class:`RemoteExecutor` chains the steps (connect, environment, stage-in, submit,
monitor, stage-out, cancel); :class:`ExecutorRouter` gives the REST API and the
clients one executor for every site, ``local`` included.
"""

from eflows_kernel.services.deploy.remote_executor import RemoteExecutor
from eflows_kernel.services.deploy.router import ExecutorRouter

__all__ = ["ExecutorRouter", "RemoteExecutor"]
