"""Local PHEE server, driven with plain ``requests`` (not our client)."""

import base64
import datetime
import hashlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID

from phee.signer import generate_key_pair, sign
from phee_sandbox import PheeServer, form_data_text, load_tenant_key, main

TENANT = "gorilla"
HEADER = (
    "id,request_id,payment_mode,payer_identifier_type,payer_identifier,"
    "payee_identifier_type,payee_identifier,amount,currency,note"
)
BASIC = "Basic Y2xpZW50Og=="
FILE_NOT_UPLOADED = {
    "errorInformation": "File not uploaded",
    "errorDescription": "There was no fie uploaded with the request. "
    "Please upload a file and try again.",
    "errorCode": 400,
}


def make_csv(*rows):
    """Rows given as (request_id, payee, amount) -> standard 10-column CSV."""
    lines = [HEADER] + [
        f"{i},{rid},mojaloop,msisdn,27710100000,msisdn,{payee},{amount},USD,Cycle 7"
        for i, (rid, payee, amount) in enumerate(rows)
    ]
    return "\n".join(lines)


CSV = make_csv(("r-1", "27710100011", 500), ("r-2", "27710100022", 700))


@pytest.fixture(scope="module")
def keys():
    return generate_key_pair()


@pytest.fixture
def start():
    """Servers with the sandbox's lenient options (``PheeServer.lenient``), which
    these tests were written for; tier1/test_server_stock.py covers stock PHEE."""
    servers = []

    def _start(**kw):
        server = PheeServer.lenient(**kw).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start):
    return start()


def submit_headers(**overrides):
    headers = {
        "Platform-TenantId": TENANT,
        "X-CorrelationID": "corr-1",
        "Purpose": "G2P cycle 7",
        "Type": "csv",
        "filename": "cycle7.csv",
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def submit(server, csv_text=CSV, *, files=None, timeout=10, **overrides):
    files = files or {"data": ("cycle7.csv", csv_text.encode(), "text/csv")}
    return requests.post(
        f"{server.base_url}/batchtransactions",
        headers=submit_headers(**overrides),
        files=files,
        timeout=timeout,
    )


def batch_id_of(response):
    return response.json()["PollingPath"].rsplit("/", 1)[1]


def ops(server, path, *, token=None, tenant=TENANT, timeout=10, **params):
    headers = {"Platform-TenantId": tenant} if tenant else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(
        f"{server.base_url}{path}", headers=headers, params=params, timeout=timeout
    )


def token_call(server, username="mifos", password="password", **headers):
    headers = {"Platform-TenantId": TENANT, "Authorization": BASIC, **headers}
    return requests.post(
        f"{server.base_url}/oauth/token",
        params={"username": username, "password": password, "grant_type": "password"},
        headers={k: v for k, v in headers.items() if v is not None},
        json={},
        timeout=10,
    )


def settle(server, batch_id, polls=5):
    for _ in range(polls):
        ops(server, f"/api/v1/batch/{batch_id}")


def transfers(server, batch_id, **params):
    body = ops(server, "/api/v1/batch/detail", batchId=batch_id, pageSize=100, **params)
    return body.json()["content"]


# ------------------------------------------------------------------ submission


def test_valid_csv_is_accepted_with_polling_path(server):
    response = submit(server)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"PollingPath", "SuggestedCallbackSeconds"}
    assert body["PollingPath"].startswith("/batch/Summary/")
    assert body["SuggestedCallbackSeconds"] == "120"
    uuid.UUID(batch_id_of(response))
    (batch,) = server.batches
    assert batch["batch_id"] == batch_id_of(response)
    assert batch["correlation_id"] == "corr-1"
    assert batch["tenant"] == TENANT
    assert batch["headers"]["purpose"] == "G2P cycle 7"
    assert [r["request_id"] for r in batch["rows"]] == ["r-1", "r-2"]
    assert batch["csv"] == CSV


@pytest.mark.parametrize(
    "missing", ["X-CorrelationID", "Purpose", "Type", "Platform-TenantId"]
)
def test_missing_required_header_is_a_500_response_code(server, missing):
    response = submit(server, **{missing: None})
    assert response.status_code == 500
    body = response.json()
    assert body["responseCode"] == "01"
    assert body["responseDescription"].startswith(
        f"Required request header '{missing}'"
    )
    assert server.batches == []


def test_first_missing_header_in_parameter_order_is_named(server):
    response = submit(server, Purpose=None, **{"X-CorrelationID": None})
    assert "'X-CorrelationID'" in response.json()["responseDescription"]


def test_header_names_are_case_insensitive(server):
    headers = {k.lower(): v for k, v in submit_headers().items()}
    response = requests.post(
        f"{server.base_url}/batchtransactions",
        headers=headers,
        files={"data": ("cycle7.csv", CSV, "text/csv")},
        timeout=10,
    )
    assert response.status_code == 202


@pytest.mark.parametrize("kind", ["xml", "json", "raw"])
def test_type_not_csv_for_multipart_is_file_not_uploaded(server, kind):
    response = submit(server, Type=kind)
    assert response.status_code == 400
    assert response.json() == FILE_NOT_UPLOADED


