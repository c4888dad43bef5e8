"""The ensemble (Pillar_II/esm's esm_simulation.py), our stand-in: one task per start
date, the summary in <output>/ensemble.json."""

import argparse
import json
import os

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def member(start_date, hpc, processes):
    return {"start_date": start_date, "hpc": hpc, "processes": processes}


def main():
    parser = argparse.ArgumentParser()
    for name in ("hpc", "start_dates", "output"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("processes", "processes_per_node"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args()
    members = compss_wait_on([member(d, args.hpc, args.processes)
                              for d in args.start_dates.split()])
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "ensemble.json"), "w") as handle:
        json.dump({"members": members, "user_id": os.environ.get("user_id"),  # noqa: SIM112
                   "nodes": os.environ.get("SLURM_JOB_NUM_NODES")}, handle)


if __name__ == "__main__":
    main()
