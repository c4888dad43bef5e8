"""Talking to HPC sites: SSH, Slurm, data transfers, and following a log on a site.

The bottom of the remote stack: these modules know hosts, logins, jobs and files, and
nothing of workflows, executions or deployments (the layers above them).
``ssh`` connects (pinned host keys, keys or keyboard-interactive logins), ``connections``
pools one authenticated connection per site and credential, ``slurm`` submits, polls and
cancels batch jobs, ``transfer`` stages data in and out with checksums and resume, and
``remote_events`` follows a growing JSON-lines log on a site.
"""
