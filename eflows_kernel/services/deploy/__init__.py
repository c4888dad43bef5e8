"""Remote deployment: run a registered workflow on a site over SSH, follow it live.

:class:`RemoteExecutor` chains the steps (connect, environment, stage-in, submit,
monitor, stage-out, cancel) of every execution on a configured site.
"""

from eflows_kernel.services.deploy.remote_executor import RemoteExecutor

__all__ = ["RemoteExecutor"]