def test_type_csv_with_a_json_body_is_file_not_uploaded(server):
    response = requests.post(
        f"{server.base_url}/batchtransactions",
        headers=submit_headers(),
        json=[],
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json() == FILE_NOT_UPLOADED


def test_type_is_case_insensitive(server):
    assert submit(server, Type="CSV").status_code == 202


def test_empty_filename_is_file_not_uploaded(server):
    response = submit(server, filename="")
    assert response.status_code == 400
    assert response.json() == FILE_NOT_UPLOADED


def test_missing_filename_on_multipart_is_a_500(server):
    response = submit(server, filename=None)
    assert response.status_code == 500
    assert response.json()["responseCode"] == "01"


def test_filename_not_csv_is_broken_file_with_odd_keys(server):
    response = submit(server, filename="cycle7.txt")
    assert response.status_code == 400
    body = response.json()
    assert body["Error Information: "] == "Broken file"
    assert "different extension" in body["Error Description : "]
    assert server.batches == []


def test_file_over_the_size_limit_is_too_big(start):
    server = start(csv_max_bytes=len(CSV))
    assert submit(server).status_code == 202
    response = submit(server, CSV + "\n2,r-3,mojaloop,msisdn,1,msisdn,2,5,USD,x")
    assert response.status_code == 400
    assert response.json()["Error Information: "] == "File too big"


def test_unknown_column_is_invalid_file_structure(server):
    response = submit(server, CSV.replace("note", "memo", 1))
    assert response.status_code == 400
    assert response.json()["Error Information: "] == "Invalid file structure"


def test_extended_and_reordered_known_columns_pass_the_header_check(server):
    extended = HEADER + ",program_shortcode,cycle,payee_dfsp_id"
    assert submit(server, extended + "\n0,r,mojaloop,a,b,c,d,1,USD,n,p,c,f").ok
    reordered = "request_id,id," + HEADER.split(",", 2)[2]
    assert submit(server, reordered + "\nr,0,mojaloop,a,b,c,d,1,USD,n").ok


def test_tenant_without_workflow_is_412(server):
    response = submit(server, **{"Platform-TenantId": "rhino"})
    assert response.status_code == 412
    assert response.json() == {
        "responseCode": "01",
        "responseDescription": "Process definition not found",
    }
    assert server.batches == []


def test_multipart_without_a_file_part_is_file_not_uploaded(server):
    files = {"other": (None, "not a file")}
    response = submit(server, files=files)
    assert response.status_code == 400
    assert response.json() == FILE_NOT_UPLOADED


def test_a_single_file_part_with_another_name_is_accepted(server):
    files = {"file": ("cycle7.csv", CSV, "text/csv")}
    assert submit(server, files=files).status_code == 202


def test_csv_is_rebuilt_like_phee_crlf_trailing_newline_and_blank_line(server):
    sent = CSV.replace("\n", "\r\n") + "\r\n\r\n3,r-9,mojaloop,a,b,c,d,1,USD,x\r\n"
    assert submit(server, sent).status_code == 202
    (batch,) = server.batches
    # LF line ends, trimmed, and the part ends at the first empty line.
    assert batch["csv"] == CSV
    assert [r["request_id"] for r in batch["rows"]] == ["r-1", "r-2"]


def test_form_data_text_concatenates_parts_like_jwsutil():
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="data"; filename="a.csv"\r\n'
        b'\r\n a,b\r\n1,2\r\n--XyZ\r\nContent-Disposition: form-data; name="n"'
        b"\r\n\r\nnote\r\n--XyZ--\r\n"
    )
    # The second part is skipped: the boundary line ending the first part was
    # consumed by the content loop, as in JWSUtil.parseFormData.
    assert form_data_text(body, "multipart/form-data; boundary=XyZ") == "a,b\n1,2"
    # A quoted boundary is not unquoted by PHEE: nothing is found.
    assert form_data_text(body, 'multipart/form-data; boundary="XyZ"') == ""


def test_raw_json_batch_is_accepted_and_converted(server):
    items = [
        {
            "requestId": "raw-1",
            "paymentMode": "mojaloop",
            "amount": 250,
            "currency": "USD",
            "descriptionText": "Cycle 7",
            "creditParty": [{"key": "msisdn", "value": "27710100033"}],
            "debitParty": [{"key": "msisdn", "value": "27710100000"}],
        }
    ]
    headers = submit_headers(Type="raw", filename=None)
    response = requests.post(
        f"{server.base_url}/batchtransactions", headers=headers, json=items, timeout=10
    )
    assert response.status_code == 202
    (row,) = server.batches[0]["rows"]
    assert (row["request_id"], row["payee_identifier"], row["amount"]) == (
        "raw-1",
        "27710100033",
        "250",
    )


def test_raw_body_that_is_not_a_json_array_is_a_500(server):
    headers = submit_headers(Type="raw", **{"Content-Type": "application/json"})
    response = requests.post(
        f"{server.base_url}/batchtransactions", headers=headers, data=b"{", timeout=10
    )
    assert response.status_code == 500
    assert response.json()["responseCode"] == "01"


