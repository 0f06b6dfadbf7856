"""What kind of failure PHEE reported for a transfer, from its error code and
reason, and whether trying again with the same data can succeed.

Codes are Mojaloop's (FSPIOP API error codes, which PHEE passes on for its
mojaloop mode): 1xxx communication, 2xxx server, 31xx validation, 32xx an
identifier not found, 33xx expired, 4xxx payer, 5xxx payee. Other modes and
PHEE's own importer give only a text, which is matched by keywords.
"""

from __future__ import annotations

import re

PAYEE_UNKNOWN = "payee_unknown"  # no account or wallet for that identifier
PAYEE_REFUSED = "payee_refused"  # the payee's DFSP refused (blocked, limits)
PAYER = "payer"  # the paying account (funds, limits, permissions)
DUPLICATE = "duplicate"  # PHEE's in-file deduplication
TRANSIENT = "transient"  # timeouts, expiries, unavailable services
INVALID = "invalid"  # the row's data was refused as malformed
OTHER = "other"

KINDS = (PAYEE_UNKNOWN, PAYEE_REFUSED, PAYER, DUPLICATE, TRANSIENT, INVALID, OTHER)

# Kinds that fail again as long as the payee's identifier is the same.
FAIL_AGAIN_UNCHANGED = frozenset({PAYEE_UNKNOWN, INVALID})

_PAYEE_UNKNOWN_CODES = {"3200", "3201", "3203", "3204"}
# Longest prefix first.
_BY_CODE_PREFIX = (
    ("3202", PAYER),
    ("31", INVALID),
    ("33", TRANSIENT),
    ("1", TRANSIENT),
    ("2", TRANSIENT),
    ("4", PAYER),
    ("5", PAYEE_REFUSED),
)
_BY_TEXT = (
    (re.compile(r"duplicate transaction", re.I), DUPLICATE),
    (
        re.compile(
            r"(party|payee|account|wallet|msisdn|beneficiary)\b.{0,20}"
            r"\b(not found|unknown|not registered|does not exist)",
            re.I,
        ),
        PAYEE_UNKNOWN,
    ),
    (re.compile(r"insufficient|liquidity|\bfunds?\b|payer", re.I), PAYER),
    (re.compile(r"time[d ]?\s?out|expired|unavailable|try again", re.I), TRANSIENT),
    (re.compile(r"blocked|rejected|limit", re.I), PAYEE_REFUSED),
    (re.compile(r"invalid|malformed|must be|not a valid", re.I), INVALID),
)


def failure_kind(code, reason) -> str:
    """One of ``KINDS`` for a failed transfer's error code and reason text."""
    code = str(code or "").strip()
    if code in _PAYEE_UNKNOWN_CODES:
        return PAYEE_UNKNOWN
    if code.isdigit() and len(code) == 4:
        for prefix, kind in _BY_CODE_PREFIX:
            if code.startswith(prefix):
                return kind
    text = str(reason or "")
    for pattern, kind in _BY_TEXT:
        if pattern.search(text):
            return kind
    return OTHER


def fails_again_unchanged(code, reason) -> bool:
    """Whether the same transfer to the same identifier would fail again."""
    return failure_kind(code, reason) in FAIL_AGAIN_UNCHANGED
