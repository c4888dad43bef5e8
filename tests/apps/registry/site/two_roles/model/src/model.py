"""A model run on the first site (feature_extraction_wf 0.2.0's CMCC-CM3 step), our
stand-in: one task per file of INPUT_DIR writes ``<file>.sim`` (its text upper-cased)
into OUTPUT_DIR, with ``model.log`` saying what the job's environment held."""

import os
import sys

from model_tasks import simulate
from pycompss.api.api import compss_wait_on


def main(input_dir, output_dir):
    os.makedirs(output_dir, exist_ok=True)
    names = sorted(os.listdir(input_dir))
    done = compss_wait_on([simulate(os.path.join(input_dir, n),
                                    os.path.join(output_dir, n + ".sim")) for n in names])
    with open(os.path.join(output_dir, "model.log"), "w") as handle:
        handle.write(f"{os.environ.get('MODEL_ENVIRONMENT')} {sum(done)}\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
