"""Stage-in throughput vs OpenSSH scp on the test sshd (127.0.0.1:2222), side by side.

Run as root (it authorizes a throwaway key for the ``eflows`` login, appended, never replacing
the existing ones):  .venv/bin/python benchmarks/bench_stage_in.py [--reps 3]
scp checks the host key against a temporary known_hosts holding only the pinned key.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import paramiko

from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import stage_in

HOST, PORT, LOGIN = "127.0.0.1", 2222, "eflows"
PASSWORD = os.environ.get("EFLOWS_TEST_PASSWORD", "eflows-test-pw")
HOST_KEY_PUB = Path("/etc/eflows-test-sshd/ssh_host_ed25519_key.pub")


def authorize(key_pub: str) -> None:
    account = pwd.getpwnam(LOGIN)
    ssh_dir = Path(account.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    with keys.open("a") as f:
        f.write(key_pub)
    for p in (ssh_dir, keys):
        os.chown(p, account.pw_uid, account.pw_gid)
    keys.chmod(0o600)


def deauthorize(key_pub: str) -> None:
    keys = Path(pwd.getpwnam(LOGIN).pw_dir) / ".ssh" / "authorized_keys"
    if keys.exists():
        keys.write_text("".join(line for line in keys.read_text().splitlines(keepends=True)
                                if line.strip() != key_pub.strip()))


def timed_scp(command: list[str], key_pub: str) -> float:
    """Seconds of one scp run; retried when a concurrent test run reset ~/.ssh under us."""
    for attempt in range(3):
        authorize(key_pub)
        start = time.perf_counter()
        if subprocess.run(command).returncode == 0:
            return time.perf_counter() - start
        time.sleep(1 + attempt)
    raise RuntimeError("scp failed 3 times: is the test sshd up and the key authorized?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--small", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-stage-in-"))
    key = tmp / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorize(key.with_suffix(".pub").read_text())
    host_key = ssh.HostKey.from_line(HOST_KEY_PUB.read_text())
    known = tmp / "known_hosts"
    known.write_text(f"[{HOST}]:{PORT} {host_key.line}\n")
    big = tmp / "big.bin"
    with big.open("wb") as f:
        for _ in range(args.big_mb):
            f.write(os.urandom(1 << 20))
    small = tmp / "small"
    small.mkdir()
    for i in range(args.small):
        (small / f"f{i:04d}.dat").write_bytes(os.urandom(4096))

    def connect() -> paramiko.SSHClient:
        # password login: other test runs may reset ~/.ssh under us (the key is re-added
        # before every scp run for the same reason)
        return ssh.connect(HOST, PORT, LOGIN, host_key, password=PASSWORD)

    client = connect()
    scp = ["scp", "-q", "-r", "-i", str(key), "-P", str(PORT), "-o", "BatchMode=yes",
           "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
           "-o", "GlobalKnownHostsFile=/dev/null"]
    variants = {"1 connection": {}, "2 connections": {"connect": connect, "streams": 2}}
    rows = []
    for label, source, nbytes in (
            (f"1 x {args.big_mb} MB", big, big.stat().st_size),
            (f"{args.small} x 4 KiB", small, args.small * 4096)):
        times: dict[str, list[float]] = {"scp": [], **{v: [] for v in variants}}
        for _rep in range(args.reps):
            ssh.run(client, "rm -rf bench; mkdir -p bench/scp", timeout=120)
            times["scp"].append(timed_scp([*scp, str(source), f"{LOGIN}@{HOST}:bench/scp/"],
                                          key.with_suffix(".pub").read_text()))
            for i, (variant, options) in enumerate(variants.items()):
                if options and source.is_dir():
                    continue  # folders are one tar stream: the option does not apply
                start = time.perf_counter()
                stage_in(client, source, f"bench/ours{i}", resume=False, **options)
                times[variant].append(time.perf_counter() - start)
        scp_median = statistics.median(times["scp"])
        rows.append((label, "scp", nbytes / scp_median / 1e6, 1.0))
        for variant in variants:
            if not times[variant]:
                continue
            ours = statistics.median(times[variant])
            rows.append((label, f"stage_in, {variant}", nbytes / ours / 1e6, scp_median / ours))
    ssh.run(client, "rm -rf bench", timeout=120)
    client.close()
    deauthorize(key.with_suffix(".pub").read_text())
    shutil.rmtree(tmp)
    print(f"\nmedian of {args.reps} runs; ours includes remote sha256 verification + rename")
    print(f"{'case':<15}{'tool':<28}{'MB/s':>8}{'vs scp':>8}")
    for label, tool, rate, ratio in rows:
        flag = "  < 0.9 target" if ratio < 0.9 else ""
        print(f"{label:<15}{tool:<28}{rate:>8.1f}{ratio:>8.2f}{flag}")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