def test_filename_with_a_path_fails_to_save(server):
    response = submit(server, filename="../cycle7.csv")
    assert response.status_code == 500
    assert response.json()["responseDescription"].startswith("Failed to save file")


def test_post_without_content_type_is_a_500(server):
    response = requests.post(
        f"{server.base_url}/batchtransactions",
        headers=submit_headers(Type="raw"),
        data=b"[]",
        timeout=10,
    )
    assert response.status_code == 500
    assert response.json()["responseCode"] == "01"


def test_unknown_path_is_404_and_wrong_method_405(server):
    assert requests.get(f"{server.base_url}/nope", timeout=10).status_code == 404
    wrong = requests.get(f"{server.base_url}/batchtransactions", timeout=10)
    assert wrong.status_code == 405


# ------------------------------------------------------------------------- JWS


def hand_made_signature(private_pem, text):
    """X-SIGNATURE computed from the reference, independently of phee.signer."""
    key = load_pem_private_key(private_pem.encode(), None).private_numbers()
    n, d = key.public_numbers.n, key.d
    digest = hashlib.sha3_256(text.encode()).hexdigest().encode()
    size = (n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(digest)) + b"\x00" + digest
    signature = pow(int.from_bytes(block, "big"), d, n).to_bytes(size, "big")
    return base64.b64encode(signature).decode()


def test_hand_made_signature_over_headers_and_csv_is_accepted(start, keys):
    server = start(public_key_pem=keys[1])
    signature = hand_made_signature(keys[0], f"corr-1:{TENANT}:{CSV}")
    assert submit(server, **{"X-SIGNATURE": signature}).status_code == 202


def test_signer_signature_is_accepted_and_covers_x_batch_id(start, keys):
    server = start(public_key_pem=keys[1])
    signature = sign(CSV, keys[0], correlation_id="corr-1", tenant_id=TENANT)
    assert submit(server, **{"X-SIGNATURE": signature}).status_code == 202
    # The same signature no longer verifies once X-BatchID joins the string.
    response = submit(server, **{"X-SIGNATURE": signature, "X-BatchID": "b-1"})
    assert response.json()["errorCode"] == "InvalidJsonWebSignature"
    signature = sign(
        CSV, keys[0], batch_id="b-1", correlation_id="corr-1", tenant_id=TENANT
    )
    response = submit(server, **{"X-SIGNATURE": signature, "X-BatchID": "b-1"})
    assert response.status_code == 202


def test_signature_is_checked_over_the_rebuilt_csv(start, keys):
    server = start(public_key_pem=keys[1])
    signature = sign(CSV, keys[0], correlation_id="corr-1", tenant_id=TENANT)
    sent = CSV.replace("\n", "\r\n") + "\r\n"
    assert submit(server, sent, **{"X-SIGNATURE": signature}).status_code == 202


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "%%%"])
def test_missing_or_undecryptable_signature_is_invalid_public_key(
    start, keys, signature
):
    server = start(public_key_pem=keys[1])
    response = submit(server, **{"X-SIGNATURE": signature})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "InvalidPublicKeyConfigured"
    assert body["errorCategory"] == "Validation"
    assert server.batches == []


def test_signature_of_other_content_is_invalid_json_web_signature(start, keys):
    server = start(public_key_pem=keys[1])
    signature = sign(CSV + "x", keys[0], correlation_id="corr-1", tenant_id=TENANT)
    response = submit(server, **{"X-SIGNATURE": signature})
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "InvalidJsonWebSignature"
    assert body["errorDescription"] == "The JWS passed is not valid"
    assert body["errorParameters"] == [{"key": "X-SIGNATURE", "value": signature}]


def test_raw_json_signature_covers_the_body(start, keys):
    server = start(public_key_pem=keys[1])
    body = "[]"
    signature = sign(body, keys[0], correlation_id="corr-1", tenant_id=TENANT)
    headers = submit_headers(Type="raw", filename=None, **{"X-SIGNATURE": signature})
    headers["Content-Type"] = "application/json"
    url = f"{server.base_url}/batchtransactions"
    assert requests.post(url, headers=headers, data=body, timeout=10).ok
    tampered = requests.post(url, headers=headers, data="[ ]", timeout=10)
    assert tampered.json()["errorCode"] == "InvalidJsonWebSignature"
    del headers["Content-Type"]
    no_type = requests.post(url, headers=headers, data=body, timeout=10)
    assert no_type.status_code == 500
    assert no_type.json()["errorCode"] == "JWSVerificationServerError"


def test_signature_is_checked_before_the_required_headers(start, keys):
    server = start(public_key_pem=keys[1])
    response = submit(server, Purpose=None)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "InvalidPublicKeyConfigured"


