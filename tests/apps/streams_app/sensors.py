"""Producer and consumer tasks of streams_app."""

import os
import time

from pycompss.api.parameter import FILE_IN, IN, STREAM_IN, STREAM_OUT
from pycompss.api.task import task
from readings import Reading


@task(ods=STREAM_OUT, returns=1)
def sensor(ods, name, count, pause):
    for index in range(count):
        ods.publish(Reading(name, index, index * 10))
        time.sleep(pause)
    finished = time.time()
    ods.close()
    return finished


@task(ods=STREAM_IN, pause=IN, returns=1)
def aggregate(ods, pause):
    total, count, first = 0, 0, None
    while not ods.is_closed():
        for reading in ods.poll():
            first = first or time.time()
            total += reading.value
            count += 1
        time.sleep(pause)
    for reading in ods.poll():  # the last ones, as PyCOMPSs' own tests do
        total += reading.value
        count += 1
    return {"total": total, "count": count, "first": first}


@task(fds=STREAM_OUT)
def camera(fds, frames, pause):
    for index in range(frames):
        with open(os.path.join(fds.base_dir, f"frame_{index:03d}.txt"), "w") as handle:
            handle.write(str(index + 1))
        time.sleep(pause)
    fds.close()


@task(fds=STREAM_IN, returns=1)
def count_frames(fds, pause):
    seen = []
    while not fds.is_closed():
        seen.extend(os.path.basename(path) for path in fds.poll())
        time.sleep(pause)
    return sorted(seen)


@task(frame=FILE_IN, returns=1)
def frame_value(frame):
    with open(frame) as handle:
        return int(handle.read())
