"""A task that needs a GPU (PyCOMPSs' processors constraint).

    eflows-run --workers 2 --worker-resources GPU=1 hpc_gpu.py
"""

import json

from pycompss.api.api import compss_wait_on
from pycompss.api.constraint import constraint
from pycompss.api.task import task


@constraint(processors=[{"processorType": "CPU", "computingUnits": 1},
                        {"processorType": "GPU", "computingUnits": 1}])
@task(returns=1)
def on_gpu(x):
    return x * 2


if __name__ == "__main__":
    print("RESULT " + json.dumps({"values": compss_wait_on([on_gpu(i) for i in range(3)])}))
