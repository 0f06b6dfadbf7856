"""Tier-1 tests of phee.signer (PHEE X-SIGNATURE)."""

import base64
import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from phee.errors import PheeConfigError
from phee.signer import (
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign,
    signing_string,
    verify,
)

CSV = "id,request_id\n0,a1\n1,a2"
HEADERS = {"correlation_id": "9f0c-1", "tenant_id": "gorilla"}
# NIST FIPS 202 test vector: SHA3-256 of the empty message.
SHA3_256_EMPTY = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"


@pytest.fixture(scope="module")
def keys():
    return generate_key_pair()


@pytest.fixture(scope="module")
def other_keys():
    return generate_key_pair()


def expected_signature(private_pem: str, message: bytes) -> str:
    """Java Cipher("RSA") ENCRYPT_MODE with a private key, computed by hand."""
    numbers = serialization.load_pem_private_key(
        private_pem.encode(), None
    ).private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    k = (n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(message)) + b"\x00" + message
    signature = pow(int.from_bytes(block, "big"), d, n)
    return base64.b64encode(signature.to_bytes(k, "big")).decode()


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "P"),
        ({"correlation_id": "c", "tenant_id": "t"}, "c:t:P"),
        ({"batch_id": "b", "correlation_id": "c", "tenant_id": "t"}, "b:c:t:P"),
        ({"batch_id": "b", "tenant_id": "t"}, "b:t:P"),
        ({"tenant_id": "t"}, "t:P"),
    ],
)
def test_signing_string(kwargs, expected):
    assert signing_string("P", **kwargs) == expected


def test_known_vector_empty_payload(keys):
    private_pem, public_pem = keys
    signature = sign("", private_pem)
    assert signature == expected_signature(private_pem, SHA3_256_EMPTY.encode())
    assert verify(signature, "", public_pem)


def test_signature_matches_independent_computation(keys):
    private_pem, public_pem = keys
    digest = hashlib.sha3_256(f"9f0c-1:gorilla:{CSV}".encode()).hexdigest()
    assert len(digest) == 64 and digest == digest.lower()
    signature = sign(CSV, private_pem, **HEADERS)
    assert signature == expected_signature(private_pem, digest.encode())
    # and the public operation recovers the padded hex digest
    pub = serialization.load_pem_public_key(public_pem.encode()).public_numbers()
    raw = int.from_bytes(base64.b64decode(signature), "big")
    block = pow(raw, pub.e, pub.n).to_bytes(256, "big")
    assert block.startswith(b"\x00\x01\xff\xff") and block.endswith(
        b"\x00" + digest.encode()
    )


def test_round_trip_and_determinism(keys):
    private_pem, public_pem = keys
    first = sign(CSV, private_pem, **HEADERS)
    assert first == sign(CSV, load_private_key(private_pem), **HEADERS)
    assert len(base64.b64decode(first)) == 256
    assert verify(first, CSV, public_pem, **HEADERS)
    assert verify(first, CSV, load_public_key(public_pem), **HEADERS)


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        (CSV + " ", HEADERS),
        (CSV.replace("a2", "a3"), HEADERS),
        (CSV + "\n", HEADERS),
        (CSV, {"correlation_id": "9f0c-2", "tenant_id": "gorilla"}),
        (CSV, {"correlation_id": "9f0c-1", "tenant_id": "rhino"}),
        (CSV, {"batch_id": "x", **HEADERS}),
        (CSV, {}),
    ],
)
def test_tampered_payload_or_headers_fail(keys, payload, headers):
    private_pem, public_pem = keys
    signature = sign(CSV, private_pem, **HEADERS)
    assert not verify(signature, payload, public_pem, **headers)


def test_wrong_key_fails(keys, other_keys):
    signature = sign(CSV, keys[0], **HEADERS)
    assert not verify(signature, CSV, other_keys[1], **HEADERS)


@pytest.mark.parametrize(
    "bad", ["", "not base64!", base64.b64encode(b"short").decode(), None]
)
def test_garbage_signature_fails(keys, bad):
    assert not verify(bad, CSV, keys[1], **HEADERS)


def test_signature_too_large_or_badly_padded_fails(keys):
    private_pem, public_pem = keys
    pub = serialization.load_pem_public_key(public_pem.encode()).public_numbers()
    too_large = base64.b64encode((pub.n + 1).to_bytes(256, "big")).decode()
    assert not verify(too_large, CSV, public_pem, **HEADERS)
    # a valid RSA operation on a block with DigestInfo-style type 2 padding
    numbers = load_private_key(private_pem).private_numbers()
    block = b"\x00\x02" + b"\xff" * 189 + b"\x00" + b"x" * 64
    forged = pow(int.from_bytes(block, "big"), numbers.d, pub.n).to_bytes(256, "big")
    assert not verify(base64.b64encode(forged).decode(), CSV, public_pem, **HEADERS)


def test_verify_with_certificate(keys):
    private_pem, _ = keys
    key = load_private_key(private_pem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gorilla")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    signature = sign(CSV, private_pem, **HEADERS)
    assert verify(signature, CSV, cert_pem, **HEADERS)
    assert verify(signature, CSV, cert_pem.encode(), **HEADERS)


def test_pkcs1_private_key_is_accepted(keys):
    private_pem, public_pem = keys
    pkcs1 = load_private_key(private_pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert pkcs1.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert sign(CSV, pkcs1.decode(), **HEADERS) == sign(CSV, private_pem, **HEADERS)


def test_generated_pem_formats(keys):
    private_pem, public_pem = keys
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")


@pytest.mark.parametrize(
    "bad_pem",
    [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ],
)
def test_invalid_private_key(bad_pem):
    with pytest.raises(PheeConfigError) as info:
        load_private_key(bad_pem)
    assert str(info.value) == "invalid PEM private key"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_encrypted_or_non_rsa_private_key_rejected(keys):
    key = load_private_key(keys[0])
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for pem in (encrypted, ec_pem):
        with pytest.raises(PheeConfigError, match="invalid PEM private key"):
            sign(CSV, pem, **HEADERS)


def test_invalid_public_key(keys):
    with pytest.raises(PheeConfigError, match="invalid PEM public key"):
        verify("AAAA", CSV, "garbage")
    with pytest.raises(PheeConfigError):
        verify("AAAA", CSV, keys[0])  # a private key is not a public key


@pytest.mark.parametrize("join", [" ", ""])
def test_key_pasted_on_one_line_still_signs(join):
    """A PEM pasted into a one-line input loses its line breaks."""
    private_pem, public_pem = generate_key_pair()
    flat = private_pem.replace("\n", join)
    signature = sign("a,b", flat, correlation_id="c1", tenant_id="t1")
    assert verify(signature, "a,b", public_pem, correlation_id="c1", tenant_id="t1")
