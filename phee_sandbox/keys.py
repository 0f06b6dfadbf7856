"""Client-side helpers of the sandbox: a demo key pair and PHEE's X-SIGNATURE.

Used by ``python -m phee_sandbox`` (which makes a key pair and trusts its public
half) and ``python -m phee_sandbox.sign`` (which signs a CSV for ``curl``).
Written from the API reference §2.3, independently of the addon's
``phee.signer``, so the two implementations check each other:

1. the signed string joins with ``:`` the values of ``X-BatchID``,
   ``X-CorrelationID`` and ``Platform-TenantId`` (those present, in that order)
   and then the payload: the CSV as the bulk processor rebuilds it from the
   multipart part (connector-common JWSUtil.parseFormData: lines joined with
   LF, the part ends at its first empty line, trimmed), or the raw JSON body;
2. its SHA3-256 digest as lowercase hex;
3. Java's ``Cipher "RSA"`` in ENCRYPT_MODE with the private key: PKCS#1 v1.5
   block type 1 (no DigestInfo) raised to the private exponent, Base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .java import JAVA_WHITESPACE, java_lines

SIGNED_HEADERS = ("X-BatchID", "X-CorrelationID", "Platform-TenantId")


def generate_key_pair(bits: int = 2048) -> tuple[str, str]:
    """``(private key PKCS#8 PEM, public key SubjectPublicKeyInfo PEM)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
    return private, public


def load_private_key(text) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (PKCS#8 or PKCS#1) or bare Base64 PKCS#8 DER,
    the form PHEE's ``jws.tenantKeys[].privateKey`` carries.

    :raise ValueError: not an unencrypted RSA private key.
    """
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            der = base64.b64decode(b"".join(data.split()), validate=True)
            key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an unencrypted RSA private key (PEM or bare Base64)")
    return key


def rebuilt_csv(text: str) -> str:
    """The CSV as the bulk processor reads a file part carrying ``text``."""
    lines = []
    for line in java_lines(text):
        if line == "":
            break
        lines.append(line)
    return "\n".join(lines).strip(JAVA_WHITESPACE)


def signing_string(
    payload: str, *, tenant: str | None, correlation_id: str | None, batch_id=None
) -> str:
    """The text PHEE hashes: header values, then the payload, ``:``-joined."""
    values = [v for v in (batch_id, correlation_id, tenant) if v is not None]
    return ":".join([*values, payload]) if payload else ":".join(values)


def x_signature(payload: str, private_key, **headers) -> str:
    """Base64 X-SIGNATURE of ``payload`` (already rebuilt) for ``headers``
    (``tenant``, ``correlation_id``, ``batch_id``); ``private_key`` is a key
    object or its text."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        private_key = load_private_key(private_key)
    numbers = private_key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    digest = hashlib.sha3_256(signing_string(payload, **headers).encode("utf-8"))
    data = digest.hexdigest().encode("ascii")
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data
    message = int.from_bytes(block, "big")
    # m^d mod n by the Chinese remainder theorem
    m1 = pow(message, numbers.dmp1, numbers.p)
    m2 = pow(message, numbers.dmq1, numbers.q)
    h = numbers.iqmp * (m1 - m2) % numbers.p
    signature = (m2 + h * numbers.q).to_bytes(size, "big")
    return base64.b64encode(signature).decode("ascii")
