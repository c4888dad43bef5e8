"""CAELESTIS digital twin: feature extraction of simulated coupons (Caelestis_DT), our
stand-in, written as a PyCOMPSs user writes it.

Usage: feature_extraction.py INPUT_DIR OUTPUT_DIR

Each file of INPUT_DIR is one simulation: a line ``probe: v1 v2 ...`` per probe. One
task per simulation splits it into a file per probe, written into a file stream
(``--streaming=FILES``); the main program polls the stream and submits the features of
each probe file as it appears (``signal_features``, from src/modules, which
``--pythonpath`` puts on the path of the main program and of the workers). A task writes
each simulation's features to OUTPUT_DIR/<simulation>.json and its signals as an image,
OUTPUT_DIR/<simulation>.png (a row per probe, Pillow: the workflow's pip software); the
main program writes OUTPUT_DIR/summary.json, with what src/env.sh (``--env_script``) set
for it and for the tasks and the case it describes (``caelestis_case``, in src/lib, which
only env.sh puts on the PYTHONPATH), and an RO-Crate of the results in OUTPUT_DIR/crate
(rocrate, the workflow's pip software too).
"""

import json
import os
import sys

from caelestis_case import describe
from pycompss.api.api import compss_barrier, compss_wait_on
from pycompss.api.parameter import FILE_IN, FILE_OUT, STREAM_OUT
from pycompss.api.task import task
from pycompss.streams.distro_stream import FileDistroStream
from signal_features import features


@task(fds=STREAM_OUT, simulation=FILE_IN)
def split_probes(fds, simulation, probes_dir):
    name = os.path.splitext(os.path.basename(simulation))[0]
    with open(simulation) as handle:
        for line in handle:
            probe, _sep, values = line.partition(":")
            if values.strip():
                with open(os.path.join(probes_dir, f"{name}.{probe.strip()}"), "w") as out:
                    out.write(values.strip() + "\n")
    fds.close()


@task(probe=FILE_IN, returns=1)
def extract(probe):
    with open(probe) as handle:
        values = [float(v) for v in handle.read().split()]
    found = features(values)
    found["values"] = values
    found["environment"] = os.environ.get("CAELESTIS_CASE")  # env.sh, on the worker
    return found


@task(target=FILE_OUT, image=FILE_OUT)
def write_features(target, image, simulation, probes, signals):
    from PIL import Image

    with open(target, "w") as handle:
        json.dump({"simulation": simulation, "probes": probes}, handle, sort_keys=True)
    names = sorted(signals)
    width = max(len(signals[n]) for n in names)
    picture = Image.new("L", (width, len(names)))
    for row, name in enumerate(names):
        values = signals[name]
        low, high = min(values), max(values)
        for column, value in enumerate(values):
            level = 255 if high == low else round(255 * (value - low) / (high - low))
            picture.putpixel((column, row), level)
    picture.save(image, format="PNG")


def write_crate(output_dir, simulations):
    from rocrate.rocrate import ROCrate

    crate = ROCrate()
    crate.name = "CAELESTIS feature extraction"
    for simulation in simulations:
        crate.add_file(os.path.join(output_dir, simulation + ".json"),
                       dest_path=simulation + ".json",
                       properties={"name": f"features of {simulation}"})
        crate.add_file(os.path.join(output_dir, simulation + ".png"),
                       dest_path=simulation + ".png",
                       properties={"encodingFormat": "image/png"})
    crate.write(os.path.join(output_dir, "crate"))


def main(input_dir, output_dir):
    probes_dir = os.path.join(output_dir, "probes")
    os.makedirs(probes_dir, exist_ok=True)
    stream = FileDistroStream(base_dir=probes_dir)
    simulations = sorted(n for n in os.listdir(input_dir) if n.endswith(".txt"))
    for name in simulations:
        split_probes(stream, os.path.join(input_dir, name), probes_dir)
    futures = {}
    while not stream.is_closed():
        for probe in stream.poll():
            futures[os.path.basename(probe)] = extract(probe)
    names = sorted(futures)
    found = dict(zip(names, compss_wait_on([futures[n] for n in names]), strict=True))
    per_simulation = {}
    for key, values in found.items():
        simulation, _dot, probe = key.partition(".")
        per_simulation.setdefault(simulation, {})[probe] = values
    for simulation, probes in sorted(per_simulation.items()):
        signals = {name: values.pop("values") for name, values in probes.items()}
        write_features(os.path.join(output_dir, simulation + ".json"),
                       os.path.join(output_dir, simulation + ".png"), simulation, probes,
                       signals)
    compss_barrier()
    write_crate(output_dir, sorted(per_simulation))
    summary = {"simulations": sorted(per_simulation), "probes": len(found),
               "case": describe(),
               "environment": {"main": os.environ.get("CAELESTIS_CASE"),
                               "tasks": sorted({str(v["environment"])
                                                for v in found.values()})}}
    with open(os.path.join(output_dir, "summary.json"), "w") as handle:
        json.dump(summary, handle, sort_keys=True)
    print(f"extracted the features of {len(found)} probes of {len(per_simulation)} "
          "simulations")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
