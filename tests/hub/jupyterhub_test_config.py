"""The test hub: the centre's jupyterhub_config.py as is, its ports and files moved aside.

tests/plugins/hub.py runs ``jupyterhub -f`` this file with ``EFLOWS_HUB_*`` set: free
ports (other hubs or servers on this machine keep theirs), the hub's database, cookie
secret and proxy pid file in the session's temporary folder, faster polling of the
servers' workflow jobs, the centre's published catalogue (a copy of the
registry-layout fixture in ``EFLOWS_HUB_SHARED_DIR``, which the users can read) granted to
the hub group physics only, and an external service with the idle culler's role whose token
the culling test uses to run the culler program on demand.
"""

import json
import os

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

HERE = os.path.dirname(os.path.abspath(__file__))
load_subconfig(os.path.join(HERE, "..", "..", "docs", "centre", "jupyterhub_config.py"))  # noqa: F821

STATE = os.environ["EFLOWS_HUB_DIR"]
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['EFLOWS_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ['EFLOWS_HUB_API_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['EFLOWS_HUB_PROXY_PORT']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(STATE, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # the session's servers end with the hub
c.Spawner.args = ["--EflowsExtensionApp.job_poll_interval=0.2"]

# The published catalogue: one more config folder on the servers' JUPYTER_CONFIG_PATH, before
# the centre's (docs/centre/jupyter_server_config.py keeps its sites).
SHARED = os.environ["EFLOWS_HUB_SHARED_DIR"]
SERVER_CONFIG = os.path.join(SHARED, "config")
os.makedirs(SERVER_CONFIG, mode=0o755, exist_ok=True)
with open(os.path.join(SERVER_CONFIG, "jupyter_server_config.json"), "w") as config:
    json.dump({"EflowsExtensionApp": {
        "catalogue_paths": [os.path.join(SHARED, "workflow-registry", "minimal_workflow")],
        "catalogue_access": {"minimal_workflow.*": {"groups": ["physics"]}},
    }}, config)
os.chmod(os.path.join(SERVER_CONFIG, "jupyter_server_config.json"), 0o644)
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
    [SERVER_CONFIG, c.Spawner.environment["JUPYTER_CONFIG_PATH"]])

c.JupyterHub.services.append({"name": "idle-culler-test",
                              "api_token": os.environ["EFLOWS_HUB_CULLER_TOKEN"]})
for role in c.JupyterHub.load_roles:
    if role["name"] == "idle-culler":
        role["services"].append("idle-culler-test")
