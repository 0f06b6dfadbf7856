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
    public_key_fingerprint,
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


def self_signed(key) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gorilla")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_verify_with_certificate(keys):
    private_pem, _ = keys
    cert = self_signed(load_private_key(private_pem))
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
    ("bad", "reason"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("not a key", "is not readable"),
        ("AAAAA", "is not valid Base64"),
        ("AAAA", "is not readable"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "readable"),
        ("MIIE vQIB?", "is neither a PEM block nor Base64"),
        ("clé", "has characters a key never has"),
        (None, "is not key text"),
        ("A" * 70_000, "is too long"),
    ],
)
def test_invalid_private_key(bad, reason):
    with pytest.raises(PheeConfigError) as info:
        load_private_key(bad)
    assert str(info.value).startswith("private key ")
    assert reason in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def bare_base64(pem: str, width: int = 64, sep: str = "\n") -> str:
    """The Base64 of a PEM block without its BEGIN/END lines, re-wrapped."""
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return sep.join(body[i : i + width] for i in range(0, len(body), width))


@pytest.mark.parametrize(
    ("width", "sep"),
    [(10_000, ""), (64, "\n"), (76, "\r\n"), (50, " \n\t "), (7, " ")],
)
def test_bare_base64_pkcs8_as_phee_ships_it(keys, width, sep):
    """connector-common application-jws.yaml: ``privateKey: MIIEvQIB...``."""
    private_pem, public_pem = keys
    bare = bare_base64(private_pem, width, sep)
    assert bare.startswith("MII") and "-----" not in bare
    signature = sign(CSV, bare, **HEADERS)
    assert signature == sign(CSV, private_pem, **HEADERS)
    assert verify(signature, CSV, bare_base64(public_pem, width, sep), **HEADERS)


def test_bare_base64_certificate_as_phee_ships_it(keys):
    """application-jws.yaml ``certificate: MIIDvDCC...``: Base64 DER X.509."""
    private_pem, _ = keys
    cert = self_signed(load_private_key(private_pem))
    bare = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    assert load_public_key(bare).public_numbers() == (
        load_private_key(private_pem).public_key().public_numbers()
    )
    assert verify(sign(CSV, private_pem, **HEADERS), CSV, bare, **HEADERS)


def test_private_key_is_found_after_a_certificate(keys):
    private_pem, _ = keys
    cert = self_signed(load_private_key(private_pem))
    bundle = cert.public_bytes(serialization.Encoding.PEM).decode() + private_pem
    assert sign(CSV, bundle, **HEADERS) == sign(CSV, private_pem, **HEADERS)


def test_url_safe_base64_is_accepted(keys):
    private_pem, _ = keys
    der = load_private_key(private_pem).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    url_safe = base64.urlsafe_b64encode(der).decode().rstrip("=")
    assert sign(CSV, url_safe, **HEADERS) == sign(CSV, private_pem, **HEADERS)


def test_public_key_or_certificate_given_as_private_key(keys):
    private_pem, public_pem = keys
    cert_pem = (
        self_signed(load_private_key(private_pem))
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    for text in (public_pem, bare_base64(public_pem), cert_pem):
        with pytest.raises(PheeConfigError) as info:
            load_private_key(text)
        assert "is a public key or certificate" in str(info.value)


def test_encrypted_or_non_rsa_private_key_rejected(keys):
    key = load_private_key(keys[0])
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    encrypted_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    for text in (encrypted, base64.b64encode(encrypted_der)):
        with pytest.raises(PheeConfigError, match="private key is encrypted"):
            sign(CSV, text, **HEADERS)
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(PheeConfigError, match="is not an RSA private key"):
        sign(CSV, ec_pem, **HEADERS)


def test_invalid_public_key(keys):
    with pytest.raises(PheeConfigError, match="public key is neither a PEM"):
        verify("AAAA", CSV, "garbage!")
    with pytest.raises(PheeConfigError, match="public key is not readable"):
        verify("AAAA", CSV, keys[0])  # a private key is not a public key


def test_fingerprint_is_the_same_for_every_form_of_a_key(keys, other_keys):
    private_pem, public_pem = keys
    cert = self_signed(load_private_key(private_pem))
    forms = [
        private_pem,
        private_pem.replace("\n", " "),
        bare_base64(private_pem, 50, "\n  "),
        public_pem,
        bare_base64(public_pem),
        cert.public_bytes(serialization.Encoding.PEM).decode(),
    ]
    fingerprints = {public_key_fingerprint(text) for text in forms}
    assert len(fingerprints) == 1
    [fingerprint] = fingerprints
    der = load_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert fingerprint == ":".join(f"{b:02x}" for b in hashlib.sha256(der).digest())
    assert public_key_fingerprint(other_keys[0]) != fingerprint
    body = bare_base64(private_pem, 10_000, "")
    assert body[8:40] not in fingerprint


@pytest.mark.parametrize("bad", ["", "garbage!", "AAAA"])
def test_fingerprint_of_unusable_text(bad):
    with pytest.raises(PheeConfigError, match="not a readable RSA"):
        public_key_fingerprint(bad)


@pytest.mark.parametrize("join", [" ", ""])
def test_key_pasted_on_one_line_still_signs(join):
    """A PEM pasted into a one-line input loses its line breaks."""
    private_pem, public_pem = generate_key_pair()
    flat = private_pem.replace("\n", join)
    signature = sign("a,b", flat, correlation_id="c1", tenant_id="t1")
    assert verify(signature, "a,b", public_pem, correlation_id="c1", tenant_id="t1")
