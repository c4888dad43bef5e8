"""The Probabilistic Tsunami Forecast (Pillar_III/ftrt 0.1.0), our stand-in with a
strict argparse as the real launcher: each ``--name value`` must come as two words.
One task per scenario; the summary goes to <run_path>/ptf.json."""

import argparse
import json
import os

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def scenario(index, parameters, event, seis_type):
    return {"scenario": index, "event": event, "type": seis_type, "parameters": parameters}


def main():
    parser = argparse.ArgumentParser()
    for name in ("seistype", "parameters_file", "data_path", "run_path", "templates_path",
                 "cfg", "event"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("kagan_weight", "mare_weight", "hours", "group_sims"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args()
    with open(args.parameters_file) as handle:
        parameters = handle.read().strip()
    results = compss_wait_on([scenario(i, parameters, args.event, args.seistype)
                              for i in range(2)])
    os.makedirs(args.run_path, exist_ok=True)
    with open(os.path.join(args.run_path, "ptf.json"), "w") as handle:
        json.dump({"options": vars(args), "scenarios": results,
                   "environment": os.environ.get("PTF_ENVIRONMENT"),
                   "data": sorted(os.listdir(args.data_path))}, handle)


if __name__ == "__main__":
    main()
