"""The users' servers at a centre: what the eflows extension is told.

The hub (jupyterhub_config.py beside this file) puts this folder on every server's
``JUPYTER_CONFIG_PATH``; each server then lists the centre's sites read-only next to the
user's own. Explained in docs/hpc-centre.md.
"""

import sys

c = get_config()  # noqa: F821 (Jupyter's config loader defines it)

c.EflowsExtensionApp.sites = [
    # The cluster the server runs on: sbatch here, run folders on the shared filesystem,
    # no SSH and no key. Each user runs as themself, under ~/eflows.
    {"name": "cluster", "connection": "local", "scheduler": "slurm",
     "partition": "debug", "workdir": "~/eflows",
     # the shared environment (this package) runs the workflows: no bootstrap
     "python": {"mode": "existing", "path": sys.executable}},
]

# The centre's published workflows (docs/hpc-centre.md): a checkout of its registry that the
# users can read, and who may see and trigger each (hub users and JupyterHub groups).
# c.EflowsExtensionApp.catalogue_paths = ["/srv/eflows/workflow-registry"]
# c.EflowsExtensionApp.catalogue_access = {
#     "minimal_workflow.*": {"groups": ["physics"]},
#     "*": {"groups": ["staff"]},
# }
