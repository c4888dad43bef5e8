"""Fetching from each data service: our adapters (checks, .part, progress) against a raw GET.

Each protocol's server runs on loopback (as in the tests: wsgidav on cheroot, moto's S3
server, a plain HTTP server); a file of ``--mb`` MiB is fetched ``--repeat`` times by
``relay.fetch`` (sha256 + md5 computed, ``.part`` then rename, throttled progress
events) and, side by side, by a bare streaming GET of the same bytes into a file (no
checks). The table shows MB/s of each and the ratio ours / raw. Target: the guarantees
cost little next to the transfer itself (ratio near 1; a checksum costs ~1 ms/MB here).

    .venv/bin/python benchmarks/bench_data_stores.py [--mb 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eflows_kernel.events import EventStream  # noqa: E402
from eflows_kernel.services.hpc.transfer.relay import fetch  # noqa: E402
from eflows_kernel.services.hpc.transfer.stores import Auth, open_store  # noqa: E402


def serve_http(root: Path) -> tuple[str, object]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}", httpd


def serve_webdav(root: Path) -> tuple[str, object]:
    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    app = WsgiDAVApp({"provider_mapping": {"/": str(root)}, "verbose": 0,
                      "http_authenticator": {"domain_controller": None},
                      "simple_dc": {"user_mapping": {"*": {"u": {"password": "p"}}}},
                      "logging": {"enable_loggers": []}})
    server = wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    threading.Thread(target=server.serve, daemon=True).start()
    return f"http://127.0.0.1:{server.bind_addr[1]}", server


def raw_get(url: str, target: Path, auth: tuple[str, str] | None = None) -> None:
    with httpx.stream("GET", url, auth=auth, timeout=120) as r, target.open("wb") as f:
        for block in r.iter_bytes(1 << 20):
            f.write(block)


def timed(run, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        served = tmp / "served"
        served.mkdir()
        (served / "data.bin").write_bytes(os.urandom(args.mb << 20))
        rows = []
        http_url, _h = serve_http(served)
        dav_url, _d = serve_webdav(served)
        from moto.server import ThreadedMotoServer

        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        s3_auth = Auth("AKIA", "secret", options=(("endpoint_url", f"http://{host}:{port}"),))
        s3 = open_store("s3", s3_auth)
        s3.client.create_bucket(Bucket="bench")
        s3.client.upload_file(str(served / "data.bin"), "bench", "data.bin")
        cases = [("http", open_store("http"), f"{http_url}/data.bin", None),
                 ("webdav", open_store("webdav", Auth("u", "p")),
                  f"{dav_url}/data.bin", ("u", "p")),
                 ("s3", s3, "s3://bench/data.bin", None)]
        for protocol, store, location, auth in cases:
            out = tmp / protocol
            ours = timed(lambda: fetch(store, location, out,  # noqa: B023
                                       EventStream("bench")), args.repeat)
            if protocol == "s3":
                raw = timed(lambda: s3.client.download_file("bench", "data.bin",
                                                             str(tmp / "raw.bin")),
                            args.repeat)
            else:
                raw = timed(lambda: raw_get(location, tmp / "raw.bin", auth),  # noqa: B023
                            args.repeat)
            rows.append((protocol, args.mb / ours, args.mb / raw, raw / ours))
            store.close()
        moto.stop()
    print(f"{'protocol':<8} {'ours MB/s':>10} {'raw MB/s':>10} {'ours/raw':>9}")
    for protocol, ours_rate, raw_rate, ratio in rows:
        print(f"{protocol:<8} {ours_rate:>10.0f} {raw_rate:>10.0f} {ratio:>9.2f}")


if __name__ == "__main__":
    main()
