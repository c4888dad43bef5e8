"""HTTP handlers: translate requests to service calls and back, nothing more.

``base`` (what every handler shares), ``native`` (the ``eflows/api`` routes), ``stream``
(an execution's live events), ``sites`` (HPC sites), ``hpcwaas`` (eFlows4HPC's
Execution API). The services all come from ``settings["eflows"]``, the composition root.
"""
