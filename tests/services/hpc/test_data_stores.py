"""The protocol adapters against real services on loopback (tests/plugins/data_services.py).

Every protocol gets the same guarantees as the SSH transfers: the bytes that arrive
are checked (the service's MD5/SHA-256, sha256 always), nothing partial is left under
its final name, an interrupted download resumes with a range request for the same
version only, progress events are written, and a name from the service cannot leave
the folder it lands in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from eflows_kernel.events import EventStream
from eflows_kernel.services.hpc.transfer import ChecksumMismatch
from eflows_kernel.services.hpc.transfer.relay import fetch, push
from eflows_kernel.services.hpc.transfer.stores import Auth, StoreError, open_store, protocol_of
from eflows_kernel.services.paths import UnsafePath
from tests.plugins.data_services import B2ShareServer, HttpFiles, S3Endpoint, WebDavShare


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def transfer_events(log: EventStream) -> list[dict]:
    return [e for e in log.events() if e["type"] == "transfer"]


# ---- WebDAV -------------------------------------------------------------------------------

def dav(share: WebDavShare, password: str | None = None):
    return open_store("webdav", Auth(share.username, password or share.password))


def test_webdav_folder_is_fetched_whole_with_its_subfolders(
        webdav_share: WebDavShare, tmp_path: Path) -> None:
    src = webdav_share.root / "region-a"
    (src / "Templates").mkdir(parents=True)
    (src / "grid.nc").write_bytes(b"G" * 300_000)
    (src / "Templates" / "a b.cfg").write_text("x=1\n")
    log = EventStream("t")
    store = dav(webdav_share)
    results = fetch(store, f"{webdav_share.url}/region-a", tmp_path / "spool", log)
    store.close()
    assert tree(tmp_path / "spool") == tree(src)
    assert {r.name: r.sha256 for r in results} == {k: sha(v) for k, v in tree(src).items()}
    states = [e["state"] for e in transfer_events(log)]
    assert states.count("done") == 2 and "failed" not in states
    assert not list((tmp_path / "spool").rglob("*.part*"))


def test_webdav_wrong_password_says_so(webdav_share: WebDavShare, tmp_path: Path) -> None:
    (webdav_share.root / "secret.txt").write_text("s")
    store = dav(webdav_share, password="wrong")
    with pytest.raises(StoreError, match=r"401.*credential"):
        fetch(store, f"{webdav_share.url}/secret.txt", tmp_path)
    store.close()


def test_webdav_upload_lands_whole_under_its_name(webdav_share: WebDavShare,
                                                  tmp_path: Path) -> None:
    results_dir = tmp_path / "results"
    (results_dir / "plots").mkdir(parents=True)
    (results_dir / "out.csv").write_bytes(b"1,2\n" * 50_000)
    (results_dir / "plots" / "p.png").write_bytes(bytes(range(256)) * 10)
    store = dav(webdav_share)
    pushed = push(store, results_dir, f"{webdav_share.url}/stage-out/run-1")
    store.close()
    landed = webdav_share.root / "stage-out" / "run-1" / "results"
    assert tree(landed) == tree(results_dir)
    assert {r.name for r in pushed} == {"results/out.csv", "results/plots/p.png"}
    assert not list((webdav_share.root / "stage-out").rglob("*.part"))


# ---- S3 -----------------------------------------------------------------------------------

def s3(endpoint: S3Endpoint, secret: str | None = None):
    return open_store("s3", Auth(endpoint.access_key, secret or endpoint.secret_key,
                                 options=(("endpoint_url", endpoint.endpoint_url),)))


def test_s3_prefix_round_trip_keeps_every_byte(s3_endpoint: S3Endpoint,
                                               tmp_path: Path) -> None:
    s3_endpoint.client().create_bucket(Bucket="results")
    out = tmp_path / "out"
    (out / "deep" / "er").mkdir(parents=True)
    (out / "a.bin").write_bytes(b"\x00\xff" * 100_000)
    (out / "deep" / "er" / "b.txt").write_text("b")
    store = s3(s3_endpoint)
    push(store, out, "s3://results/run-7")
    head = s3_endpoint.client().head_object(Bucket="results", Key="run-7/out/a.bin")
    assert head["Metadata"]["sha256"] == sha((out / "a.bin").read_bytes())
    fetched = fetch(store, "s3://results/run-7/out", tmp_path / "back")
    store.close()
    assert tree(tmp_path / "back") == tree(out)
    assert all(r.sha256 == sha((out / r.name).read_bytes()) for r in fetched)


def test_s3_missing_object_is_a_clear_error(s3_endpoint: S3Endpoint, tmp_path: Path) -> None:
    s3_endpoint.client().create_bucket(Bucket="inputs")
    store = s3(s3_endpoint)
    with pytest.raises(StoreError, match="nothing at s3://inputs/none"):
        fetch(store, "s3://inputs/none", tmp_path)
    store.close()


# ---- B2SHARE ------------------------------------------------------------------------------

def test_b2share_record_by_id_is_fetched_and_md5_checked(b2share_server: B2ShareServer,
                                                         tmp_path: Path) -> None:
    files = {"data.txt": b"the quick brown fox\n" * 1000, "meta/readme.md": b"# r\n"}
    location = b2share_server.add_record("a1b2c3", files)
    store = open_store("b2share")
    results = fetch(store, location, tmp_path)
    store.close()
    assert tree(tmp_path) == files
    assert sorted(r.name for r in results) == sorted(files)


def test_b2share_checksum_mismatch_leaves_no_final_file(b2share_server: B2ShareServer,
                                                        tmp_path: Path) -> None:
    location = b2share_server.add_record("bad-md5", {"x.bin": b"12345"},
                                         checksum={"x.bin": "md5:" + "0" * 32})
    store = open_store("b2share")
    with pytest.raises(ChecksumMismatch, match="md5"):
        fetch(store, location, tmp_path)
    store.close()
    assert not (tmp_path / "x.bin").exists()


def test_b2share_restricted_record_needs_the_token(b2share_server: B2ShareServer,
                                                   tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs every request's URL at INFO
    location = b2share_server.add_record("closed1", {"c.txt": b"closed"}, private=True)
    store = open_store("b2share")
    with pytest.raises(StoreError, match="401") as error:
        fetch(store, location, tmp_path)
    store.close()
    store = open_store("b2share", Auth(token=b2share_server.token))
    fetch(store, location, tmp_path)
    store.close()
    assert (tmp_path / "c.txt").read_bytes() == b"closed"
    assert b2share_server.token not in str(error.value)
    assert "GET /api/records/closed1" in b2share_server.requests
    assert b2share_server.token not in caplog.text


def test_b2share_key_escaping_the_target_is_refused(b2share_server: B2ShareServer,
                                                    tmp_path: Path) -> None:
    location = b2share_server.add_record("evil1", {"../../escaped.txt": b"x"})
    store = open_store("b2share")
    with pytest.raises(UnsafePath, match="leaves the folder"):
        fetch(store, location, tmp_path / "target")
    store.close()
    assert not list(tmp_path.rglob("escaped.txt"))


# ---- HTTP: resume -------------------------------------------------------------------------

def test_http_download_resumes_the_same_version_only(http_files: HttpFiles,
                                                     tmp_path: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    (http_files.root / "params.json").write_bytes(data)
    store = open_store("http")
    item = store.files(f"{http_files.url}/params.json")[0]
    part = tmp_path / "params.json.part"
    part.write_bytes(data[:300_000])
    (tmp_path / "params.json.part.state.json").write_text(
        json.dumps({"etag": item.etag, "size": item.size}))
    http_files.requests.clear()
    fetch(store, f"{http_files.url}/params.json", tmp_path)
    assert (tmp_path / "params.json").read_bytes() == data
    assert any("bytes=300000-" in r for r in http_files.requests)

    # a .part of another version (other ETag) is not continued
    part.write_bytes(b"X" * 1000)
    (tmp_path / "params.json.part.state.json").write_text(
        json.dumps({"etag": '"old"', "size": item.size}))
    http_files.requests.clear()
    fetch(store, f"{http_files.url}/params.json", tmp_path)
    store.close()
    assert (tmp_path / "params.json").read_bytes() == data
    assert not any("bytes=" in r for r in http_files.requests)


def test_protocol_is_told_by_the_scheme_or_the_movement_kind() -> None:
    assert protocol_of("webdavs://b2drop.eudat.eu/remote.php/webdav/x") == "webdav"
    assert protocol_of("https://b2drop.eudat.eu/remote.php/webdav/x", "webdav") == "webdav"
    assert protocol_of("https://b2share.eudat.eu/records/abc", "b2share") == "b2share"
    assert protocol_of("s3://bucket/key") == "s3"
    assert protocol_of("https://example.org/f.txt", "http") == "http"
    with pytest.raises(StoreError, match="not a data location"):
        protocol_of("ftp://example.org/f")


def test_results_become_a_new_b2share_record(b2share_server: B2ShareServer,
                                            tmp_path: Path) -> None:
    from eflows_kernel.services.hpc.transfer.relay import push

    out = tmp_path / "result"
    (out / "sub").mkdir(parents=True)
    (out / "result.txt").write_text("counted 3000 words\n")
    (out / "sub" / "log.txt").write_text("ok\n")
    store = open_store("b2share", Auth(token=b2share_server.token))
    record, bucket = store.create_draft(b2share_server.url, "wordcount results")
    push(store, out / "result.txt", bucket)
    push(store, out / "sub" / "log.txt", f"{bucket}/sub")
    url = store.publish(record)
    store.close()
    rid = record.rsplit("/", 1)[1]
    draft = b2share_server.drafts[rid]
    assert url == f"{b2share_server.url}/records/{rid}"
    assert draft["state"] == "submitted"
    assert draft["metadata"]["titles"] == [{"title": "wordcount results"}]
    assert draft["files"] == {"result.txt": b"counted 3000 words\n", "sub/log.txt": b"ok\n"}
    with pytest.raises(StoreError, match="needs a login"):
        open_store("b2share").create_draft(b2share_server.url, "t")
