"""Uses a module from --pythonpath and a variable set by --env_script, in a task."""

import json

from pycompss.api.api import compss_wait_on
from shared_helpers import describe

print("RESULT " + json.dumps(compss_wait_on(describe("from lib")), sort_keys=True))
