"""Tier-1 tests of phee.errors."""

import json
import time

import pytest

from phee.errors import (
    PheeAuthError,
    PheeConfigError,
    PheeConnectionError,
    PheeError,
    PheeFileTooBigError,
    PheeHTTPError,
    PheeNotFoundError,
    PheeResponseError,
    PheeSignatureError,
    PheeTimeoutError,
    PheeValidationError,
    RowProblem,
    describe_error_body,
    signature_error,
)

ERROR_BODIES = [
    pytest.param(
        {
            "errorCategory": "Validation",
            "errorCode": "InvalidJsonWebSignature",
            "errorDescription": "The JWS passed is not valid",
            "errorParameters": [{"key": "X-SIGNATURE", "value": "abc"}],
        },
        ("InvalidJsonWebSignature", "The JWS passed is not valid"),
        id="PhErrorDTO",
    ),
    pytest.param(
        {"errorCode": "InvalidPublicKeyConfigured", "defaultUserMessage": "No key"},
        ("InvalidPublicKeyConfigured", "No key"),
        id="PhErrorDTO-defaultUserMessage",
    ),
    pytest.param(
        {"errorCode": "JWSVerificationServerError", "developerMessage": "read fail"},
        ("JWSVerificationServerError", "read fail"),
        id="PhErrorDTO-developerMessage",
    ),
    pytest.param(
        {"errorCode": "X"},
        ("X", None),
        id="PhErrorDTO-code-only",
    ),
    pytest.param(
        {
            "responseCode": "01",
            "responseDescription": "Required request header 'Purpose' is missing",
        },
        ("01", "Required request header 'Purpose' is missing"),
        id="responseCode",
    ),
    pytest.param(
        {"responseCode": "01", "responseDescription": "Process definition not found"},
        ("01", "Process definition not found"),
        id="responseCode-412",
    ),
    pytest.param(
        {
            "errorInformation": "File not uploaded",
            "errorDescription": "There was no fie uploaded with the request",
            "errorCode": 400,
        },
        ("File not uploaded", "There was no fie uploaded with the request"),
        id="errorInformation",
    ),
    pytest.param(
        {
            "Error Information: ": "File too big",
            "Error Description : ": "File size is greater than 100000",
        },
        ("File too big", "File size is greater than 100000"),
        id="odd-keys",
    ),
    pytest.param(
        {"Error Information: ": "Invalid file structure", "Error Description : ": ""},
        ("Invalid file structure", None),
        id="odd-keys-no-description",
    ),
    pytest.param({"error": "Bad client"}, (None, "Bad client"), id="error-only"),
    pytest.param(
        {
            "timestamp": "2024-01-01",
            "status": "401",
            "error": "Unauthorized",
            "message": "Invalid credentials",
            "path": "/oauth/token",
        },
        ("Unauthorized", "Invalid credentials"),
        id="spring",
    ),
    pytest.param(
        {"error": "invalid_grant", "error_description": "Bad credentials"},
        ("invalid_grant", "Bad credentials"),
        id="oauth",
    ),
    pytest.param({"message": "boom"}, (None, "boom"), id="message-only"),
    pytest.param({}, (None, None), id="empty-object"),
]


@pytest.mark.parametrize(("body", "expected"), ERROR_BODIES)
def test_describe_error_body_json_shapes(body, expected):
    assert describe_error_body(400, json.dumps(body)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Batch corresponding to batchId: 3c5d does not exist.",
            (None, "Batch corresponding to batchId: 3c5d does not exist."),
        ),
        ("  two\n  lines  ", (None, "two lines")),
        ("", (None, None)),
        (None, (None, None)),
        ("[1, 2]", (None, "[1, 2]")),
        ('"just a string"', (None, '"just a string"')),
        (
            "<html><body>Bad Gateway</body></html>",
            (None, "<html><body>Bad Gateway</body></html>"),
        ),
    ],
)
def test_describe_error_body_text(text, expected):
    assert describe_error_body(502, text) == expected


@pytest.mark.parametrize("weird", [b"\xff\xfe", 12, object(), {"a": 1}, ["x"]])
def test_describe_error_body_never_raises(weird):
    code, message = describe_error_body(None, weird)
    assert code is None or isinstance(code, str)
    assert message is None or isinstance(message, str)


def test_describe_error_body_truncates_long_messages():
    _, message = describe_error_body(500, "x" * 5000)
    assert len(message) == 500


def test_describe_error_body_nested_values_are_not_messages():
    body = {"errorCode": {"nested": 1}, "errorDescription": ["a"]}
    assert describe_error_body(400, json.dumps(body)) == (None, None)


