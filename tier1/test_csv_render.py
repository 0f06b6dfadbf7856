"""Tier-1 tests of phee.csv_render."""

import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phee.const import CSV_COLUMNS, MAX_AMOUNT, MAX_FILE_BYTES
from phee.csv_render import (
    HEADER,
    build_frame,
    duplicate_rounds,
    duplicate_rows,
    find_problems,
    format_amounts,
    render_csv,
    row_byte_sizes,
    sanitize_text,
    split_to_fit,
)
from phee.errors import PheeFileTooBigError, PheeValidationError, RowProblem

GOLDEN = Path(__file__).parent / "golden"

CONTROL = "contains a line break, tab or other control character"
INVISIBLE = "contains an invisible or direction-changing character"
UNSAFE = "contains a comma, quote or whitespace"
PLUS = (
    "starts with +, which spreadsheets read as a formula: "
    "store phone numbers as digits only"
)
DUPLICATE = (
    "is paid the same amount in an earlier row of the file: PHEE would fail "
    "this payment as a duplicate"
)


def formula(lead):
    return f"starts with {lead}, which spreadsheets read as a formula"


def make_frame(n=3, **overrides):
    kwargs = {
        "request_ids": [f"req-{i}" for i in range(n)],
        "payee_identifier_types": "msisdn",
        "payee_identifiers": [f"2771{i:07d}" for i in range(n)],
        "amounts": [500] * n,
        "payment_mode": "mojaloop",
        "payer_identifier_type": "msisdn",
        "payer_identifier": "27710101999",
        "currency": "USD",
        "note": "Cycle 7",
    }
    kwargs.update(overrides)
    return build_frame(**kwargs)


def problem_set(df, **kwargs):
    return {(p.row, p.field, p.reason) for p in find_problems(df, **kwargs)}


# -- build_frame and the golden file -------------------------------------------


def test_representative_batch_matches_golden_bytes():
    df = build_frame(
        request_ids=pd.Series(
            ["pay-0001", "pay-0002", "pay-0003", "pay-0004"], index=[10, 11, 12, 13]
        ),
        payee_identifier_types=["msisdn", "accountNumber", "msisdn", " msisdn "],
        payee_identifiers=["27710102999", "ACC-000123", "27710103999", "27710104999 "],
        amounts=[500.0, 1250, Decimal("75"), "20"],
        payment_mode=" Mojaloop",
        payer_identifier_type="msisdn",
        payer_identifier="27710101999",
        currency="usd",
        note='=Cycle 7, "March"\n2024',
    )
    text = render_csv(df)
    golden = (GOLDEN / "representative_batch.csv").read_bytes()
    assert text.encode("utf-8") == golden
    assert not text.endswith("\n") and "\r" not in text
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)


def test_build_frame_shape_and_ids():
    df = make_frame(4)
    assert list(df.columns) == list(CSV_COLUMNS)
    assert df["id"].tolist() == [0, 1, 2, 3]
    assert df["payee_identifier_type"].tolist() == ["msisdn"] * 4
    assert df["amount"].dtype == float


def test_build_frame_rejects_length_mismatch():
    with pytest.raises(ValueError, match="payee_identifiers"):
        make_frame(3, payee_identifiers=["1", "2"])
    with pytest.raises(ValueError, match="amounts"):
        make_frame(3, amounts=[1, 2])


def test_build_frame_missing_values_become_blank_or_nan():
    df = make_frame(2, payee_identifiers=[None, np.nan], amounts=[None, "abc"])
    assert df["payee_identifier"].tolist() == ["", ""]
    assert df["amount"].isna().all()


# -- validation ----------------------------------------------------------------


