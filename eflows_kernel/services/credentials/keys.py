"""SSH key handling for the vault: generate, parse, fingerprint, certificates, authorized_keys.

Pure functions over ``cryptography`` objects and OpenSSH text, with no storage, so
each rule (what counts as the same key, what a fingerprint is) lives in one place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from eflows_kernel.services.credentials.errors import VaultError

KeyKind = Literal["ed25519", "rsa", "ecdsa"]
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

RSA_DEFAULT_BITS = 4096
RSA_MIN_BITS = 2048  # OpenSSH and HPC centres reject or deprecate anything smaller
RSA_MAX_BITS = 16384

_OPENSSH_HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"
_PUBLIC_KEY_TYPES = frozenset({
    "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
})


def generate_private_key(kind: str, bits: int | None = None) -> PrivateKey:
    """A fresh key pair; ed25519 by default upstream because it is small, fast and fixed-size."""
    if kind == "ed25519":
        if bits not in (None, 256):
            raise VaultError(f"ed25519 keys have a fixed size; bits={bits} does not apply")
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa":
        bits = RSA_DEFAULT_BITS if bits is None else bits
        if not isinstance(bits, int) or not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
            raise VaultError(
                f"rsa bits={bits!r}: use a size between {RSA_MIN_BITS} and {RSA_MAX_BITS}")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    raise VaultError(f"unknown key kind {kind!r}: use 'ed25519' or 'rsa'")


def key_kind(key: object) -> KeyKind:
    """The kind name of a key; refuses the kinds neither OpenSSH nor paramiko should use."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < RSA_MIN_BITS:
            raise VaultError(f"this RSA key has only {key.key_size} bits; "
                             f"use at least {RSA_MIN_BITS} (or an ed25519 key)")
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1 | ec.SECP521R1):
            raise VaultError(f"ECDSA curve {key.curve.name} is not usable with OpenSSH")
        return "ecdsa"
    raise VaultError(f"unsupported key type {type(key).__name__.lstrip('_')}: "
                     "use an ed25519, RSA or ECDSA key")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


MAX_KDF_ROUNDS = 512  # ssh-keygen's default is 16; each round costs ~20 ms here


def _check_kdf_rounds(raw: bytes) -> None:
    """Refuse an OpenSSH key whose bcrypt rounds would take minutes to derive.

    The rounds are the sender's choice and decrypting costs the server's CPU, so a key
    with a million rounds is a denial of service, not a stronger key.
    """
    body = b"".join(line.strip() for line in raw.splitlines()[1:-1])
    try:
        blob = base64.b64decode(body)
    except (binascii.Error, ValueError):
        return  # not ours to judge: the loader reports a malformed key
    magic = b"openssh-key-v1\0"
    if not blob.startswith(magic):
        return
    at = len(magic)
    fields = []
    for _ in range(3):  # cipher name, KDF name, KDF options
        if at + 4 > len(blob):
            return
        size = int.from_bytes(blob[at:at + 4], "big")
        fields.append(blob[at + 4:at + 4 + size])
        at += 4 + size
    _cipher, kdf, options = fields
    if kdf != b"bcrypt" or len(options) < 4:
        return
    salt_size = int.from_bytes(options[:4], "big")
    rounds = int.from_bytes(options[4 + salt_size:8 + salt_size], "big")
    if rounds > MAX_KDF_ROUNDS:
        raise VaultError(f"the key's passphrase uses {rounds} bcrypt rounds; at most "
                         f"{MAX_KDF_ROUNDS} are accepted (re-encrypt it with: ssh-keygen -p "
                         "-a 100 -f KEYFILE)")


def load_private_key(data: str | bytes, passphrase: str | bytes | None = None) -> PrivateKey:
    """Parse an OpenSSH or PEM private key, possibly passphrase-protected.

    Every failure becomes a :class:`VaultError` whose message describes the
    problem in words and is raised ``from None``, so neither the message nor the
    chained exception can carry the submitted text.
    """
    raw = _as_bytes(data).strip()
    text = raw[:100].decode("ascii", errors="replace")
    password = _as_bytes(passphrase) if passphrase not in (None, "", b"") else None
    if text.startswith(_OPENSSH_HEADER):
        _check_kdf_rounds(raw)
        loader = serialization.load_ssh_private_key
    elif text.startswith("-----BEGIN") and "PRIVATE KEY-----" in text:
        loader = serialization.load_pem_private_key
    elif text.split(" ", 1)[0] in _PUBLIC_KEY_TYPES:
        raise VaultError("this is a public key; importing needs the private key "
                         "(the file without .pub)")
    elif text.startswith("PuTTY-User-Key-File"):
        raise VaultError("PuTTY keys are not supported; convert it first with "
                         "'puttygen key.ppk -O private-openssh -o key'")
    else:
        raise VaultError("not a private key: expected an OpenSSH key "
                         f"({_OPENSSH_HEADER}) or a PEM private key (-----BEGIN ... "
                         "PRIVATE KEY-----)")
    try:
        try:
            key = loader(raw, password)
        except TypeError as exc:
            if password is None:
                raise VaultError("the private key is protected by a passphrase; "
                                 "give the passphrase") from None
            if "not encrypted" not in str(exc):
                raise
            key = loader(raw, None)  # a passphrase for a clear key is harmless: ignore it
    except VaultError:
        raise
    except UnsupportedAlgorithm:
        raise VaultError("the private key uses an unsupported algorithm or cipher") from None
    except (ValueError, TypeError):
        if password is not None:
            raise VaultError("could not decrypt the private key: wrong passphrase, "
                             "or the key is corrupted") from None
        raise VaultError("the private key is malformed or truncated") from None
    key_kind(key)
    return key  # type: ignore[return-value]


