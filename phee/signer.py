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
_MAX_KEY_TEXT = 64 * 1024

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END [A-Z0-9 ]+-----", re.S
)
_BASE64 = re.compile(rb"[A-Za-z0-9+/=_-]+")


def _key_bytes(text) -> bytes:
    if isinstance(text, str):
        try:
            return text.encode("ascii")
        except UnicodeEncodeError:
            raise PheeConfigError("has characters a key never has") from None
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    raise PheeConfigError("is not key text")


def _der(text, prefer: bytes = b"") -> bytes:
    """DER bytes of a PEM block (one line or many; the first whose label holds
    ``prefer``, else the first) or of bare Base64 DER, as PHEE ships its tenant
    keys (connector-common ``application-jws.yaml``). Whitespace anywhere in the
    Base64 is ignored."""
    data = _key_bytes(text)
    if len(data) > _MAX_KEY_TEXT:
        raise PheeConfigError("is too long to be a key")
    blocks = list(_PEM_BLOCK.finditer(data))
    chosen = next((b for b in blocks if prefer in b.group(1)), None)
    chosen = chosen or (blocks[0] if blocks else None)
    body = b"".join((chosen.group(2) if chosen else data).split())
    if not body:
        raise PheeConfigError("is empty")
    if not _BASE64.fullmatch(body):
        raise PheeConfigError("is neither a PEM block nor Base64 (DER) key text")
    if b"-" in body or b"_" in body:  # URL-safe alphabet, as Java also accepts
        body = body.replace(b"-", b"+").replace(b"_", b"/")
    try:
        return base64.b64decode(body + b"=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise PheeConfigError("is not valid Base64") from None


def _as_rsa(key, cls, kind: str):
    if not isinstance(key, cls):
        raise PheeConfigError(f"is not an RSA {kind}; PHEE signs with RSA")
    return key


def _der_public_key(der: bytes):
    """A SubjectPublicKeyInfo or an X.509 certificate (DER), else None."""
    for load in (
        serialization.load_der_public_key,
        lambda d: x509.load_der_x509_certificate(d).public_key(),
    ):
        try:
            return load(der)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    return None


def load_private_key(text) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key: PEM (PKCS#8 or PKCS#1, one line or many)
    or PHEE's bare Base64 PKCS#8. Raises PheeConfigError saying what is wrong,
    never echoing the key."""
    encrypted = "is encrypted; paste it unencrypted (PKCS#8 or PKCS#1)"
    try:
        if b"ENCRYPTED" in _key_bytes(text):  # PKCS#8 label or PKCS#1 Proc-Type
            raise PheeConfigError(encrypted)
        der = _der(text, prefer=b"PRIVATE KEY")
        try:
            key = serialization.load_der_private_key(der, None)
        except TypeError:  # a password is needed
            raise PheeConfigError(encrypted) from None
        except (ValueError, UnsupportedAlgorithm):
            if _der_public_key(der) is not None:
                raise PheeConfigError(
                    "is a public key or certificate; the signing key is the "
                    "tenant's private key"
                ) from None
            raise PheeConfigError(
                "is not readable (PKCS#8 or PKCS#1, PEM or Base64)"
            ) from None
        return _as_rsa(key, rsa.RSAPrivateKey, "private key")
    except PheeConfigError as exc:
        raise PheeConfigError(f"private key {exc.message}") from None


def load_public_key(text) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM public key or X.509 certificate, or from
    bare Base64 DER of either (PHEE's ``certificate`` in application-jws.yaml)."""
    try:
        der = _der(text)
        key = _der_public_key(der)
        if key is None:
            raise PheeConfigError(
                "is not readable (public key or X.509 certificate, PEM or Base64)"
            )
        return _as_rsa(key, rsa.RSAPublicKey, "public key")
    except PheeConfigError as exc:
        raise PheeConfigError(f"public key {exc.message}") from None


def public_key_fingerprint(key_text) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo as colon-separated hex, for any
    key or certificate text :func:`load_private_key` or :func:`load_public_key`
    reads: shows which key is set without revealing it."""
    try:
        public = load_private_key(key_text).public_key()
    except PheeConfigError:
        try:
            public = load_public_key(key_text)
        except PheeConfigError:
            raise PheeConfigError(
                "not a readable RSA private key, public key or certificate"
            ) from None
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest().hex(":")


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