def self_signed_certificate(private_pem):
    key = load_pem_private_key(private_pem.encode(), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TENANT)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def tenant_key_forms(keys):
    """The public key of ``keys`` in every form an admin may paste."""
    public = load_pem_private_key(keys[0].encode(), None).public_key()
    certificate = self_signed_certificate(keys[0])
    spki_der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pkcs1 = public.public_bytes(Encoding.PEM, PublicFormat.PKCS1).decode()
    cert_pem = certificate.public_bytes(Encoding.PEM).decode()
    cert_der = certificate.public_bytes(Encoding.DER)
    return {
        "spki_pem": keys[1],
        "spki_pem_bytes": keys[1].encode(),
        "spki_pem_one_line": keys[1].replace("\n", " "),
        "spki_pem_no_breaks": keys[1].replace("\n", ""),
        "pkcs1_pem": pkcs1,
        "certificate_pem": cert_pem,
        "certificate_pem_one_line": cert_pem.replace("\n", " "),
        "spki_bare_base64": base64.b64encode(spki_der).decode(),
        "spki_bare_base64_wrapped": base64.encodebytes(spki_der).decode(),
        "certificate_bare_base64": base64.b64encode(cert_der).decode(),
    }


@pytest.mark.parametrize(
    "form",
    [
        "spki_pem",
        "spki_pem_bytes",
        "spki_pem_one_line",
        "spki_pem_no_breaks",
        "pkcs1_pem",
        "certificate_pem",
        "certificate_pem_one_line",
        "spki_bare_base64",
        "spki_bare_base64_wrapped",
        "certificate_bare_base64",
    ],
)
def test_tenant_key_is_read_from_pem_or_bare_base64(keys, form):
    expected = load_pem_private_key(keys[0].encode(), None).public_key()
    numbers = load_tenant_key(tenant_key_forms(keys)[form])
    assert numbers == expected.public_numbers()


def test_signature_verifies_with_a_bare_base64_certificate(start, keys):
    server = start(public_key_pem=tenant_key_forms(keys)["certificate_bare_base64"])
    signature = sign(CSV, keys[0], correlation_id="corr-1", tenant_id=TENANT)
    assert submit(server, **{"X-SIGNATURE": signature}).status_code == 202
    other = sign(CSV, generate_key_pair()[0], correlation_id="corr-1", tenant_id=TENANT)
    response = submit(server, **{"X-SIGNATURE": other})
    assert response.json()["errorCode"] in (
        "InvalidJsonWebSignature",
        "InvalidPublicKeyConfigured",
    )


def ec_public_pem():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize(
    "bad",
    ["", "not a key", "TUlJQg==", "private", "ec"],
)
def test_unusable_tenant_key_is_refused(keys, bad):
    bad = {"private": keys[0], "ec": ec_public_pem()}.get(bad, bad)
    with pytest.raises(ValueError, match="invalid public key or certificate"):
        load_tenant_key(bad)
    if bad:
        with pytest.raises(ValueError):
            PheeServer(public_key_pem=bad)


# --------------------------------------------------------- dedup and outcomes


def test_every_post_creates_a_new_batch_even_with_the_same_correlation_id(server):
    first, second = submit(server), submit(server)
    assert first.status_code == second.status_code == 202
    assert batch_id_of(first) != batch_id_of(second)
    assert len(server.batches_with_correlation_id("corr-1")) == 2
    assert server.request_id_counts() == {"r-1": 2, "r-2": 2}


def test_in_file_duplicates_fail_and_carry_request_id_as_transaction_id(start):
    server = start(settle_polls=0)
    csv_text = make_csv(
        ("r-1", "27710100011", 500),
        ("r-2", "27710100011", 500),
        ("r-3", "27710100011", 600),
    )
    batch_id = batch_id_of(submit(server, csv_text))
    by_status = {}
    for transfer in transfers(server, batch_id):
        by_status.setdefault(transfer["status"], []).append(transfer)
    (kept, other) = by_status["COMPLETED"]
    assert {kept["clientCorrelationId"], other["clientCorrelationId"]} == {
        "r-1",
        "r-3",
    }
    (duplicate,) = by_status["FAILED"]
    assert duplicate["transactionId"] == "r-2"
    assert duplicate["errorInformation"] == "Duplicate transaction."
    uuid.UUID(duplicate["clientCorrelationId"])


def test_row_outcomes_fail_suffix_bad_amount_and_success(start):
    server = start(settle_polls=0)
    csv_text = make_csv(
        ("ok", "27710100011", 500),
        ("gone", "27710100999", 500),
        ("cents", "27710100022", "10.50"),
    )
    batch_id = batch_id_of(submit(server, csv_text))
    result = {t["clientCorrelationId"]: t for t in transfers(server, batch_id)}
    assert result["ok"]["status"] == "COMPLETED"
    assert result["ok"]["amount"] == "500"
    assert result["gone"]["status"] == "FAILED"
    assert result["gone"]["errorInformation"] == "Payee account not found"
    assert result["cents"]["status"] == "FAILED"


def test_transfer_keys_follow_the_reference(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server))
    transfer = transfers(server, batch_id)[0]
    assert {
        "id",
        "workflowInstanceKey",
        "transactionId",
        "clientCorrelationId",
        "batchId",
        "status",
        "statusDetail",
        "errorInformation",
        "amount",
        "currency",
        "payeePartyId",
        "payeePartyIdType",
        "startedAt",
        "completedAt",
    } <= set(transfer)
    assert transfer["batchId"] == batch_id
    assert isinstance(transfer["workflowInstanceKey"], str)
    assert isinstance(transfer["startedAt"], int)
    assert transfer["payeePartyIdType"] == "MSISDN"