def test_valid_frame_has_no_problems():
    assert find_problems(make_frame(5)) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"payee_identifiers": ["1", "", "3"]},
            {(1, "payee_identifier", "is missing")},
        ),
        (
            {"payee_identifiers": ["1", "   ", "3"]},
            {(1, "payee_identifier", "is missing")},
        ),
        (
            {"payee_identifiers": ["1", None, "3"]},
            {(1, "payee_identifier", "is missing")},
        ),
        (
            {"payee_identifiers": ["1,2", "2", '3"']},
            {
                (0, "payee_identifier", "contains a comma, quote or whitespace"),
                (2, "payee_identifier", "contains a comma, quote or whitespace"),
            },
        ),
        (
            {"payee_identifiers": ["1 2", "2\n", "3"]},
            {(0, "payee_identifier", "contains a comma, quote or whitespace")},
        ),
        (
            {"payee_identifier_types": ["msisdn", "", "msisdn"]},
            {(1, "payee_identifier_type", "is missing")},
        ),
        (
            {"request_ids": ["a", "", "c"]},
            {(1, "request_id", "is missing")},
        ),
        (
            {"request_ids": ["a", "b,c", "d"]},
            {(1, "request_id", "contains a comma, quote or whitespace")},
        ),
        (
            {"request_ids": ["a", "b", "a"]},
            {(2, "request_id", "is used twice in the batch")},
        ),
        (
            {"amounts": [0, -5, 10]},
            {
                (0, "amount", "must be greater than zero"),
                (1, "amount", "must be greater than zero"),
            },
        ),
        (
            {"amounts": [np.nan, None, "x"]},
            {(r, "amount", "is missing or not a number") for r in range(3)},
        ),
        (
            {"amounts": [float("inf"), 1, 2]},
            {(0, "amount", "is missing or not a number")},
        ),
        (
            {"amounts": [12.5, 1, Decimal("0.01")]},
            {
                (0, "amount", "must be a whole number"),
                (2, "amount", "must be a whole number"),
            },
        ),
    ],
)
def test_row_problems(overrides, expected):
    assert problem_set(make_frame(3, **overrides)) == expected


def test_problem_refs_use_request_id_or_position():
    df = make_frame(3, request_ids=["a", "", "c"], amounts=[1, 1, 0])
    refs = {(p.row, p.field): p.ref for p in find_problems(df)}
    assert refs == {(1, "request_id"): "#1", (2, "amount"): "c"}


def test_allow_decimal_path():
    df = make_frame(4, amounts=[12.5, 0.01, 3.10, 7.001])
    assert problem_set(df, allow_decimal=True) == {
        (3, "amount", "has more than 2 decimal places")
    }
    df = make_frame(3, amounts=[12.5, 0.01, 3.10])
    text = render_csv(df, allow_decimal=True)
    assert [line.split(",")[7] for line in text.splitlines()[1:]] == [
        "12.5",
        "0.01",
        "3.1",
    ]
    with pytest.raises(PheeValidationError):
        render_csv(df)


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"currency": "US"}, "currency", "is not a 3-letter currency code"),
        ({"currency": ""}, "currency", "is not a 3-letter currency code"),
        ({"currency": None}, "currency", "is not a 3-letter currency code"),
        ({"currency": "U$D"}, "currency", "is not a 3-letter currency code"),
        ({"payer_identifier": ""}, "payer_identifier", "is missing"),
        ({"payer_identifier": None}, "payer_identifier", "is missing"),
        ({"payer_identifier_type": " "}, "payer_identifier_type", "is missing"),
        ({"payment_mode": "bank"}, "payment_mode", "is not a PHEE payment mode"),
        ({"payment_mode": ""}, "payment_mode", "is not a PHEE payment mode"),
    ],
)
def test_batch_wide_problems_are_reported_once(overrides, field, reason):
    problems = find_problems(make_frame(50, **overrides))
    assert problems == [RowProblem(-1, "", field, reason)]


def test_batch_wide_column_wrong_on_some_rows_is_reported_per_row():
    df = make_frame(3)
    df.loc[1, "currency"] = "XX"
    assert problem_set(df) == {(1, "currency", "is not a 3-letter currency code")}


@pytest.mark.parametrize("mode", ["mojaloop", "GSMA", "slcb", "closedloop"])
def test_payment_modes_accepted_case_insensitively(mode):
    df = make_frame(2, payment_mode=mode)
    assert find_problems(df) == []
    assert render_csv(df).splitlines()[1].split(",")[2] == mode.lower()


def test_identifier_types_are_not_restricted():
    assert find_problems(make_frame(2, payee_identifier_types="email")) == []


def test_empty_frame_is_a_problem():
    assert find_problems(make_frame(0)) == [
        RowProblem(-1, "", "rows", "the batch has no rows")
    ]


def test_problems_are_sorted_and_positional_on_slices():
    df = make_frame(6, amounts=[1, 1, 1, 0, 1, 0], currency="XXXX")
    problems = find_problems(df.iloc[3:])
    assert [(p.row, p.field) for p in problems] == [
        (-1, "currency"),
        (0, "amount"),
        (2, "amount"),
    ]


