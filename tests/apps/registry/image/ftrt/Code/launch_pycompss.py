"""The Probabilistic Tsunami Forecast step (Pillar III ftrt), our stand-in.

Takes the topology's arguments as the TOSCA plugin passes them (each ``--name value``
may come as one word) and runs one task per "scenario": each reads the parameters
file and says which event it forecasts. The summary goes to <run_path>/ftrt.json, with
the files it found under ``--data_path`` and ``--templates_path`` (what the topology's
WebDAV stage-ins put there) and the first line of each.
"""

import json
import os
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


def options(argv):
    words = []
    for arg in argv:
        words += arg.split(" ", 1) if arg.startswith("--") and "=" not in arg else [arg]
    found = {}
    while words:
        word = words.pop(0)
        if "=" in word:
            name, value = word.split("=", 1)
        else:
            name, value = word, words.pop(0) if words else ""
        found[name.lstrip("-")] = value
    return found


def first_lines(folder):
    """Each file below ``folder`` (relative name) -> its first line; {} if no folder."""
    found = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path) as handle:
                found[os.path.relpath(path, folder)] = handle.readline().strip()
    return found


@task(returns=1)
def scenario(index, parameters, event, seis_type):
    return {"scenario": index, "event": event, "type": seis_type,
            "parameters": parameters.strip()}


def main():
    given = options(sys.argv[1:])
    with open(given["parameters_file"]) as handle:
        parameters = handle.read()
    results = compss_wait_on([scenario(i, parameters, given["event"], given["seistype"])
                              for i in range(3)])
    summary = {"options": given, "scenarios": results,
               "environment": os.environ.get("FTRT_ENVIRONMENT"),
               "regions": first_lines(given["data_path"]),
               "templates": first_lines(given["templates_path"])}
    os.makedirs(given["run_path"], exist_ok=True)
    with open(os.path.join(given["run_path"], "ftrt.json"), "w") as handle:
        json.dump(summary, handle)
    print(f"forecast {given['event']} with {len(results)} scenarios")


if __name__ == "__main__":
    main()
