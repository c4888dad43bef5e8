"""``revoke_line``: remove exactly one key from an authorized_keys text, touch nothing else."""

from __future__ import annotations

import os

import pytest

from eflows_kernel.services.credentials import CredentialVault, InMemoryCredentialRepository
from tests.services.credentials.key_material import ed25519_key, public_line, rsa_key


@pytest.fixture
def vault() -> CredentialVault:
    return CredentialVault(InMemoryCredentialRepository(), master_key=os.urandom(32))


def test_tricky_authorized_keys(vault: CredentialVault) -> None:
    info = vault.generate("ours")
    ours = " ".join(info.public_key.split()[:2])
    blob = ours.split()[1]
    other = public_line(ed25519_key())
    other_rsa = public_line(rsa_key())
    kept = [
        "# authorized_keys, edited by hand\n",
        "\n",
        f"{other} eflows:{info.id}\n",  # our tag in the comment, another key: kept
        "   \n",
        f'command="echo {ours}",no-pty {other_rsa} quoted look-alike\n',  # ours only in options
        f"restrict {other} mentions {blob} in the comment\n",
        f"#{ours} commented out stays\n",
        "\tgarbage line that is not a key\n",
    ]
    removed = [
        f'from="10.0.0.1,192.168.*",command="echo \\"hi there\\"" {ours} laptop\n',
        f"{vault.authorized_keys_line(info.id)}\r\n",
        f"  {ours}\n",
        f"no-port-forwarding,no-pty {ours} renamed by the user\n",
        f"{ours}",  # last line, no trailing newline
    ]
    text = (kept[0] + removed[0] + kept[1] + kept[2] + removed[1] + kept[3] + kept[4]
            + removed[2] + kept[5] + removed[3] + kept[6] + kept[7] + removed[4])
    assert vault.revoke_line(text, info.id) == "".join(kept)


def test_other_lines_are_kept_byte_for_byte(vault: CredentialVault) -> None:
    info = vault.generate("ours")
    other = public_line(ed25519_key())
    text = f"{other} a  b\t c\r\n\n\n{vault.authorized_keys_line(info.id)}\n{other} last"
    assert vault.revoke_line(text, info.id) == f"{other} a  b\t c\r\n\n\n{other} last"


def test_last_line_without_newline_keeps_the_previous_newline(vault: CredentialVault) -> None:
    info = vault.generate("ours")
    other = public_line(ed25519_key())
    text = f"{other}\n{vault.authorized_keys_line(info.id)}"
    assert vault.revoke_line(text, info.id) == f"{other}\n"


@pytest.mark.parametrize("text", ["", "\n", "# nothing\n", "no newline at all"])
def test_text_without_the_key_is_unchanged(vault: CredentialVault, text: str) -> None:
    info = vault.generate("ours")
    assert vault.revoke_line(text, info.id) == text
    other = public_line(ed25519_key()) + " x\n"
    assert vault.revoke_line(text + other, info.id) == text + other


def test_only_the_named_credential_is_revoked(vault: CredentialVault) -> None:
    a = vault.generate("a")
    b = vault.generate("b", kind="rsa", bits=2048)
    text = vault.authorized_keys_line(a.id) + "\n" + vault.authorized_keys_line(b.id) + "\n"
    assert vault.revoke_line(text, a.id) == vault.authorized_keys_line(b.id) + "\n"
    assert vault.revoke_line(vault.revoke_line(text, a.id), b.id) == ""