def test_render_raises_with_every_problem():
    df = make_frame(4, payee_identifiers=["", "2", "3,", "4"], amounts=[1, 0, 1, 2.5])
    with pytest.raises(PheeValidationError) as info:
        render_csv(df)
    rows = [(p.row, p.field) for p in info.value.problems]
    assert rows == [
        (0, "payee_identifier"),
        (1, "amount"),
        (2, "payee_identifier"),
        (3, "amount"),
    ]
    assert str(info.value).startswith("4 problem(s)")


# -- formula lead-ins, control and invisible characters -------------------------

VALID = {  # a valid value of every checked column
    "request_id": "req-x",
    "payment_mode": "mojaloop",
    "payer_identifier_type": "msisdn",
    "payer_identifier": "27710101999",
    "payee_identifier_type": "msisdn",
    "payee_identifier": "27710000001",
    "currency": "USD",
}
CONTROLS = ["\x00", "\x01", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f"]
INVISIBLES = [
    *"\u200e\u200f\u061c",  # direction marks
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
    *"\u200b\u200c\u200d\u2060\ufeff\u00ad",  # zero-width, BOM, soft hyphen
]


def refused_variants(value):
    """(variant of a valid value, reason it is refused)."""
    variants = [(lead + value, formula(lead)) for lead in "=-@"]
    variants += [("+" + value, PLUS), (" =" + value, formula("="))]
    variants += [(value[:2] + c + value[2:], CONTROL) for c in CONTROLS]
    variants += [(value[:2] + c + value[2:], INVISIBLE) for c in INVISIBLES]
    variants += [(c + value, INVISIBLE) for c in "\ufeff\u202e"]
    variants += [(value + c, UNSAFE) for c in ",\"'"]
    variants += [(value[:2] + " " + value[2:], UNSAFE)]
    return variants


@pytest.mark.parametrize("field", list(VALID))
def test_identifiers_with_lead_ins_control_or_invisible_characters_are_refused(
    field,
):
    variants = refused_variants(VALID[field])
    df = make_frame(len(variants) + 1)
    if field != "request_id":
        df[field] = [VALID[field]] + [v for v, _ in variants]
    else:
        df[field] = ["req-ok"] + [v for v, _ in variants]
    expected = {(row, field, reason) for row, (_, reason) in enumerate(variants, 1)}
    assert problem_set(df) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"payer_identifier": "+27710101999"}, "payer_identifier", PLUS),
        ({"payer_identifier": "27710\u200b101999"}, "payer_identifier", INVISIBLE),
        ({"payer_identifier_type": "@msisdn"}, "payer_identifier_type", formula("@")),
        ({"currency": "U\u200dSD"}, "currency", INVISIBLE),
        ({"currency": "=USD"}, "currency", formula("=")),
        ({"payment_mode": "\u202emojaloop"}, "payment_mode", INVISIBLE),
        ({"payment_mode": "moja\tloop"}, "payment_mode", CONTROL),
    ],
)
def test_batch_wide_character_problems_are_reported_once(overrides, field, reason):
    assert find_problems(make_frame(20, **overrides)) == [
        RowProblem(-1, "", field, reason)
    ]


def test_leading_plus_on_a_phone_number_asks_for_digits_only():
    df = make_frame(2, payee_identifiers=[" +27710101999 ", "27710101998"])
    (problem,) = find_problems(df)
    assert (problem.row, problem.field) == (0, "payee_identifier")
    assert "digits only" in problem.reason


def test_legitimate_identifiers_are_accepted():
    payees = {
        "27710101999": "msisdn",
        "first.last+tag@example.org": "email",
        "user_name@mail.example.com": "email",
        "José.Núñez@correo.es": "email",
        "DE89370400440532013000": "IBAN",
        "ACC-000123": "accountNumber",
        "a=b-c@d": "accountNumber",
        "NID_12/34#5": "nationalId",
    }
    df = make_frame(
        len(payees),
        payee_identifiers=list(payees),
        payee_identifier_types=list(payees.values()),
        payer_identifier="BUDGET_ACC-01.x+y",
        request_ids=[f"r{i}_a.b-c+d@e" for i in range(len(payees))],
    )
    assert find_problems(df) == []
    lines = render_csv(df).splitlines()[1:]
    assert [line.split(",")[6] for line in lines] == list(payees)


