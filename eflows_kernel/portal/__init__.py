"""The eFlows4HPC portal in Jupyter: ipywidgets for credentials, sites, workflows and runs.

Every widget takes a client (``eflows_kernel.client.connect()``: the Jupyter
server's REST API, or the services in this process) and works the same with
either; :class:`~eflows_kernel.portal.portal.Portal` puts them in tabs.
"""
