"""PHEE ``X-SIGNATURE``: RSA PKCS#1 v1.5 private-key encryption of a SHA3-256 hex.

This mirrors Java ``Cipher.getInstance("RSA")`` in ENCRYPT_MODE with a private
key: block type 1 padding ``00 01 FF..FF 00 || data`` then ``m^d mod n``, where
``data`` is the UTF-8 lowercase hex SHA3-256 digest of the signing string. There
is no DigestInfo, so ``cryptography``'s ``sign()`` cannot be used; the RSA step
is done with Python integers (blinded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from math import gcd

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import PheeConfigError

_MIN_PADDING = 8  # PKCS#1 v1.5: at least 8 padding bytes


_PEM_BLOCK = re.compile(
    rb"(-----BEGIN [A-Z0-9 ]+-----)(.*?)(-----END [A-Z0-9 ]+-----)", re.S
)


def _pem_bytes(pem) -> bytes:
    """PEM bytes with line breaks restored: a key pasted into a one-line input
    arrives with its line breaks turned into spaces or removed."""
    data = pem.encode("ascii") if isinstance(pem, str) else bytes(pem)
    match = _PEM_BLOCK.search(data)
    if not match:
        return data
    head, body, tail = match.groups()
    body = b"".join(body.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([head, *lines, tail]) + b"\n"


def load_private_key(pem) -> rsa.RSAPrivateKey:
    """Load an unencrypted RSA private key (PKCS#8 or PKCS#1 PEM)."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem).strip(), None)
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PheeConfigError("invalid PEM private key") from None
    return key


def load_public_key(pem) -> rsa.RSAPublicKey:
    """Load an RSA public key from a PEM public key or a PEM X.509 certificate."""
    data = _pem_bytes(pem).strip()
    try:
        if b"BEGIN CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise PheeConfigError("invalid PEM public key or certificate") from None
    return key


def signing_string(
    payload: str, *, batch_id=None, correlation_id=None, tenant_id=None
) -> str:
    """``X-BatchID:X-CorrelationID:Platform-TenantId:payload``, None parts skipped."""
    parts = [v for v in (batch_id, correlation_id, tenant_id) if v is not None]
    return ":".join([*parts, payload])


def _digest_hex(payload: str, **headers) -> bytes:
    text = signing_string(payload, **headers)
    return hashlib.sha3_256(text.encode("utf-8")).hexdigest().encode("ascii")


def _private_op(numbers, c: int) -> int:
    """c^d mod n through the Chinese remainder theorem (about 3x faster)."""
    m1 = pow(c, numbers.dmp1, numbers.p)
    m2 = pow(c, numbers.dmq1, numbers.q)
    h = numbers.iqmp * (m1 - m2) % numbers.p
    return m2 + h * numbers.q


def sign(
    payload: str,
    private_key_pem_or_key,
    *,
    batch_id=None,
    correlation_id=None,
    tenant_id=None,
) -> str:
    """Base64 ``X-SIGNATURE`` of ``payload`` (the exact bytes PHEE will rebuild)."""
    key = private_key_pem_or_key
    if not isinstance(key, rsa.RSAPrivateKey):
        key = load_private_key(key)
    data = _digest_hex(
        payload, batch_id=batch_id, correlation_id=correlation_id, tenant_id=tenant_id
    )
    numbers = key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    k = (n.bit_length() + 7) // 8
    padding_len = k - 3 - len(data)
    if padding_len < _MIN_PADDING:
        raise PheeConfigError("RSA key too small for X-SIGNATURE")
    block = b"\x00\x01" + b"\xff" * padding_len + b"\x00" + data
    m = int.from_bytes(block, "big")
    while True:  # blinding against timing attacks on the private exponent
        r = secrets.randbelow(n - 2) + 2
        if gcd(r, n) == 1:
            break
    s = _private_op(numbers, m * pow(r, e, n) % n) * pow(r, -1, n) % n
    return base64.b64encode(s.to_bytes(k, "big")).decode("ascii")


def verify(
    signature_b64: str,
    payload: str,
    public_key_or_cert_pem,
    *,
    batch_id=None,
    correlation_id=None,
    tenant_id=None,
) -> bool:
    """True when ``signature_b64`` is a valid ``X-SIGNATURE`` of ``payload``.

    Raises PheeConfigError only for an unusable public key.
    """
    key = public_key_or_cert_pem
    if not isinstance(key, rsa.RSAPublicKey):
        key = load_public_key(key)
    numbers = key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    try:
        raw = base64.b64decode(signature_b64 or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    s = int.from_bytes(raw, "big")
    if len(raw) != k or s >= numbers.n:
        return False
    block = pow(s, numbers.e, numbers.n).to_bytes(k, "big")
    sep = block.find(b"\x00", 2)
    if block[:2] != b"\x00\x01" or sep < 2 + _MIN_PADDING:
        return False
    if block[2:sep] != b"\xff" * (sep - 2):
        return False
    expected = _digest_hex(
        payload, batch_id=batch_id, correlation_id=correlation_id, tenant_id=tenant_id
    )
    return hmac.compare_digest(block[sep + 1 :], expected)


def generate_key_pair(key_size: int = 2048) -> tuple[str, str]:
    """New RSA key pair as ``(PKCS#8 private PEM, SubjectPublicKeyInfo PEM)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")