# -- sanitising and formatting -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Cycle 7", "Cycle 7"),
        ("a,b", "a b"),
        ('say "hi"', "say hi"),
        ("it's", "it s"),
        ("one\ntwo\r\nthree\tfour", "one two three four"),
        ("semi;colon", "semi colon"),
        ("=SUM(A1:A2)", "SUM(A1:A2)"),
        ("+1 bonus", "1 bonus"),
        ("-5 days", "5 days"),
        ("@cmd", "cmd"),
        (" = =+-@x", "x"),
        ("   ", ""),
        (None, ""),
        (np.nan, ""),
        ("x\x00y\x7fz", "x y z"),
        ("Ünïcødé ok", "Ünïcødé ok"),
        ("mid=ok-fine", "mid=ok-fine"),
        ("x\x85y\x9fz", "x y z"),
        ("pay\u200bment \u2066due\u2069\u202e", "payment due"),
        ("\ufeff=cmd", "cmd"),
        ("\u200b @x", "x"),
    ],
)
def test_sanitize_text(raw, clean):
    assert sanitize_text([raw]).tolist() == [clean]


@pytest.mark.parametrize(
    "note",
    [
        '=1+1,"x"\n',
        "@a,\r\nb",
        '+"',
        "-\t-",
        ",,,",
        "\n=HYPERLINK()",
        "\u202e=1\u200b",
        "\x85\u2028@x",
    ],
)
def test_rendered_note_never_breaks_the_row(note):
    text = render_csv(make_frame(2, note=note))
    lines = text.split("\n")
    assert len(lines) == 3
    for line in lines[1:]:
        fields = line.split(",")
        assert len(fields) == 10
        rendered = fields[9]
        assert not any(c in rendered for c in "\"'\r\n\t;\x85\u2028")
        assert not any(c in rendered for c in INVISIBLES)
        assert not rendered.startswith(("=", "+", "-", "@"))


@pytest.mark.parametrize(
    ("amounts", "allow_decimal", "expected"),
    [
        ([500.0, 500, "500", Decimal("500.00")], False, ["500"] * 4),
        ([1_000_000.0, 1, 99], False, ["1000000", "1", "99"]),
        (
            [12.5, 12.50, 3.1, 0.05, 7.0, 100],
            True,
            ["12.5", "12.5", "3.1", "0.05", "7", "100"],
        ),
        ([-1.5, 0], True, ["-1.5", "0"]),
        ([np.nan, None, "x"], False, ["", "", ""]),
        ([np.nan, 2.25], True, ["", "2.25"]),
    ],
)
def test_format_amounts(amounts, allow_decimal, expected):
    assert format_amounts(amounts, allow_decimal).tolist() == expected


def test_integer_amounts_never_have_decimal_point():
    text = render_csv(make_frame(3, amounts=np.array([500.0, 1.0, 250.0])))
    assert ".0" not in text
    assert [line.split(",")[7] for line in text.splitlines()[1:]] == ["500", "1", "250"]


# -- amounts out of range -----------------------------------------------------

TINY = "must be at least 0.01"
HUGE = "is too large for PHEE"
NOT_A_NUMBER = "is missing or not a number"
NOT_POSITIVE = "must be greater than zero"


@pytest.mark.parametrize(
    ("amounts", "allow_decimal", "expected"),
    [
        ([0.001, 1e-9, 0.004, 0.005, 5e-324], True, [TINY] * 5),
        ([0.006, 0.015], True, ["has more than 2 decimal places"] * 2),
        ([1e-9, 0.4], False, ["must be a whole number"] * 2),
        (
            [MAX_AMOUNT / 100 + 0.01, 2.0**53, 1e300, sys.float_info.max],
            True,
            [HUGE] * 4,
        ),
        ([MAX_AMOUNT + 1, 2.0**53, 1e300, sys.float_info.max], False, [HUGE] * 4),
        ([np.nan, np.inf, -np.inf], True, [NOT_A_NUMBER] * 3),
        ([np.nan, np.inf, -np.inf], False, [NOT_A_NUMBER] * 3),
        ([0, -0.0, -0.01, -1e300], True, [NOT_POSITIVE] * 4),
        ([0, -0.0, -1, -1e300], False, [NOT_POSITIVE] * 4),
    ],
)
def test_amounts_out_of_range(amounts, allow_decimal, expected):
    df = make_frame(len(amounts), amounts=amounts)
    problems = find_problems(df, allow_decimal=allow_decimal)
    assert [(p.row, p.field, p.reason) for p in problems] == [
        (row, "amount", reason) for row, reason in enumerate(expected)
    ]
    with pytest.raises(PheeValidationError):
        render_csv(df, allow_decimal=allow_decimal)


