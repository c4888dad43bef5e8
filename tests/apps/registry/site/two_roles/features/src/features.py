"""Feature extraction on the second site (feature_extraction_wf 0.2.0's second step),
our stand-in: the words of every file below INPUT_DIR (where the SSH2SSH copy and the
B2SHARE stage-in put them), counted by one task each, into OUTPUT_DIR/features.json."""

import json
import os
import sys

from feature_tasks import count
from pycompss.api.api import compss_wait_on


def main(input_dir, output_dir):
    names = sorted(os.path.relpath(os.path.join(folder, name), input_dir)
                   for folder, _dirs, files in os.walk(input_dir) for name in files)
    counts = compss_wait_on([count(os.path.join(input_dir, n)) for n in names])
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "features.json"), "w") as handle:
        json.dump({"words": dict(zip(names, counts, strict=True)),
                   "environment": os.environ.get("FEATURES_ENVIRONMENT")}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
