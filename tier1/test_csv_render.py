"""Tier-1 tests of phee.csv_render."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phee.const import CSV_COLUMNS, MAX_FILE_BYTES
from phee.csv_render import (
    HEADER,
    build_frame,
    find_problems,
    format_amounts,
    render_csv,
    row_byte_sizes,
    sanitize_text,
    split_to_fit,
)
from phee.errors import PheeFileTooBigError, PheeValidationError, RowProblem

GOLDEN = Path(__file__).parent / "golden"


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
    ],
)
def test_sanitize_text(raw, clean):
    assert sanitize_text([raw]).tolist() == [clean]


@pytest.mark.parametrize(
    "note", ['=1+1,"x"\n', "@a,\r\nb", '+"', "-\t-", ",,,", "\n=HYPERLINK()"]
)
def test_rendered_note_never_breaks_the_row(note):
    text = render_csv(make_frame(2, note=note))
    lines = text.split("\n")
    assert len(lines) == 3
    for line in lines[1:]:
        fields = line.split(",")
        assert len(fields) == 10
        rendered = fields[9]
        assert not any(c in rendered for c in "\"'\r\n\t;")
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