@pytest.mark.parametrize(
    ("id_field", "in_transaction"),
    [
        ("client", [False, False]),
        ("transaction", [True, True]),
        ("alternate", [False, True]),
    ],
)
def test_id_field_decides_where_request_id_comes_back(start, id_field, in_transaction):
    server = start(id_field=id_field, settle_polls=0)
    batch_id = batch_id_of(submit(server))
    found = sorted(transfers(server, batch_id), key=lambda t: t["id"])
    assert [t["transactionId"] in ("r-1", "r-2") for t in found] == in_transaction
    assert [t["clientCorrelationId"] in ("r-1", "r-2") for t in found] == [
        not flag for flag in in_transaction
    ]


def test_channel_dedup_drops_repeated_mojaloop_request_ids(start):
    server = start(channel_dedup=True, settle_polls=0)
    submit(server)
    second = batch_id_of(submit(server))
    assert transfers(server, second) == []
    assert ops(server, f"/api/v1/batch/{second}").json()["total"] == 0


def test_unknown_payment_mode_fails_the_row(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, CSV.replace("mojaloop", "pigeon", 1)))
    statuses = {
        t["clientCorrelationId"]: t["status"] for t in transfers(server, batch_id)
    }
    assert statuses == {"r-1": "FAILED", "r-2": "COMPLETED"}


def test_id_field_is_validated():
    with pytest.raises(ValueError):
        PheeServer(id_field="both")


# ------------------------------------------------------------------- lifecycle


def test_summary_is_404_text_until_imported_then_batch_dto(start):
    server = start(import_delay_polls=2)
    batch_id = batch_id_of(submit(server))
    for _ in range(2):
        response = ops(server, f"/api/v1/batch/{batch_id}")
        assert response.status_code == 404
        assert response.text == (
            f"Batch corresponding to batchId: {batch_id} does not exist."
        )
    body = ops(server, f"/api/v1/batch/{batch_id}").json()
    assert {
        "batchId",
        "requestId",
        "correlationId",
        "total",
        "ongoing",
        "failed",
        "successful",
        "totalAmount",
        "successfulAmount",
        "pendingAmount",
        "failedAmount",
        "file",
        "notes",
        "createdAt",
        "status",
        "modes",
        "purpose",
        "failPercentage",
        "successPercentage",
        "registeringInstitutionId",
        "payerFsp",
    } == set(body)
    assert (body["batchId"], body["correlationId"]) == (batch_id, "corr-1")
    assert (body["total"], body["totalAmount"]) == (2, 1200)


def test_unknown_batch_summary_is_404_and_detail_an_empty_page(server):
    assert ops(server, "/api/v1/batch/nope").status_code == 404
    page = ops(server, "/api/v1/batch/detail", batchId="nope").json()
    assert (page["content"], page["totalElements"]) == ([], 0)


def test_detail_is_empty_before_import(start):
    server = start(import_delay_polls=1)
    batch_id = batch_id_of(submit(server))
    assert transfers(server, batch_id) == []
    assert len(transfers(server, batch_id)) == 2


def test_transfers_stay_in_progress_for_settle_polls_then_final(start):
    server = start(settle_polls=2)
    csv_text = make_csv(("a", "27710100011", 500), ("b", "27710100999", 300))
    batch_id = batch_id_of(submit(server, csv_text))
    for _ in range(2):
        body = ops(server, f"/api/v1/batch/{batch_id}").json()
        assert (body["ongoing"], body["pendingAmount"]) == (2, 800)
        # The recompute stamps completedAt, so an unfinished batch reads Failed.
        assert body["status"] == "Failed"
    body = ops(server, f"/api/v1/batch/{batch_id}").json()
    assert (body["ongoing"], body["successful"], body["failed"]) == (0, 1, 1)
    assert (body["successfulAmount"], body["failedAmount"]) == (500, 300)
    assert (body["successPercentage"], body["failPercentage"]) == ("50.0", "50.0")
    assert body["status"] == "Failed"
    completed = [t["completedAt"] for t in transfers(server, batch_id)]
    assert all(isinstance(ms, int) for ms in completed)


def test_fully_successful_batch_reads_completed(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server))
    body = ops(server, f"/api/v1/batch/{batch_id}").json()
    assert (body["status"], body["successful"], body["total"]) == ("COMPLETED", 2, 2)


def test_stored_summary_by_query_parameter(start):
    server = start(settle_polls=1)
    batch_id = batch_id_of(submit(server))
    body = ops(server, "/api/v1/batch", batchId=batch_id).json()
    assert (body["status"], body["ongoing"]) == ("Pending", 2)
    settle(server, batch_id)
    body = ops(server, "/api/v1/batch", batchId=batch_id).json()
    assert (body["status"], body["successPercentage"]) == ("COMPLETED", "100")


