"""Services behind the REST API: plain Python, no HTTP, testable alone.

One sub-package per concern, in layers (docs/architecture.md): ``state`` (the database),
``workflows`` (and their registry), ``credentials`` (the vault), ``hpc`` (SSH, Slurm,
transfers), ``sites``, ``executions`` (the lifecycle of every run, the executor
protocol, the local executor) and ``deploy`` (the remote executor). ``app.py`` builds
them all, once, for the server extension and the in-process client alike.
"""
