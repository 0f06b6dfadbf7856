"""Kinds of PHEE transfer failures, and which fail again unchanged."""

import pytest

from phee import failures


@pytest.mark.parametrize(
    ("code", "reason", "kind"),
    [
        ("3204", "Party not found", failures.PAYEE_UNKNOWN),
        (None, "Party not found", failures.PAYEE_UNKNOWN),
        ("", "Payee account does not exist", failures.PAYEE_UNKNOWN),
        ("3203", None, failures.PAYEE_UNKNOWN),
        ("3202", "Payer FSP ID not found", failures.PAYER),
        ("4001", "Payer FSP insufficient liquidity", failures.PAYER),
        (None, "Insufficient funds", failures.PAYER),
        ("5400", "Payee blocked", failures.PAYEE_REFUSED),
        ("5200", None, failures.PAYEE_REFUSED),
        ("2004", "Server timed out", failures.TRANSIENT),
        ("3303", "Transfer expired", failures.TRANSIENT),
        ("1001", None, failures.TRANSIENT),
        (None, "Request timeout", failures.TRANSIENT),
        ("3101", "Malformed syntax", failures.INVALID),
        (None, "Invalid msisdn", failures.INVALID),
        (None, "Duplicate transaction.", failures.DUPLICATE),
        (None, "Something odd", failures.OTHER),
        (None, None, failures.OTHER),
        ("ABC", "", failures.OTHER),
    ],
)
def test_failure_kind(code, reason, kind):
    assert failures.failure_kind(code, reason) == kind


def test_only_identifier_bound_failures_fail_again_unchanged():
    assert failures.fails_again_unchanged("3204", "Party not found")
    assert failures.fails_again_unchanged(None, "Invalid msisdn")
    for code, reason in (
        ("4001", None),
        (None, "Duplicate transaction."),
        ("2004", None),
        ("5400", None),
        (None, "Something odd"),
    ):
        assert not failures.fails_again_unchanged(code, reason)


def test_every_kind_is_listed():
    assert set(failures.KINDS) >= failures.FAIL_AGAIN_UNCHANGED
    assert len(set(failures.KINDS)) == len(failures.KINDS)