def private_bytes(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 DER: one format for every key kind, encrypted by the vault itself."""
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private_bytes(der: bytes) -> PrivateKey:
    return serialization.load_der_private_key(der, password=None)  # type: ignore[return-value]


def public_key_line(key: PrivateKey) -> str:
    """``<type> <base64 blob>``, the OpenSSH public key without a comment."""
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode("ascii")


def fingerprint(public_line: str) -> str:
    """``SHA256:<unpadded base64>`` of the key blob: what ``ssh-keygen -l`` prints."""
    blob = base64.b64decode(public_line.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii")
    return "SHA256:" + digest.rstrip("=")


def check_certificate(certificate: str, key: PrivateKey) -> str:
    """Validate an OpenSSH certificate line for ``key`` and return it normalised.

    Sites with an SSH CA hand out short-lived certificates for a user's key; a
    certificate for another key would make every login fail later, far from the
    cause, so it is refused here.
    """
    line = certificate.strip()
    if "\n" in line or "\r" in line:
        raise VaultError("the certificate must be one line (the contents of the -cert.pub file)")
    try:
        cert = serialization.load_ssh_public_identity(line.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise VaultError("the certificate is not a valid OpenSSH certificate "
                         "(expected the contents of a -cert.pub file)") from None
    if not isinstance(cert, serialization.SSHCertificate):
        raise VaultError("this is a plain public key, not an OpenSSH certificate")
    try:
        cert.verify_cert_signature()
    except Exception:
        raise VaultError("the certificate's signature does not verify") from None
    ours = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH)
    theirs = cert.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH)
    if ours != theirs:
        raise VaultError("the certificate was issued for another key "
                         f"({fingerprint(theirs.decode('ascii'))}), not this one "
                         f"({fingerprint(ours.decode('ascii'))})")
    return line


def check_label(value: str, what: str, *, required: bool) -> str:
    """Names and comments end up inside one-line OpenSSH formats: no control characters."""
    if not isinstance(value, str):
        raise VaultError(f"{what} must be a string")
    value = value.strip()
    if required and not value:
        raise VaultError(f"{what} must not be empty")
    if len(value) > 200:
        raise VaultError(f"{what} is too long (at most 200 characters)")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise VaultError(f"{what} must not contain control characters or line breaks")
    return value


# ---- authorized_keys -------------------------------------------------------------------

def _is_key_type(token: str) -> bool:
    return (token in _PUBLIC_KEY_TYPES or token.endswith("-cert-v01@openssh.com")
            or token.startswith("sk-"))


def _options_end(line: str) -> int:
    """Index just past the options field: whitespace outside double quotes ends it (as sshd)."""
    quoted = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and quoted and i + 1 < len(line):
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c in " \t" and not quoted:
            return i
        i += 1
    return i


def authorized_key_blob(line: str) -> str | None:
    """The base64 key blob of one authorized_keys line, or None (blank, comment, malformed)."""
    line = line.strip(" \t\r\n")
    if not line or line.startswith("#"):
        return None
    tokens = line.split()
    if not _is_key_type(tokens[0]):
        rest = line[_options_end(line):].split()
        tokens = rest
    if len(tokens) >= 2 and _is_key_type(tokens[0]):
        return tokens[1]
    return None


def remove_authorized_key(text: str, public_line: str) -> str:
    """``text`` without the line(s) holding the key of ``public_line``; the rest byte-for-byte.

    The key blob is compared, never the comment: a user may have edited the
    comment, and another key may carry a look-alike one.
    """
    blob = public_line.split()[1]
    pieces = text.split("\n")
    lines = [p + "\n" for p in pieces[:-1]]
    if pieces[-1]:
        lines.append(pieces[-1])
    return "".join(line for line in lines if authorized_key_blob(line) != blob)