def test_ops_batches_are_per_tenant(start):
    server = start(tenants=("gorilla", "rhino"), settle_polls=0)
    batch_id = batch_id_of(submit(server))
    assert ops(server, f"/api/v1/batch/{batch_id}", tenant="rhino").status_code == 404


# --------------------------------------------------------------------- paging


def five_rows():
    return make_csv(*[(f"r-{i}", f"2771010001{i}", 100 + i) for i in range(5)])


def test_detail_pages_are_spring_pages(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server, five_rows()))
    pages = [
        ops(
            server, "/api/v1/batch/detail", batchId=batch_id, pageNo=n, pageSize=2
        ).json()
        for n in range(3)
    ]
    assert [len(p["content"]) for p in pages] == [2, 2, 1]
    assert {p["totalElements"] for p in pages} == {5}
    assert {p["totalPages"] for p in pages} == {3}
    assert [(p["number"], p["first"], p["last"]) for p in pages] == [
        (0, True, False),
        (1, False, False),
        (2, False, True),
    ]
    ids = [t["clientCorrelationId"] for p in pages for t in p["content"]]
    assert sorted(ids) == [f"r-{i}" for i in range(5)]


def test_detail_status_filter_and_page_size_cap(start):
    server = start(settle_polls=0, page_size_cap=2)
    csv_text = five_rows().replace("27710100014", "27710100999")
    batch_id = batch_id_of(submit(server, csv_text))
    failed = transfers(server, batch_id, status="FAILED")
    assert [t["payeePartyId"] for t in failed] == ["27710100999"]
    page = ops(server, "/api/v1/batch/detail", batchId=batch_id, pageSize=100).json()
    assert (page["size"], len(page["content"]), page["totalPages"]) == (2, 2, 3)


def test_detail_needs_batch_id_and_a_positive_page_size(server):
    assert ops(server, "/api/v1/batch/detail").status_code == 400
    response = ops(server, "/api/v1/batch/detail", batchId="x", pageSize=0)
    assert response.status_code == 500


def test_batches_offset_is_a_row_offset_floored_to_a_page(start):
    server = start(settle_polls=0)
    ids = []
    for i in range(5):
        ids.append(batch_id_of(submit(server, **{"X-CorrelationID": f"c-{i}"})))
        time.sleep(0.002)  # distinct startedAt
    newest_first = ids[::-1]

    def listed(offset, limit):
        body = ops(server, "/api/v1/batches", offset=offset, limit=limit).json()
        return [b["batchId"] for b in body["data"]]

    assert listed(0, 2) == newest_first[0:2]
    assert listed(2, 2) == newest_first[2:4]
    assert listed(3, 2) == newest_first[2:4]  # floorDiv(3, 2) = page 1
    assert listed(4, 2) == newest_first[4:5]
    body = ops(server, "/api/v1/batches", offset=0, limit=10).json()
    assert (body["totalBatches"], body["totalTransactions"]) == (5, 10)
    assert body["totalAmount"] == 6000
    item = body["data"][0]
    assert {"batchId", "subBatchId", "requestFile", "correlationId", "status"} <= set(
        item
    )
    assert item["correlationId"] == "c-4"
    assert item["requestFile"].endswith("_cycle7.csv")


def test_batches_filters_sort_and_errors(start):
    server = start(settle_polls=0)
    first = batch_id_of(submit(server))
    time.sleep(0.002)
    submit(server)
    body = ops(server, "/api/v1/batches", batchId=first).json()
    assert [b["batchId"] for b in body["data"]] == [first]
    ascending = ops(server, "/api/v1/batches", sort="+startedAt").json()["data"]
    assert ascending[0]["batchId"] == first
    assert ops(server, "/api/v1/batches", sort="-nope").status_code == 400
    assert ops(server, "/api/v1/batches", limit=0).status_code == 500
    future = ops(server, "/api/v1/batches", dateFrom="2999-01-01 00:00:00").json()
    assert future["data"] == []


def test_batches_list_only_imported_batches(start):
    server = start(import_delay_polls=1)
    batch_id = batch_id_of(submit(server))
    assert ops(server, "/api/v1/batches").json()["data"] == []
    assert ops(server, f"/api/v1/batch/{batch_id}").status_code == 404
    assert ops(server, "/api/v1/batches").json()["data"] == []
    assert ops(server, f"/api/v1/batch/{batch_id}").status_code == 200
    assert ops(server, "/api/v1/batches").json()["totalBatches"] == 1


def test_batch_and_sub_batch_summary_needs_x_correlation_id(server):
    batch_id = batch_id_of(submit(server))
    assert ops(server, f"/api/v1/batches/{batch_id}").status_code == 400
    response = requests.get(
        f"{server.base_url}/api/v1/batches/{batch_id}",
        headers={"Platform-TenantId": TENANT, "X-Correlation-ID": "anything"},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["batchId"], body["total"]) == (batch_id, 2)
    # a list never created, and @JsonInclude(NON_NULL): absent, not []
    assert "subBatchSummaryList" not in body
    assert body["totalSubBatches"] == 0


