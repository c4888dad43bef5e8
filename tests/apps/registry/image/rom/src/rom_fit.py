"""Stand-in of a non-intrusive ROM fit (Pillar_I_non_intrusive's shape): its case and
method as its two arguments, its snapshots read from ``./data_<case>/`` of the directory
it runs in (the job's --job_execution_dir, where the WebDAV stage-in put them), its
summary written to ``./results/``; each fit says on which host it ran and whether it
saw the image (its ``/rom/env.sh``)."""

import json
import os
import socket
import sys

from pycompss.api.api import compss_wait_on
from pycompss.api.task import task


@task(returns=1)
def fit(name: str, text: str, method: str) -> dict:
    return {"snapshot": name, "size": len(text), "method": method,
            "host": socket.gethostname(), "in_image": os.path.exists("/rom/env.sh")}


if __name__ == "__main__":
    case, method = sys.argv[1].lower(), sys.argv[2].upper()
    folder = f"data_{case}"
    names = sorted(os.listdir(folder))  # relative: the job's execution directory
    texts = []
    for name in names:
        with open(os.path.join(folder, name)) as handle:
            texts.append(handle.read())
    fits = compss_wait_on([fit(n, text, method) for n, text in zip(names, texts, strict=True)])
    os.makedirs("results", exist_ok=True)
    with open(os.path.join("results", f"rom_{case}_{method}.json"), "w") as out:
        json.dump({"case": case, "method": method, "fits": fits, "cwd": os.getcwd(),
                   "environment": os.environ.get("ROM_ENVIRONMENT"),
                   "argv": sys.argv[1:]}, out)
