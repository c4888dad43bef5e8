"""The file API given lists and tuples, directories, files written by tasks."""
import json
import os
import sys
import time

from pycompss.api.api import (
    compss_delete_file,
    compss_file_exists,
    compss_open,
    compss_wait_on_directory,
    compss_wait_on_file,
)
from pycompss.api.parameter import DIRECTORY_OUT, FILE_OUT
from pycompss.api.task import task


@task(path=FILE_OUT)
def produce(path, text):
    time.sleep(0.5)
    with open(path, "w") as handle:
        handle.write(text)


@task(folder=DIRECTORY_OUT)
def fill(folder, n):
    time.sleep(0.5)
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        with open(os.path.join(folder, f"{i}.txt"), "w") as handle:
            handle.write(str(i))


def main(work):
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    out = {}
    names = ["one.txt", ("two.txt", "three.txt")]
    produce("one.txt", "1")
    produce("two.txt", "2")
    produce("three.txt", "3")
    out["waited"] = compss_wait_on_file(names) == names
    out["single"] = compss_wait_on_file("one.txt")
    out["exists"] = compss_file_exists(names)
    out["exists_many"] = compss_file_exists("one.txt", "missing.txt")
    with compss_open("two.txt") as handle:
        out["two"] = handle.read()
    fill("folder", 3)
    out["directory"] = compss_wait_on_directory("folder")
    out["listing"] = sorted(os.listdir("folder"))
    produce("late.txt", "late")
    out["deleted"] = compss_delete_file(["one.txt", ("late.txt",)])
    out["after_delete"] = compss_file_exists(["one.txt", "late.txt", "three.txt"])
    print("RESULT " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
