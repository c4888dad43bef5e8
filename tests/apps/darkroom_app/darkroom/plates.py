"""Tasks of the darkroom application (see ../darkroom_app.py)."""

from pycompss.api.parameter import FILE_IN
from pycompss.api.task import task
from pycompss.util.sharedmemory.shma import deserialize_from_shm


class Plate:
    """What a task is given: the name of the file an array was saved to."""

    def __init__(self, name):
        self.name = name


@task(path=FILE_IN, returns=list)
def develop(path):
    """A worker process attaches to the main program's segment and brightens it."""
    plate = deserialize_from_shm(Plate(path))
    plate += 10
    return [list(plate.shape), float(plate.sum())]
