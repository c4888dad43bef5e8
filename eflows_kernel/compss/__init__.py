"""The real COMPSs runtime, where a site has it: launch commands and the monitor reader.

``commands`` builds ``runcompss``/``enqueue_compss`` argv lists with monitoring on;
``dot`` parses the runtime's task-graph files; ``monitor`` turns its monitor directory
into our task events so the graph widget shows real COMPSs runs like our own.
"""

from eflows_kernel.compss.commands import (
    CompssLaunch,
    enqueue_compss_argv,
    render,
    runcompss_argv,
)
from eflows_kernel.compss.graph import CompssGraph, parse_compss_graph, read_compss_graph
from eflows_kernel.compss.monitor import CompssMonitorReader, parse_compss_state

__all__ = [
    "CompssGraph",
    "CompssLaunch",
    "CompssMonitorReader",
    "enqueue_compss_argv",
    "parse_compss_graph",
    "parse_compss_state",
    "read_compss_graph",
    "render",
    "runcompss_argv",
]
