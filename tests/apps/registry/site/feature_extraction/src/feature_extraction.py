"""Feature extraction (Pillar II feature_extraction_wf), our stand-in.

Usage: feature_extraction.py INPUT_DIR OUTPUT_DIR
One task per file of INPUT_DIR computes its features (modules/features.py); the
features go to OUTPUT_DIR/<file>.json.
"""

import json
import os
import sys

from features import features
from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def extract(path):
    with open(path) as handle:
        return features(handle.read())


def main(input_dir, output_dir):
    names = sorted(os.listdir(input_dir))
    found = compss_wait_on([extract(os.path.join(input_dir, n)) for n in names])
    os.makedirs(output_dir, exist_ok=True)
    for name, values in zip(names, found, strict=True):
        values["environment"] = os.environ.get("FEATURES_ENVIRONMENT")
        # The eFlows4HPC PyCOMPSs plugin exports every workflow input to the job.
        values["project"] = os.environ.get("project_name")  # noqa: SIM112 (its input name)
        with open(os.path.join(output_dir, name + ".json"), "w") as handle:
            json.dump(values, handle)
    print(f"extracted the features of {len(names)} files")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