def test_transfers_lookup_by_either_id(start):
    server = start(settle_polls=0)
    csv_text = make_csv(("a", "27710100011", 500), ("a", "27710100011", 500))
    submit(server, csv_text)
    by_client = ops(server, "/api/v1/transfers", clientCorrelationId="a", size=10)
    by_transaction = ops(server, "/api/v1/transfers", transactionId="a", size=10)
    (kept,) = by_client.json()["content"]
    (duplicate,) = by_transaction.json()["content"]
    assert (kept["status"], duplicate["status"]) == ("COMPLETED", "FAILED")
    # /transfers parses errorInformation as JSON: plain text comes back null.
    assert duplicate["errorInformation"] is None
    assert ops(server, "/api/v1/transfers", transactionId="zz").json()["content"] == []


def test_transaction_statuses_and_result_file_download(start):
    server = start(settle_polls=0)
    batch_id = batch_id_of(submit(server))
    statuses = ops(server, "/api/v1/batch/transactions", batchId=batch_id).json()
    assert sorted(statuses.values()) == ["COMPLETED", "COMPLETED"]
    download = requests.get(
        f"{server.base_url}/api/v1/batch/detail",
        params={"batchId": batch_id, "command": "download"},
        headers={"Platform-TenantId": TENANT},
        allow_redirects=False,
        timeout=10,
    )
    assert download.status_code == 302
    assert download.headers["Location"].endswith("_response.csv")


def test_ops_parameter_errors(server):
    assert ops(server, "/api/v1/batch/detail", batchId="x", pageNo="a").status_code == (
        400
    )
    assert ops(server, "/api/v1/transfers", sortedOrder="up").status_code == 500
    response = requests.get(
        f"{server.base_url}/api/v1/batches/nope",
        headers={"Platform-TenantId": TENANT, "X-Correlation-ID": "c"},
        timeout=10,
    )
    assert response.status_code == 404


# ----------------------------------------------------------------------- auth


def test_token_endpoint_issues_bearer_tokens(start):
    server = start(require_auth=True, token_ttl=123)
    response = token_call(server)
    assert response.status_code == 200
    body = response.json()
    assert {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "jti",
    } <= set(body)
    assert (body["token_type"], body["expires_in"]) == ("bearer", 123)
    ok = ops(server, "/api/v1/batches", token=body["access_token"])
    assert ok.status_code == 200


def test_bad_credentials_are_401_with_the_reference_body(server):
    response = token_call(server, password="wrong")
    assert response.status_code == 401
    body = response.json()
    assert (body["status"], body["error"], body["message"], body["path"]) == (
        "401",
        "Unauthorized",
        "Invalid credentials",
        "/oauth/token",
    )


def test_token_needs_basic_client_auth_grant_type_and_tenant(server):
    assert token_call(server, Authorization=None).status_code == 401
    response = requests.post(
        f"{server.base_url}/oauth/token",
        params={"username": "mifos", "password": "password"},
        headers={"Platform-TenantId": TENANT, "Authorization": BASIC},
        timeout=10,
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Missing grant type"},
    )
    missing_tenant = token_call(server, **{"Platform-TenantId": None})
    assert (missing_tenant.status_code, missing_tenant.content) == (500, b"")


