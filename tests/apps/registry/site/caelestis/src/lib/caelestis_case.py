"""The case the run belongs to: importable only because src/env.sh (--env_script) puts
src/lib on the PYTHONPATH before the application starts."""

import os


def describe():
    return {"case": os.environ.get("CAELESTIS_CASE"), "units": "MPa"}
