"""A model search (Pillar_III/mlesmap's main_GridSearch.py), our stand-in.

Usage: main_GridSearch.py DATASET RESULTS_PATH PARAMETERS_JSON, as the real one: one
task per ``max_depth`` of the parameters file scores the dataset; RESULTS_PATH gets
``pd.csv`` (a cv_results_ table) and ``model.dat`` (the best one), which the
DLSDAGModelSearchUpload sends to MLflow.
"""

import json
import os
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def score(depth, rows):
    return round(1.0 - depth / (10.0 + len(rows)), 4)


def main(dataset, results, parameters):
    with open(dataset) as handle:
        rows = handle.read().split()
    with open(parameters) as handle:
        depths = json.load(handle)["max_depth"]
    scores = compss_wait_on([score(d, rows) for d in depths])
    os.makedirs(results, exist_ok=True)
    with open(os.path.join(results, "pd.csv"), "w") as handle:
        handle.write(",params,mean_test_score,mean_fit_time\n")
        for index, (depth, value) in enumerate(zip(depths, scores, strict=True)):
            handle.write(f"{index},\"{{'max_depth': {depth}}}\",{value},0.1\n")
    with open(os.path.join(results, "model.dat"), "w") as handle:
        handle.write(f"best {max(scores)} of {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