@pytest.mark.parametrize(
    ("amounts", "allow_decimal", "rendered"),
    [
        ([MAX_AMOUNT, 1], False, [str(MAX_AMOUNT), "1"]),
        ([MAX_AMOUNT / 100, 0.01], True, [str(MAX_AMOUNT // 100), "0.01"]),
        ([0.03 - 0.02, 0.1 + 0.2], True, ["0.01", "0.3"]),
        (
            [1_000_000_000.01, 123_456_789.07, 99_999_999_999.99],
            True,
            ["1000000000.01", "123456789.07", "99999999999.99"],
        ),
    ],
)
def test_amounts_at_the_bounds_are_rendered_exactly(amounts, allow_decimal, rendered):
    df = make_frame(len(amounts), amounts=amounts)
    text = render_csv(df, allow_decimal=allow_decimal)
    assert [line.split(",")[7] for line in text.splitlines()[1:]] == rendered


@pytest.mark.parametrize("allow_decimal", [False, True])
def test_no_float_makes_validation_or_rendering_raise(allow_decimal):
    rng = np.random.default_rng(7)
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, sys.float_info.max, 2.0**53]
    mantissas = rng.uniform(-10, 10, 3000)
    exponents = rng.integers(-320, 309, 3000).astype(float)
    with np.errstate(all="ignore"):
        scattered = mantissas * 10.0**exponents
    round_ones = np.round(rng.uniform(0, 2e6, 1000), 2 if allow_decimal else 0)
    amounts = np.concatenate([special, scattered, round_ones])
    df = make_frame(len(amounts), amounts=amounts)

    problems = find_problems(df, allow_decimal=allow_decimal)
    assert len({p.row for p in problems}) == len(problems)  # one reason per row
    with pytest.raises(PheeValidationError):
        render_csv(df, allow_decimal=allow_decimal)
    assert len(row_byte_sizes(df, allow_decimal)) == len(amounts)
    assert len(format_amounts(amounts, allow_decimal)) == len(amounts)

    good = np.setdiff1d(np.arange(len(amounts)), [p.row for p in problems])
    assert len(good) >= 1000
    text = render_csv(df.iloc[good], allow_decimal=allow_decimal)
    written = [line.split(",")[7] for line in text.splitlines()[1:]]
    pattern = r"[1-9]\d*(\.\d\d?)?|0\.\d\d?" if allow_decimal else r"[1-9]\d*"
    assert pd.Series(written).str.fullmatch(pattern).all()
    values = np.array(written, dtype=float)
    assert (values <= MAX_AMOUNT).all()
    assert (np.abs(values - amounts[good]) <= (0.005 if allow_decimal else 0)).all()


# -- PHEE's in-file de-duplication --------------------------------------------


def test_duplicate_rounds_count_earlier_rows_with_the_same_key():
    df = make_frame(6, payee_identifiers=["a", "b", "a", "a", "b", "c"])
    assert duplicate_rounds(df).tolist() == [0, 0, 1, 2, 1, 0]
    assert duplicate_rows(df) == [2, 3, 4]
    assert find_problems(df) == []  # payable, in separate files


def test_duplicate_key_compares_amounts_as_rendered():
    amounts = [500, 500.0, "500", Decimal("500.00"), 501]
    df = make_frame(5, payee_identifiers=["a"] * 5, amounts=amounts)
    assert duplicate_rounds(df).tolist() == [0, 1, 2, 3, 0]
    df = make_frame(
        4, payee_identifiers=["a"] * 4, amounts=[12.5, 12.50, 12.5000000001, 12.51]
    )
    assert duplicate_rounds(df, allow_decimal=True).tolist() == [0, 1, 2, 0]


def test_duplicate_key_is_payee_type_amount_and_currency():
    df = make_frame(5, payee_identifiers=["a"] * 5)
    df["payee_identifier_type"] = ["msisdn", "email", "msisdn", " msisdn", "msisdn"]
    df["currency"] = ["USD", "USD", "EUR", "USD", "usd"]
    df.loc[4, "payee_identifier"] = "a "
    assert duplicate_rounds(df).tolist() == [0, 0, 0, 1, 2]


def test_duplicate_key_is_phee_concatenation():
    # PHEE joins the four values with no separator, so these two collide.
    df = make_frame(2, payee_identifiers=["2771e", "2771"])
    df["payee_identifier_type"] = ["mail", "email"]
    assert duplicate_rows(df) == [1]


def test_rows_spread_by_round_render_without_duplicates():
    n = 40
    df = make_frame(
        n,
        payee_identifiers=[f"2771{i % 7:07d}" for i in range(n)],
        amounts=[(500, 750)[i % 2] for i in range(n)],
    )
    rounds = duplicate_rounds(df)
    assert rounds.tolist() == duplicate_rounds(df).tolist()  # deterministic
    seen = []
    for k in np.unique(rounds):
        part = df.iloc[np.flatnonzero(rounds == k)]
        assert duplicate_rows(part) == []
        seen.extend(render_csv(part).split("\n")[1:])
    assert sorted(line.split(",")[1] for line in seen) == sorted(df["request_id"])


def test_render_refuses_phee_duplicates():
    df = make_frame(4, payee_identifiers=["a", "b", "a", "a"])
    with pytest.raises(PheeValidationError) as info:
        render_csv(df)
    assert info.value.problems == [
        RowProblem(row, f"req-{row}", "payee_identifier", DUPLICATE) for row in (2, 3)
    ]
    assert str(info.value).startswith("2 problem(s)")


def test_render_reports_validation_problems_before_duplicates():
    df = make_frame(3, payee_identifiers=["a", "a", ""])
    with pytest.raises(PheeValidationError) as info:
        render_csv(df)
    assert [(p.row, p.reason) for p in info.value.problems] == [(2, "is missing")]


def test_split_to_fit_does_not_look_at_duplicates():
    df = make_frame(50, payee_identifiers=["a"] * 50)
    slices = split_to_fit(df, max_bytes=1_000)
    assert slices[0][0] == 0 and slices[-1][1] == 50 and len(slices) > 1


# -- size limit and splitting --------------------------------------------------


def test_file_size_limit():
    df = make_frame(10)
    text = render_csv(df)
    size = len(text.encode("utf-8"))
    assert render_csv(df, max_bytes=size) == text
    with pytest.raises(PheeFileTooBigError) as info:
        render_csv(df, max_bytes=size - 1)
    assert (info.value.size, info.value.max_bytes) == (size, size - 1)
    assert info.value.code == "file_too_big"


def test_default_limit_is_phee_default():
    big = make_frame(2000, note="x" * 60)
    with pytest.raises(PheeFileTooBigError) as info:
        render_csv(big)
    assert info.value.max_bytes == MAX_FILE_BYTES == 100_000


def test_row_byte_sizes_add_up_to_the_file():
    df = make_frame(25, note="Zahlung für März")  # multi-byte characters
    sizes = row_byte_sizes(df)
    assert len(sizes) == 25
    assert len(HEADER) + int(sizes.sum()) == len(render_csv(df).encode("utf-8"))


@pytest.mark.parametrize(
    ("max_bytes", "n"), [(400, 60), (1_000, 250), (7_777, 1500), (20_000, 1500)]
)
def test_split_to_fit(max_bytes, n):
    df = make_frame(
        n,
        request_ids=[f"r{i}" + "x" * (i % 7) for i in range(n)],
        amounts=np.arange(1, n + 1) * 10,
        note="Paiement été",
    )
    slices = split_to_fit(df, max_bytes=max_bytes)
    assert slices[0][0] == 0 and slices[-1][1] == n
    assert all(a < b for a, b in slices)
    assert all(
        prev[1] == nxt[0] for prev, nxt in zip(slices[:-1], slices[1:], strict=True)
    )
    seen = []
    for start, stop in slices:
        text = render_csv(df.iloc[start:stop], max_bytes=max_bytes)
        assert len(text.encode("utf-8")) <= max_bytes
        lines = text.split("\n")[1:]
        assert [int(line.split(",")[0]) for line in lines] == list(range(stop - start))
        seen.extend(line.split(",")[1] for line in lines)
        if stop < n:  # greedy: one more row would not fit
            with pytest.raises(PheeFileTooBigError):
                render_csv(df.iloc[start : stop + 1], max_bytes=max_bytes)
    assert seen == df["request_id"].tolist()


def test_split_to_fit_single_slice_and_empty():
    df = make_frame(5)
    assert split_to_fit(df) == [(0, 5)]
    assert split_to_fit(make_frame(0)) == []


def test_split_to_fit_row_larger_than_limit():
    df = make_frame(3, note="x" * 500)
    with pytest.raises(PheeFileTooBigError):
        split_to_fit(df, max_bytes=300)
