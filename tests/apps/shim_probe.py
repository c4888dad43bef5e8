"""Reports which ``pycompss`` package the application imported.

Prints ``RESULT {"real": true}`` when the imported ``pycompss`` declares
``REAL = True`` (a real installation, or a stand-in for one), ``false`` when it is
eflows_kernel's compatibility layer.

Usage:
    eflows-run --workers 2 tests/apps/shim_probe.py
"""

import json

import pycompss
from pycompss.api.task import task


@task(returns=1)
def unused(x):
    return x


print("RESULT " + json.dumps({"real": getattr(pycompss, "REAL", False)}, sort_keys=True))