def test_refresh_token_grant(server):
    refresh = token_call(server).json()["refresh_token"]
    response = requests.post(
        f"{server.base_url}/oauth/token",
        params={"grant_type": "refresh_token", "refresh_token": refresh},
        headers={"Platform-TenantId": TENANT, "Authorization": BASIC},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_token_accepts_form_parameters_and_rejects_bad_refresh_tokens(server):
    headers = {"Platform-TenantId": TENANT, "Authorization": BASIC}
    form = {"username": "mifos", "password": "password", "grant_type": "password"}
    url = f"{server.base_url}/oauth/token"
    assert requests.post(url, data=form, headers=headers, timeout=10).ok
    bad = {"grant_type": "refresh_token", "refresh_token": "nope"}
    response = requests.post(url, params=bad, headers=headers, timeout=10)
    assert response.status_code == 400
    other = requests.post(url, params={"grant_type": "x"}, headers=headers, timeout=10)
    assert other.json() == {"error": "Unsupported grant type: x"}


def test_ops_without_tenant_is_500_with_empty_body(server):
    response = ops(server, "/api/v1/batches", tenant=None)
    assert (response.status_code, response.content) == (500, b"")


def test_required_auth_rejects_missing_and_unknown_tokens(start):
    server = start(require_auth=True)
    missing = ops(server, "/api/v1/batches")
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    unknown = ops(server, "/api/v1/batches", token="forged")
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_token"


def test_expired_token_is_rejected_even_with_auth_off(start):
    server = start(token_ttl=0.2)
    token = token_call(server).json()["access_token"]
    assert ops(server, "/api/v1/batches", token=token).status_code == 200
    time.sleep(0.3)
    expired = ops(server, "/api/v1/batches", token=token)
    assert expired.status_code == 401
    assert expired.json()["error_description"] == "Access token expired"
    assert ops(server, "/api/v1/batches").status_code == 200


def test_request_log_never_holds_the_query_string(server):
    token_call(server)
    assert server.requests == [("POST", "/oauth/token", 200)]
    assert "password" not in repr(server.requests)


# --------------------------------------------------------------------- faults


def test_http_500_fault_takes_no_action(server):
    server.inject("submit", "http_500")
    assert submit(server).status_code == 500
    assert server.batches == []
    assert submit(server).status_code == 202


def test_accept_then_500_records_the_batch(server):
    server.inject("submit", "accept_then_500")
    response = submit(server)
    assert response.status_code == 500
    assert len(server.batches) == 1


def test_accept_then_hang_records_the_batch_and_times_the_client_out(server):
    server.inject("submit", "accept_then_hang", seconds=2)
    with pytest.raises(requests.Timeout):
        submit(server, timeout=0.3)
    assert len(server.batches) == 1


def test_hang_delays_an_ops_answer(server):
    batch_id = batch_id_of(submit(server))
    server.inject("summary", "hang", seconds=2)
    with pytest.raises(requests.Timeout):
        ops(server, f"/api/v1/batch/{batch_id}", timeout=0.3)
    assert ops(server, f"/api/v1/batch/{batch_id}").status_code == 200


def test_malformed_answers_are_not_json(server):
    server.inject("submit", "malformed")
    response = submit(server)
    assert response.status_code == 202
    with pytest.raises(ValueError):
        response.json()
    assert len(server.batches) == 1
    server.inject("detail", "malformed")
    detail = ops(server, "/api/v1/batch/detail", batchId="x")
    assert detail.status_code == 200
    with pytest.raises(ValueError):
        detail.json()


def test_no_polling_path_is_202_empty_object_with_batch_recorded(server):
    server.inject("submit", "no_polling_path")
    response = submit(server)
    assert (response.status_code, response.json()) == (202, {})
    assert len(server.batches) == 1


def test_reset_closes_without_answer(server):
    server.inject("submit", "reset")
    with pytest.raises(requests.ConnectionError):
        submit(server)
    assert len(server.batches) == 1
    server.inject("batches", "reset")
    with pytest.raises(requests.ConnectionError):
        ops(server, "/api/v1/batches")
    assert ops(server, "/api/v1/batches").status_code == 200
    assert ("POST", "/batchtransactions", None) in server.requests


def test_http_401_fault_on_token_and_ops(server):
    server.inject("token", "http_401")
    assert token_call(server).status_code == 401
    assert token_call(server).status_code == 200
    server.inject("detail", "http_401")
    assert ops(server, "/api/v1/batch/detail", batchId="x").status_code == 401


def test_expire_tokens_invalidates_issued_tokens(start):
    server = start(require_auth=True)
    token = token_call(server).json()["access_token"]
    server.inject("token", "expire_tokens")
    assert ops(server, "/api/v1/batches", token=token).status_code == 401
    fresh = token_call(server).json()["access_token"]
    assert ops(server, "/api/v1/batches", token=fresh).status_code == 200


def test_fault_count_and_validation(server):
    server.inject("batches", "http_500", count=2)
    statuses = [ops(server, "/api/v1/batches").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    with pytest.raises(ValueError):
        server.inject("nowhere", "http_500")
    with pytest.raises(ValueError):
        server.inject("submit", "explode")
    with pytest.raises(ValueError):
        server.inject("detail", "accept_then_500")


def test_stop_returns_fast_while_a_handler_hangs(start):
    server = start(max_sleep=60)
    server.inject("submit", "hang", seconds=60)
    errors = []

    def call():
        try:
            submit(server, timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    time.sleep(0.2)
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 2
    thread.join(timeout=5)
    assert not thread.is_alive() and errors
    assert server.batches == []


# ------------------------------------------------------------------ callbacks


@pytest.fixture
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cb", received
    httpd.shutdown()
    httpd.server_close()


def test_callback_is_posted_after_settling_when_enabled(start, receiver):
    url, received = receiver
    server = start(send_callbacks=True, settle_polls=1)
    csv_text = make_csv(("a", "27710100011", 500), ("b", "27710100999", 500))
    batch_id = batch_id_of(submit(server, csv_text, **{"X-CallbackURL": url}))
    settle(server, batch_id, polls=2)
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert received == [
        {
            "clientCorrelationId": "corr-1",
            "batchId": batch_id,
            "message": "The Batch Aggregation API was complete with : 50",
        }
    ]


def test_no_callback_by_default(server, receiver):
    url, received = receiver
    batch_id = batch_id_of(submit(server, **{"X-CallbackURL": url}))
    settle(server, batch_id)
    time.sleep(0.2)
    assert received == [] and server.callbacks == []


def test_callbacks_only_go_to_loopback_urls(start):
    server = start(send_callbacks=True, settle_polls=0)
    url = "http://callback.example.org/cb"
    batch_id = batch_id_of(submit(server, **{"X-CallbackURL": url}))
    settle(server, batch_id, polls=1)
    deadline = time.monotonic() + 5
    while not server.callbacks and time.monotonic() < deadline:
        time.sleep(0.02)
    (callback,) = server.callbacks
    assert (callback["url"], callback["status"]) == (url, None)


# ------------------------------------------------------------------------ CLI


def test_cli_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--require-auth" in capsys.readouterr().out
