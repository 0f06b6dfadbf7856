"""``python -m phee_sandbox.sign``: the X-SIGNATURE a curl user needs.

The sandbox signs with its own code (phee_sandbox.keys); these tests check it
against the addon's ``phee.signer`` and against the local server.
"""

import base64
import io

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from phee.signer import sign, verify
from phee_sandbox import PheeServer
from phee_sandbox.keys import generate_key_pair, load_private_key, rebuilt_csv
from phee_sandbox.sign import main

CSV = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note\n"
    "0,s-1,mojaloop,msisdn,27710100000,msisdn,27710200001,100,USD,Trial"
)


@pytest.fixture(scope="module")
def keys():
    return generate_key_pair()


@pytest.fixture
def key_file(tmp_path, keys):
    path = tmp_path / "key.pem"
    path.write_text(keys[0])
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_signature_is_phee_signer_s_over_the_rebuilt_csv(capsys, tmp_path, keys):
    path = tmp_path / "batch.csv"
    path.write_bytes((CSV.replace("\n", "\r\n") + "\r\n").encode())  # CRLF, final EOL
    key = tmp_path / "k.pem"
    key.write_text(keys[0])
    code, out, err = run(
        capsys, "--key", key, "--tenant", "gorilla", "--correlation-id", "c-1", path
    )
    assert (code, err) == (0, "")
    assert out == sign(CSV, keys[0], correlation_id="c-1", tenant_id="gorilla")
    assert verify(out, CSV, keys[1], correlation_id="c-1", tenant_id="gorilla")


def test_batch_id_raw_and_stdin(capsys, monkeypatch, key_file, keys, tmp_path):
    path = tmp_path / "body.json"
    path.write_text('[ {"a": 1} ]\n')
    common = ["--key", key_file, "--tenant", "t", "--correlation-id", "c"]
    _code, raw, _err = run(capsys, *common, "--batch-id", "b-1", "--raw", path)
    expected = sign(
        '[ {"a": 1} ]\n', keys[0], batch_id="b-1", correlation_id="c", tenant_id="t"
    )
    assert raw == expected
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    _code, from_stdin, _err = run(capsys, *common, "--batch-id", "b-1", "--raw", "-")
    assert from_stdin == expected


def test_key_forms_pkcs1_pem_and_bare_base64(keys):
    key = load_private_key(keys[0])
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bare = base64.b64encode(der).decode()
    for form in (pkcs1, bare, bare.encode()):
        assert load_private_key(form).private_numbers() == key.private_numbers()
    for bad in ("", "not a key", keys[1]):
        with pytest.raises(ValueError, match="RSA private key"):
            load_private_key(bad)


def test_errors_are_one_line(capsys, tmp_path, key_file):
    missing = tmp_path / "missing.csv"
    with pytest.raises(SystemExit) as info:
        main(
            [
                "--key",
                str(key_file),
                "--tenant",
                "t",
                "--correlation-id",
                "c",
                str(missing),
            ]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot read" in err
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("nonsense")
    with pytest.raises(SystemExit) as info:
        main(
            [
                "--key",
                str(bad_key),
                "--tenant",
                "t",
                "--correlation-id",
                "c",
                str(key_file),
            ]
        )
    assert info.value.code == 2
    assert "RSA private key" in capsys.readouterr().err


def test_rebuilt_csv_is_what_the_bulk_processor_reads():
    assert rebuilt_csv(" a,b\r\n1,2\r\n\r\nignored\n") == "a,b\n1,2"
    assert rebuilt_csv("a\rb\n") == "a\nb"
    assert rebuilt_csv("\nlate") == ""


def test_a_file_signed_by_the_command_is_accepted_by_the_stock_server(
    capsys, tmp_path, keys, key_file
):
    path = tmp_path / "batch.csv"
    path.write_bytes((CSV + "\n").encode())
    _code, signature, _err = run(
        capsys,
        "--key",
        key_file,
        "--tenant",
        "gorilla",
        "--correlation-id",
        "c-9",
        path,
    )
    with PheeServer(public_key_pem=keys[1]) as server:
        response = requests.post(
            f"{server.base_url}/batchtransactions",
            headers={
                "Platform-TenantId": "gorilla",
                "X-CorrelationID": "c-9",
                "Purpose": "Trial",
                "Type": "csv",
                "filename": "batch.csv",
                "X-SIGNATURE": signature,
            },
            files={"data": ("batch.csv", path.read_bytes(), "text/csv")},
            timeout=10,
        )
    assert response.status_code == 202, response.text
