"""Make ``import pycompss.api...`` work on our engine when PyCOMPSs is not installed.

A meta-path finder aliases ``pycompss.*`` to ``eflows_kernel.compat.pycompss.*`` (and
``pycompss.interactive`` to ``eflows_kernel.kernel.ipycompss``). It
is installed only by the runner, the kernel and worker setup, and only when the real
PyCOMPSs cannot be found, so it never shadows a real installation.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

_PREFIX = "eflows_kernel.compat."
# PyCOMPSs modules served by a layer above the programming model: ``pycompss.interactive``
# starts the notebook's engine, so it lives with the kernel integration.
_SERVED_ELSEWHERE = {"pycompss.interactive": "eflows_kernel.kernel.ipycompss"}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed by ``import_module``."""


class _PyCOMPSsAliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "pycompss" and not fullname.startswith("pycompss."):
            return None
        target_name = _SERVED_ELSEWHERE.get(fullname, _PREFIX + fullname)
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(target_name),
                                               is_package=True)


def real_pycompss_available() -> bool:
    if any(isinstance(f, _PyCOMPSsAliasFinder) for f in sys.meta_path):
        return False
    try:
        return importlib.util.find_spec("pycompss") is not None
    except (ImportError, ValueError):
        return False


def install_pycompss_shim() -> bool:
    """Install the alias unless the real PyCOMPSs is importable; True if installed."""
    if any(isinstance(f, _PyCOMPSsAliasFinder) for f in sys.meta_path):
        return True
    if real_pycompss_available():
        return False
    sys.meta_path.insert(0, _PyCOMPSsAliasFinder())
    return True


def uninstall_pycompss_shim() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PyCOMPSsAliasFinder)]
    for name in [n for n in sys.modules if n == "pycompss" or n.startswith("pycompss.")]:
        del sys.modules[name]
