"""The eFlows4HPC portal in Jupyter: ipywidgets for credentials, sites, workflows and runs.

Every widget takes a client (``eflows_kernel.client.connect()``: the Jupyter
server's REST API, or the services in this process) and works the same with
either; :class:`~eflows_kernel.ui.portal.Portal` puts them in tabs. The package is
named ``ui`` (not ``portal``) so that importing it never shadows the
``eflows_kernel.portal()`` function.
"""