@pytest.mark.parametrize(
    ("cls", "code", "retryable", "outcome_unknown"),
    [
        (PheeError, "error", False, False),
        (PheeConfigError, "config", False, False),
        (PheeConnectionError, "connection", True, False),
        (PheeTimeoutError, "timeout", True, True),
        (PheeResponseError, "response", False, True),
    ],
)
def test_error_defaults(cls, code, retryable, outcome_unknown):
    exc = cls("Something safe")
    assert (exc.code, exc.retryable, exc.outcome_unknown) == (
        code,
        retryable,
        outcome_unknown,
    )
    assert str(exc) == exc.message == "Something safe"
    assert exc.http_status is None and exc.remote_code is None
    assert isinstance(exc, PheeError)


def test_error_flags_can_be_overridden():
    exc = PheeResponseError("x", outcome_unknown=False, retryable=True)
    assert not exc.outcome_unknown and exc.retryable
    assert PheeTimeoutError.outcome_unknown  # class default untouched


@pytest.mark.parametrize(
    ("status", "retryable", "outcome_unknown"),
    [
        (400, False, False),
        (409, False, False),
        (412, False, False),
        (429, True, False),
        (500, True, True),
        (502, True, True),
        (503, True, True),
        (504, True, True),
    ],
)
def test_http_error_flags_follow_status(status, retryable, outcome_unknown):
    exc = PheeHTTPError("x", http_status=status, remote_code="01")
    assert exc.code == "http"
    assert (exc.retryable, exc.outcome_unknown) == (retryable, outcome_unknown)
    assert exc.http_status == status and exc.remote_code == "01"


def test_http_error_subclasses():
    auth = PheeAuthError("no", http_status=401)
    missing = PheeNotFoundError("gone", http_status=404)
    assert isinstance(auth, PheeHTTPError) and auth.code == "auth"
    assert isinstance(missing, PheeHTTPError) and missing.code == "not_found"
    assert not auth.retryable and not missing.outcome_unknown


def test_validation_error_summarises_problems():
    problems = [
        RowProblem(i, f"r{i}", "amount", "must be greater than zero") for i in range(7)
    ]
    exc = PheeValidationError(problems)
    assert exc.code == "validation"
    assert exc.problems == problems
    assert str(exc).startswith("7 problem(s) in the payment batch: row 0 (r0): amount")
    assert "row 4 (r4)" in str(exc) and "row 5" not in str(exc)
    assert str(exc).endswith("; and 2 more")


def test_validation_error_batch_wide_problem_text():
    exc = PheeValidationError([RowProblem(-1, "", "currency", "is not a code")])
    assert (
        str(exc) == "1 problem(s) in the payment batch: batch: currency is not a code"
    )


def test_file_too_big_error():
    exc = PheeFileTooBigError(123_456, 100_000)
    assert isinstance(exc, PheeValidationError)
    assert exc.code == "file_too_big"
    assert (exc.size, exc.max_bytes, exc.problems) == (123_456, 100_000, [])
    assert "123456" in str(exc) and "100000" in str(exc)


def test_row_problem_is_frozen():
    problem = RowProblem(1, "r1", "amount", "bad")
    with pytest.raises(AttributeError):
        problem.row = 2
    assert problem == RowProblem(1, "r1", "amount", "bad")


def test_signature_error_defaults():
    exc = PheeSignatureError(
        "x", http_status=400, remote_code="InvalidJsonWebSignature"
    )
    assert isinstance(exc, PheeHTTPError) and exc.code == "signature"
    assert not exc.retryable and not exc.outcome_unknown


@pytest.mark.parametrize(
    ("code", "signed", "says"),
    [
        ("InvalidPublicKeyConfigured", False, "no signing key is set"),
        ("InvalidPublicKeyConfigured", True, "not the one PHEE expects"),
        ("InvalidJsonWebSignature", True, "changed the request"),
    ],
)
def test_signature_error_says_what_to_fix(code, signed, says):
    exc = signature_error(code, tenant_id="rhino", signed=signed, http_status=400)
    assert isinstance(exc, PheeSignatureError)
    assert (exc.http_status, exc.remote_code) == (400, code)
    assert str(exc).startswith(f"PHEE refused the batch signature ({code}): ")
    assert says in str(exc)
    if code == "InvalidPublicKeyConfigured":
        assert "manager › Credentials" in str(exc)
    assert signed is False or "rhino" in str(exc)


@pytest.mark.parametrize("code", [None, "01", "JWSVerificationServerError"])
def test_signature_error_only_for_jws_refusals(code):
    assert signature_error(code, tenant_id="t", signed=True, http_status=400) is None


def test_describe_error_body_with_absurd_numbers_is_fast():
    started = time.monotonic()
    text = '{"errorCode": ' + "9" * 100_000 + ', "errorDescription": "x"}'
    assert describe_error_body(400, text) == (None, text[:500])
    assert describe_error_body(400, '{"errorCode": 1e1000000}')[0] is None
    assert time.monotonic() - started < 1
