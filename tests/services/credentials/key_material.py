"""Key material for the vault tests, made with ``cryptography`` so no external tool is needed."""

from __future__ import annotations

import datetime as dt
import os
import shutil

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SSH_KEYGEN = shutil.which("ssh-keygen")
PASSPHRASE = "correct horse battery"


def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def openssh(key: object, passphrase: str | None = None) -> str:
    enc = (ser.BestAvailableEncryption(passphrase.encode()) if passphrase
           else ser.NoEncryption())
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, enc).decode()


def pem(key: object, passphrase: str | None = None,
        fmt: ser.PrivateFormat = ser.PrivateFormat.PKCS8) -> str:
    enc = (ser.BestAvailableEncryption(passphrase.encode()) if passphrase
           else ser.NoEncryption())
    return key.private_bytes(ser.Encoding.PEM, fmt, enc).decode()


def public_line(key: object) -> str:
    return key.public_key().public_bytes(ser.Encoding.OpenSSH,
                                         ser.PublicFormat.OpenSSH).decode()


def certificate_for(key: object, ca: ed25519.Ed25519PrivateKey | None = None) -> str:
    """An OpenSSH user certificate for ``key``, signed by ``ca``, valid for an hour."""
    ca = ca or ed25519_key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (ser.SSHCertificateBuilder()
            .public_key(key.public_key())
            .serial(int.from_bytes(os.urandom(4), "big"))
            .type(ser.SSHCertificateType.USER)
            .key_id(b"tester@example")
            .valid_principals([b"tester"])
            .valid_after(int(now.timestamp()) - 60)
            .valid_before(int(now.timestamp()) + 3600)
            .sign(ca))
    return cert.public_bytes().decode()


def private_material(key: object) -> list[bytes]:
    """Byte strings that must never appear in anything the vault stores or prints."""
    der = key.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    found = [der]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        found.append(key.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw,
                                       ser.NoEncryption()))
    if isinstance(key, rsa.RSAPrivateKey):
        d = key.private_numbers().d
        found.append(d.to_bytes((d.bit_length() + 7) // 8, "big"))
    return found
