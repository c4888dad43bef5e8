"""A reduced-order-model training that leaves what the DLS's MLflow pipelines read.

Usage: train.py <rom_dir> <search_dir> <case>

* ``<rom_dir>/center`` and ``<rom_dir>/outside``: one ROM each (``rom.bin``) and its
  ``attrs.json`` (experiment ``name``, ``metrics``, ``params``, ``artifacts``), what
  ``mlflow_upload_model`` uploads (rom_pillar_I's two uploads);
* ``<search_dir>/pd.csv`` (a scikit-learn ``cv_results_`` table) and ``model.dat``, what
  ``model_search_upload`` uploads (Pillar_III/mlesmap's).

The fits are PyCOMPSs tasks. Prints ``RESULT {json}``.
"""

import csv
import json
import os
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=dict)
def fit(region, depth, case):
    """A stand-in fit: its 'model' bytes and a score that depends on its parameters."""
    score = round(1.0 / (1 + depth) + (0.5 if region == "center" else 0.25), 4)
    return {"model": f"{case}:{region}:{depth}".encode().hex(), "score": score,
            "fit_time": 0.01 * depth}


def main(rom_dir, search_dir, case):
    results = {}
    for region in ("center", "outside"):
        fitted = compss_wait_on(fit(region, 2, case))
        folder = os.path.join(rom_dir, region)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "rom.bin"), "wb") as f:
            f.write(bytes.fromhex(fitted["model"]) * 100)
        with open(os.path.join(folder, "attrs.json"), "w") as f:
            json.dump({"name": f"rom-{region}-{case}", "metrics": {"score": fitted["score"]},
                       "params": {"case": case, "depth": 2},
                       "artifacts": [os.path.join(folder, "rom.bin")]}, f)
        results[region] = fitted["score"]
    depths = [1, 2, 3]
    fits = compss_wait_on([fit("center", d, case) for d in depths])
    os.makedirs(search_dir, exist_ok=True)
    with open(os.path.join(search_dir, "pd.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["", "params", "mean_test_score", "mean_fit_time"])
        for index, (depth, fitted) in enumerate(zip(depths, fits, strict=True)):
            writer.writerow([index, repr({"max_depth": depth, "case": case}),
                             fitted["score"], fitted["fit_time"]])
    best = max(fits, key=lambda f: f["score"])
    with open(os.path.join(search_dir, "model.dat"), "wb") as f:
        f.write(bytes.fromhex(best["model"]))
    print("RESULT " + json.dumps({"roms": results, "searched": len(depths)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
