"""pycompss.streams as PyCOMPSs applications use them.

1. two sensor tasks publish objects on one ObjectDistroStream while an aggregate task
   consumes them (the stream closes when both sensors have closed it);
2. a camera task writes files into a FileDistroStream's directory while the main
   program polls it and submits one task per new file;
3. two consumers share a file stream AT_MOST_ONCE (each file once) and two others
   read it AT_LEAST_ONCE (each consumer every file);
4. a stream found again by its alias.

Usage: streams_app.py <work dir>; prints ``RESULT <json>``.
"""

import json
import os
import shutil
import sys
import time

from pycompss.api.api import compss_wait_on
from pycompss.streams.distro_stream import (
    AT_LEAST_ONCE,
    FileDistroStream,
    ObjectDistroStream,
)
from sensors import aggregate, camera, count_frames, frame_value, sensor


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def objects_from_two_sensors():
    ods = ObjectDistroStream()
    ends = [sensor(ods, name, 6, 0.05) for name in ("north", "south")]
    summary = compss_wait_on(aggregate(ods, 0.02))
    ends = compss_wait_on(ends)
    return {"count": summary["count"], "total": summary["total"],
            "while_running": summary["first"] < max(ends)}


def main_program_consumes_files(work):
    fds = FileDistroStream(base_dir=fresh_dir(os.path.join(work, "camera")))
    camera(fds, 8, 0.05)
    values, polls = [], 0
    while not fds.is_closed():
        polls += 1
        for frame in fds.poll():
            values.append(frame_value(frame))
        time.sleep(0.03)
    return {"frames": len(values), "sum": sum(compss_wait_on(values)), "polled": polls > 1}


def shared_consumers(work, mode):
    base = fresh_dir(os.path.join(work, f"shared_{mode or 'default'}"))
    with open(os.path.join(base, "before.txt"), "w") as handle:
        handle.write("0")  # there before the stream: not one of its items
    fds = FileDistroStream(base_dir=base, access_mode=mode) if mode else \
        FileDistroStream(base_dir=base)
    camera(fds, 5, 0.05)
    seen = compss_wait_on([count_frames(fds, 0.02), count_frames(fds, 0.02)])
    return seen


def alias():
    first = ObjectDistroStream(alias="shared-readings")
    again = ObjectDistroStream(alias="shared-readings")
    first.publish("hello")
    first.publish_list(["from", "the", "alias"])
    polled = again.poll()
    return {"same_id": first.get_stream_id() == again.get_stream_id(), "polled": polled}


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    result = {"objects": objects_from_two_sensors(),
              "main_consumer": main_program_consumes_files(work),
              "alias": alias()}
    once = shared_consumers(work, None)
    every = shared_consumers(work, AT_LEAST_ONCE)
    result["at_most_once"] = {"total": sum(len(s) for s in once),
                              "distinct": len(set(once[0]) | set(once[1]))}
    result["at_least_once"] = [len(s) for s in every]
    print("RESULT " + json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
