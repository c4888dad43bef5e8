"""The eFlows4HPC Jupyter kernel: IPython with a PyCOMPSs engine on Dask.

``python -m eflows_kernel.kernel -f CONNECTION_FILE`` runs it; ``pip install`` puts its
kernelspec ("eFlows4HPC (Python 3)") in ``share/jupyter/kernels/eflows``. The IPython
integration it shares with plain kernels is in :mod:`eflows_kernel.kernel.integration`.
ipykernel is imported only when the kernel class is asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EflowsKernel", "engine_options_from_env"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from eflows_kernel.kernel import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
