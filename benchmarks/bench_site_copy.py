"""Site -> site copy through this server: streamed (SFTP -> SFTP) vs spooled, side by side.

The two sites are the test sshd's two logins (``eflows`` -> ``eflows-ui``, password
login); the file is made on the first. The baseline is the spooled copy a copy step
made before (``relay.site_to_site``: down to a spool here, then up); the table gives
median seconds and MB/s of each, and the ratio of the streamed time to the spooled one.

Run as root, under the e2e lock:
  flock /tmp/eflows-e2e.lock .venv/bin/python benchmarks/bench_site_copy.py [--mb 200 --reps 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import paramiko

from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer.relay import site_to_site
from eflows_kernel.services.hpc.transfer.site_stream import stream_between

HOST, PORT = "127.0.0.1", 2222
PASSWORD = os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw")
HOST_KEY_PUB = Path("/etc/eflows-test-sshd/ssh_host_ed25519_key.pub")


def login(name: str) -> paramiko.SSHClient:
    key = ssh.HostKey.from_line(HOST_KEY_PUB.read_text())
    return ssh.connect(HOST, PORT, name, key, password=PASSWORD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    source, target = login("eflows"), login("eflows-ui")
    ssh.run(source, f"mkdir -p bench-copy && head -c {args.mb}000000 /dev/urandom "
                    "> bench-copy/data.bin", timeout=600)
    times: dict[str, list[float]] = {"spooled (before)": [], "streamed": []}
    try:
        for _ in range(args.reps):
            for label in times:
                ssh.run(target, "rm -rf bench-copy-in")
                start = time.perf_counter()
                if label == "streamed":
                    stream_between(source, "bench-copy/data.bin", target, "bench-copy-in")
                else:
                    with tempfile.TemporaryDirectory() as spool:
                        site_to_site(source, "bench-copy/data.bin", target, "bench-copy-in",
                                     Path(spool) / "spool")
                times[label].append(time.perf_counter() - start)
    finally:
        ssh.run(source, "rm -rf bench-copy")
        ssh.run(target, "rm -rf bench-copy-in")
        source.close()
        target.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{args.mb} MB, {args.reps} runs each, eflows -> eflows-ui on {HOST}:{PORT}")
    print(f"{'copy':<18}{'median s':>10}{'MB/s':>8}")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:<18}{median:>10.2f}{args.mb / median:>8.0f}")
    ratio = statistics.median(times["streamed"]) / statistics.median(times["spooled (before)"])
    print(f"streamed / spooled time: {ratio:.2f}  (peak RSS of this process: {peak} MiB; "
          f"the spooled copy also wrote {args.mb} MB to this server's disk)")


if __name__ == "__main__":
    main()
