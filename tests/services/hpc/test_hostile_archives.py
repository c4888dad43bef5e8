"""A hostile site answering a stage-out with a crafted tar, over the real sshd.

The site (a compromised login node, or the workflow's own program writing the folder)
chooses every byte of the archive; whatever it sends, nothing may land outside the
folder being staged out, and a refused folder leaves nothing behind. The crafted archive
is put on the site and sent instead of ``tar -c`` (``download.folder_command``): the bytes
still cross the real SSH channel.

The same crafted archives, and a few more, are a container image a data service keeps
as one tar: the image transfer refuses them before the site unpacks anything
(``image_archive``), while a real image directory arrives with its modes, links and
empty directories.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import TransferError, download, stage_in, stage_out
from eflows_kernel.services.hpc.transfer.image_archive import check_image_archive, pack_image
from eflows_kernel.services.hpc.transfer.relay import relay_image_to_site
from eflows_kernel.services.hpc.transfer.stores import open_store
from eflows_kernel.services.hpc.transfer.untar import UnsafeArchive
from eflows_kernel.services.hpc.transfer.url_policy import UrlPolicy
from tests.plugins.data_services import HttpFiles

PLANTED = b"planted by the site\n"




def _archive(add: Callable[[tarfile.TarFile], None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add(tar)
    return buf.getvalue()


def _file(tar: tarfile.TarFile, name: str, data: bytes = PLANTED) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    tar.addfile(info)


def dotdot(outside: Path) -> bytes:
    return _archive(lambda tar: _file(tar, "./../../../../../../../.." + str(outside /
                                                                               "planted.txt")))


def absolute(outside: Path) -> bytes:
    return _archive(lambda tar: _file(tar, str(outside / "planted.txt")))


def symlink_then_file(outside: Path) -> bytes:
    def add(tar: tarfile.TarFile) -> None:
        _link(tar, "results", str(outside))
        _file(tar, "results/planted.txt")
    return _archive(add)


def hardlink_out(outside: Path) -> bytes:
    def add(tar: tarfile.TarFile) -> None:
        _link(tar, "a.txt", str(outside / "victim.txt"), tarfile.LNKTYPE)
    return _archive(add)


def realpath_overflow(outside: Path) -> bytes:
    """Symlinks through directories so long that ``os.path.realpath`` gives up resolving
    (ENAMETOOLONG) and takes the last link for a directory; the kernel does not
    (CVE-2025-4517: defeats ``filter="data"`` before Python 3.11.13 / 3.12.11)."""
    long_dir, hops = "d" * 247, "abcdefghijklmnop"

    def add(tar: tarfile.TarFile) -> None:
        path = ""
        for hop in hops:
            info = tarfile.TarInfo(os.path.join(path, long_dir))
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
            _link(tar, os.path.join(path, hop), long_dir)
            path = os.path.join(path, long_dir)
        last = os.path.join(*hops, "l" * 254)
        _link(tar, last, "../" * len(hops))
        _link(tar, "escape", last + "/" + "../" * (len(hops) + 1) + str(outside).lstrip("/"))
        _file(tar, "escape/planted.txt")
    return _archive(add)


def device(outside: Path) -> bytes:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("null")
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
        tar.addfile(info)
    return _archive(add)


def bigger_than_listed(outside: Path) -> bytes:
    return _archive(lambda tar: _file(tar, "./a.txt", b"x" * 100_000))


def unlisted(outside: Path) -> bytes:
    return _archive(lambda tar: _file(tar, "./surprise.txt"))


HOSTILE = [dotdot, absolute, symlink_then_file, hardlink_out, realpath_overflow, device,
           bigger_than_listed, unlisted]


@pytest.mark.parametrize("craft", HOSTILE, ids=[f.__name__ for f in HOSTILE])
def test_a_crafted_archive_writes_nothing_outside_and_leaves_no_part(
        client, rdir, sshd, tmp_path, monkeypatch, craft) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("the server's own file\n")
    # The folder as the cluster lists it: one small file, a.txt.
    source = tmp_path / "results"
    source.mkdir()
    (source / "a.txt").write_text("alpha\n")
    stage_in(client, source, rdir)
    crafted = tmp_path / "crafted.tar"
    crafted.write_bytes(craft(outside))
    stage_in(client, crafted, rdir)
    monkeypatch.setattr(download, "folder_command", lambda folder: f"cat {rdir}/crafted.tar")
    back = tmp_path / "back"
    with pytest.raises(TransferError):
        stage_out(client, f"{rdir}/results", back)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (outside / "victim.txt").read_text() == "the server's own file\n"
    assert not any(p.name.startswith("results") for p in back.iterdir()), \
        list(back.iterdir())


def test_a_folder_with_hard_links_and_symlinks_comes_back_as_files(client, rdir, sshd,
                                                                   tmp_path) -> None:
    """What ``tar -c`` really sends for such a folder is still unpacked: a hard link
    becomes a copy, a symlink (which ``find -type f`` does not list) is left out."""
    ssh.run(client, f"mkdir -p {rdir}/res/sub && echo one > {rdir}/res/a && "
                    f"ln {rdir}/res/a {rdir}/res/sub/b && ln -s /etc/passwd {rdir}/res/pw && "
                    f"chmod 600 {rdir}/res/a")
    result = stage_out(client, f"{rdir}/res", tmp_path / "back")
    back = tmp_path / "back" / "res"
    assert (back / "a").read_text() == "one\n" and (back / "sub" / "b").read_text() == "one\n"
    assert not (back / "pw").exists() and not (back / "pw").is_symlink()
    assert result.bytes == 8


def test_a_source_ending_in_dotdot_cannot_replace_the_folder_above(client, rdir,
                                                                    tmp_path) -> None:
    """``x/..`` once made the local name ``..``: the folder above the target (every run's
    folder) was removed to make room for it."""
    ssh.run(client, f"mkdir -p {rdir}/x && echo a > {rdir}/x/a")
    runs = tmp_path / "runs"
    (runs / "e1").mkdir(parents=True)
    (runs / "e2").mkdir()
    (runs / "e2" / "events.jsonl").write_text("{}\n")
    stage_out(client, f"{rdir}/x/..", runs / "e1")
    assert (runs / "e2" / "events.jsonl").read_text() == "{}\n"
    assert (runs / "e1" / rdir / "x" / "a").read_text() == "a\n"
    with pytest.raises(TransferError, match="not a single file name"):
        stage_out(client, ".", runs / "e1")


def link_out_through_links(outside: Path) -> bytes:
    """Each link stays inside when read alone; followed, ``s`` is the root, so the
    ``..`` of ``t`` climbs above it."""
    def add(tar: tarfile.TarFile) -> None:
        _link(tar, "s", ".")
        _link(tar, "t", "s/s/s/..")
    return _archive(add)


def relative_link_out(outside: Path) -> bytes:
    return _archive(lambda tar: _link(tar, "usr/lib/evil", "../../../" + str(outside)))


def link_after_its_members(outside: Path) -> bytes:
    def add(tar: tarfile.TarFile) -> None:
        _file(tar, "etc/passwd")
        _link(tar, "etc", str(outside))
    return _archive(add)


IMAGE_HOSTILE = [dotdot, absolute, symlink_then_file, hardlink_out, realpath_overflow, device,
                 link_out_through_links, relative_link_out, link_after_its_members]


@pytest.mark.parametrize("craft", IMAGE_HOSTILE, ids=[f.__name__ for f in IMAGE_HOSTILE])
def test_an_image_archive_that_could_reach_outside_the_image_is_refused(tmp_path,
                                                                        craft) -> None:
    crafted = tmp_path / "image.tar"
    crafted.write_bytes(craft(tmp_path / "outside"))
    with pytest.raises(UnsafeArchive):
        check_image_archive(crafted)


def test_an_image_named_as_a_tar_must_be_one(tmp_path) -> None:
    (tmp_path / "image.tar.gz").write_bytes(b"hsqs" + bytes(600))
    with pytest.raises(UnsafeArchive, match="named as a tar archive"):
        check_image_archive(tmp_path / "image.tar.gz")


def _image_folder(root: Path) -> Path:
    """What ``ch-run`` needs of an image directory and file-by-file transfers lose."""
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "bin").mkdir()
    for empty in ("dev", "proc", "sys"):
        (root / empty).mkdir()
    tool = root / "usr" / "bin" / "tool"
    tool.write_text("#!/bin/sh\necho from the image\n")
    tool.chmod(0o755)
    (root / "usr" / "lib" / "libx.so").write_bytes(b"\x7fELF" + bytes(100))
    (root / "lib").symlink_to("usr/lib")
    (root / "usr" / "bin" / "awk").symlink_to("/etc/alternatives/awk")  # the image's own /etc
    return root


def test_a_directory_image_travels_as_one_tar_and_keeps_modes_links_and_empty_dirs(
        client, rdir, sshd, tmp_path, http_files: HttpFiles) -> None:
    store = open_store("http", policy=UrlPolicy(allow_private=True))
    images = http_files.root / "img-archive" / rdir
    pack_image(_image_folder(tmp_path / "tool"), images / "tool.tar.gz")
    (images / "bad.tar").write_bytes(device(tmp_path))
    (images / "single.sif").write_bytes(b"#!/usr/bin/env run-singularity\n" + bytes(1000))
    base = f"{http_files.url}/img-archive/{rdir}"
    # An image store's <step_id>.sif, kept as <step_id>.tar.gz beside that name.
    results = relay_image_to_site(client, store, f"{base}/tool.sif", f"{rdir}/images",
                                  tmp_path / "spool", "tool.sif")
    assert [r.name for r in results] == ["tool.sif.tar"]
    image = sshd.home / rdir / "images" / "tool.sif"
    assert sorted(p.name for p in (sshd.home / rdir / "images").iterdir()) == ["tool.sif"]
    assert os.access(image / "usr" / "bin" / "tool", os.X_OK)
    assert all((image / d).is_dir() and not any((image / d).iterdir())
               for d in ("dev", "proc", "sys"))
    assert os.readlink(image / "lib") == "usr/lib"
    assert os.readlink(image / "usr" / "bin" / "awk") == "/etc/alternatives/awk"
    assert (image / "lib" / "libx.so").read_bytes().startswith(b"\x7fELF")
    code, out, _err = ssh.run(client, f"{rdir}/images/tool.sif/usr/bin/tool")
    assert (code, out) == (0, "from the image\n")
    # A second transfer replaces the image whole.
    relay_image_to_site(client, store, f"{base}/tool.tar.gz", f"{rdir}/images",
                        tmp_path / "spool", "tool.sif")
    assert os.readlink(image / "lib") == "usr/lib"
    # A hostile archive is refused before anything is sent; a SIF file stays one file.
    with pytest.raises(UnsafeArchive, match="devices"):
        relay_image_to_site(client, store, f"{base}/bad.tar", f"{rdir}/images",
                            tmp_path / "spool2", "bad")
    assert not (sshd.home / rdir / "images" / "bad").exists()
    assert not list((sshd.home / rdir / "images").glob("bad*"))
    relay_image_to_site(client, store, f"{base}/single.sif", f"{rdir}/images",
                        tmp_path / "spool3", "single.sif")
    assert (sshd.home / rdir / "images" / "single.sif").is_file()
    store.close()
