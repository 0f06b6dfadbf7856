"""The bulk processor's ``X-SIGNATURE`` check: tenant public key and decryption.

PHEE signs ``sha3_256(signed string).hexdigest()`` with Java's ``Cipher "RSA"``
in ENCRYPT_MODE under the tenant's private key, i.e. PKCS#1 v1.5 block type 1
padding (no DigestInfo) raised to the private exponent. The processor undoes it
with the public key of the tenant's certificate and compares the hex digests
(see the API reference, §2.3). Only ``cryptography``'s key parsers are used
here; the RSA step is plain integer arithmetic.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .java import lenient_b64decode

# PKCS#1 v1.5: 00 01, at least 8 bytes of FF, 00, then the data.
_MIN_PADDING = 8
_ARMOR = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END [A-Z0-9 ]+-----", re.S)


def _der_of(text: str) -> tuple[str | None, bytes]:
    """``(PEM label or None for bare Base64, DER bytes)`` of a pasted key.

    Only the first PEM block counts; whitespace inside it is ignored, so a key
    pasted on one line (breaks turned into spaces or dropped) still reads.
    """
    armor = _ARMOR.search(text)
    label, body = (armor.group(1), armor.group(2)) if armor else (None, text)
    return label, base64.b64decode("".join(body.split()), validate=True)


def _from_der(label: str | None, der: bytes):
    if label == "CERTIFICATE":
        return x509.load_der_x509_certificate(der).public_key()
    if label is not None:
        return serialization.load_der_public_key(der)
    try:  # bare Base64: a SubjectPublicKeyInfo, else a certificate
        return serialization.load_der_public_key(der)
    except ValueError:
        return x509.load_der_x509_certificate(der).public_key()


def load_tenant_key(key_text) -> rsa.RSAPublicNumbers:
    """RSA public numbers of a PEM public key or certificate, or the same DER as
    bare Base64 (how PHEE's configuration carries tenant keys).

    :raise ValueError: not an RSA public key or certificate.
    """
    try:
        text = key_text.decode("ascii") if isinstance(key_text, bytes) else key_text
        key = _from_der(*_der_of(text))
    except (ValueError, TypeError, UnicodeError, binascii.Error, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("invalid public key or certificate (PEM or bare Base64)")
    return key.public_numbers()


def recover_signed_digest(signature: str | None, public_numbers) -> str | None:
    """Undo PHEE's private-key "encryption"; None where Java's Cipher would throw."""
    raw = lenient_b64decode(signature) if signature else None
    n, e = public_numbers.n, public_numbers.e
    size = (n.bit_length() + 7) // 8
    if not raw or len(raw) > size or int.from_bytes(raw, "big") >= n:
        return None
    block = pow(int.from_bytes(raw, "big"), e, n).to_bytes(size, "big")
    separator = block.find(b"\x00", 2)
    if (
        block[:2] != b"\x00\x01"
        or separator < 2 + _MIN_PADDING
        or block[2:separator].strip(b"\xff")
    ):
        return None
    return block[separator + 1 :].decode("utf-8", "replace")
