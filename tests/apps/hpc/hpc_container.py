"""@container tasks: a Python body and a program, run inside a local image.

    eflows-run --workers 2 hpc_container.py <engine> <image> <work dir>

The image has a file the host has not (/etc/eflows-image-marker) and its own Python;
``RESULT`` says what the tasks saw.
"""

import json
import os
import sys

from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.api.binary import binary
from pycompss.api.container import container
from pycompss.api.parameter import FILE_IN, FILE_OUT, FILE_OUT_STDOUT
from pycompss.api.task import task

ENGINE, IMAGE, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])


@container(engine=ENGINE, image=IMAGE)
@task(returns=1, fin=FILE_IN, fout=FILE_OUT)
def inside(num, fin, fout):
    import sys

    with open("/etc/eflows-image-marker") as handle:
        marker = handle.read().strip()
    with open(fin) as handle:
        lines = len(handle.readlines())
    with open(fout, "w") as handle:
        handle.write(f"{num * lines}\n")
    return {"marker": marker, "python": sys.executable, "lines": lines}


@container(engine=ENGINE, image=IMAGE)
@binary(binary="cat")
@task(out=FILE_OUT_STDOUT, returns=int)
def cat_in_image(path, out):
    pass


def main():
    os.makedirs(WORK, exist_ok=True)
    fin = os.path.join(WORK, "data.txt")
    with open(fin, "w") as handle:
        handle.write("a\nb\nc\n")
    fout = os.path.join(WORK, "count.txt")
    seen = inside(5, fin, fout)
    out = os.path.join(WORK, "marker.out")
    code = cat_in_image("/etc/eflows-image-marker", out)
    result = {"seen": compss_wait_on(seen), "exit": compss_wait_on(code)}
    compss_barrier()
    with open(fout) as handle:
        result["count"] = handle.read().strip()
    with open(out) as handle:
        result["cat"] = handle.read().strip()
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
