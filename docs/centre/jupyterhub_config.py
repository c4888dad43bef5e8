"""A centre's JupyterHub: every user's Jupyter server is a Slurm job, with eflows4hpc in it.

The hub runs on a login node, as root, from its own Python environment (jupyterhub,
batchspawner, jupyterhub-idle-culler; ``configurable-http-proxy`` from npm on its PATH).
The users' servers run on the compute nodes from the users' Jupyter environment on the
shared filesystem (``SERVER_ENV``: jupyterhub and batchspawner again, jupyterlab and
eflows4hpc-jupyter). What the servers' extension is told (the centre's sites) is in
``jupyter_server_config.py`` beside this file.

This is the file the test hub runs (tests/plugins/hub.py); the test only moves ports
and the hub's own files into a temporary folder (tests/hub/jupyterhub_test_config.py).
Explained setting by setting in docs/hpc-centre.md.
"""

import os
import sys

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

HERE = os.path.dirname(os.path.abspath(__file__))
# The users' environment, as the compute nodes see it (the test sets its own).
SERVER_ENV = os.environ.get("EFLOWS_SERVER_ENV", "/opt/eflows")
BIN = os.path.join(SERVER_ENV, "bin")

# -- who logs in: the centre's Unix accounts (PAM), members of one Unix group -------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {"eflows-hub-users"}
c.PAMAuthenticator.open_sessions = False  # no login session: the server is a Slurm job
c.Authenticator.admin_users = set()
# JupyterHub groups: the published catalogue's access lists name them (hpcwaas groups).
c.JupyterHub.load_groups = {
    "physics": {"users": ["eflows-alice"]},
    "chemistry": {"users": ["eflows-bob"]},
}

# -- network: users reach the proxy; the servers on the compute nodes reach the hub API ---
c.JupyterHub.bind_url = "http://127.0.0.1:8000"  # behind the centre's TLS front end
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"  # the login node's cluster address

# -- the users' servers: Slurm jobs (batchspawner) ------------------------------------------
c.JupyterHub.spawner_class = "batchspawner.SlurmSpawner"
# The hub runs as root and submits as the user; an unprivileged hub keeps batchspawner's
# default "sudo -E -u {username}" with a sudoers rule for sbatch, squeue and scancel.
c.SlurmSpawner.exec_prefix = "/usr/sbin/runuser -u {username} --"
c.SlurmSpawner.batchspawner_singleuser_cmd = os.path.join(BIN, "batchspawner-singleuser")
c.SlurmSpawner.req_partition = "debug"
c.SlurmSpawner.req_nprocs = "1"  # one core per server: the workflows get their own jobs
c.SlurmSpawner.req_runtime = "08:00:00"
c.SlurmSpawner.startup_poll_interval = 0.5
c.SlurmSpawner.batch_script = """#!/bin/bash
#SBATCH --job-name=jupyterhub-{{username}}
#SBATCH --output={{homedir}}/.jupyterhub-slurm-%j.log
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
{% if partition %}#SBATCH --partition={{partition}}
{% endif %}{% if runtime %}#SBATCH --time={{runtime}}
{% endif %}{% if memory %}#SBATCH --mem={{memory}}
{% endif %}{% if nprocs %}#SBATCH --cpus-per-task={{nprocs}}
{% endif %}{% if account %}#SBATCH --account={{account}}
{% endif %}{% if qos %}#SBATCH --qos={{qos}}
{% endif %}{% if options %}#SBATCH {{options}}
{% endif %}
set -euo pipefail
{{prologue}}
{% if srun %}{{srun}} {% endif %}{{cmd}}
{{epilogue}}
"""

c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 300  # a job may wait in the queue
c.Spawner.http_timeout = 120  # from "running" to the server answering
c.Spawner.environment = {
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",  # the job's, not the hub's
    # The extension's settings for every user's server (the centre's sites).
    "JUPYTER_CONFIG_PATH": HERE,
}

# -- the idle culler: stops servers idle for an hour (their Slurm jobs end) -----------------
# A workflow started from a culled server goes on as its own Slurm job; the next server the
# user starts re-attaches to it (docs/hpc-centre.md).
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600",
                "--cull-every=300"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
