"""Stage-in URLs against the SSRF policy: private hosts, secrets, redirects (the redirects
through the real sshd's curl and through this side's download)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from eflows_kernel.services.deploy.staging import plan
from eflows_kernel.services.errors import ValidationError
from eflows_kernel.services.hpc import ssh
from eflows_kernel.services.hpc.transfer import UrlPolicy, UrlRefused, stage_in_url
from eflows_kernel.services.workflows import workflow_from_spec

PRIVATE = ["http://127.0.0.1/x", "http://0x7f000001/x", "http://2130706433/x",
           "http://127.1/x", "http://[::1]/x", "http://[::ffff:127.0.0.1]/x",
           "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/x",
           "http://192.168.0.1/x", "http://localhost:8888/api", "http://0.0.0.0/x"]
SECRETS = ["https://user:pw@example.org/x", "https://example.org/x?token=abc",
           "https://example.org/x?X-Amz-Signature=abc", "https://example.org/x?api_key=1"]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_and_loopback_hosts_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(UrlRefused, match="loopback, link-local or private"):
        UrlPolicy().check(url)
    assert UrlPolicy(allow_private=True).check(url) == url


@pytest.mark.parametrize("url", SECRETS)
def test_a_url_carrying_a_secret_is_refused(url: str) -> None:
    with pytest.raises(UrlRefused, match="stored with the execution in clear"):
        UrlPolicy(allow_private=True).check(url)


def test_refused_at_submission_with_the_field_named_and_nothing_planned() -> None:
    workflow = workflow_from_spec({
        "name": "fetch", "inputs": [{"name": "data", "type": "path"}],
        "steps": [{"name": "s", "application": "/bin/true"}],
        "data_movements": [{"name": "meta", "direction": "in", "kind": "http",
                            "source": "http://169.254.169.254/latest/meta-data/"}]})
    with pytest.raises(ValidationError) as refused:
        plan(workflow, {"data": "https://example.org/d?token=s3cret"},
             url_policy=UrlPolicy())
    assert set(refused.value.details["fields"]) == {"data", "meta"}
    assert "s3cret" not in str(refused.value.details)



def _as_public(port: int) -> UrlPolicy:
    """The test's data server stands for a public one; every other host resolves as is."""
    def resolve(host: str, at: int) -> list[str]:
        if host == "127.0.0.1" and at == port:
            return ["93.184.216.34"]
        return sorted({str(i[4][0]) for i in socket.getaddrinfo(host, at)})
    return UrlPolicy(resolve=resolve)


@pytest.mark.parametrize("via", ["cluster", "local"])
@pytest.mark.parametrize("location", ["http://169.254.169.254/latest/meta-data/",
                                      "http://127.0.0.1:2222/", "ftp://127.0.0.1/x",
                                      "http://localhost/"])
def test_every_redirect_hop_is_checked_again(client, sshd, redirector, via,
                                             location) -> None:
    port, target = redirector
    target[0] = location
    rdir = f"url-policy-{uuid.uuid4().hex[:8]}"
    try:
        with pytest.raises(UrlRefused):
            stage_in_url(client, f"http://127.0.0.1:{port}/go/data.txt", rdir, via=via,
                         policy=_as_public(port))
        assert not (sshd.home / rdir / "data.txt").exists()
        target[0] = f"http://127.0.0.1:{port}/data.txt"  # a redirect that stays public
        result = stage_in_url(client, f"http://127.0.0.1:{port}/go/data.txt", rdir, via=via,
                              policy=_as_public(port))
        assert (sshd.home / rdir / "data.txt").read_bytes() == b"public data\n"
        assert result.bytes == len(b"public data\n")
    finally:
        ssh.run(client, f"rm -rf {rdir}")
    assert Path(sshd.home).is_dir()
