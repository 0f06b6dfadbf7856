"""Validation and rendering of PHEE bulk payment CSV files.

Rows are rendered in the canonical column order with no quoting at all: PHEE
splits each line on plain commas, so values that would need quoting are
rejected (identifiers) or sanitised (note) instead.

Frames are pandas DataFrames, but the per-row work runs on plain lists: every
check and transformation is computed once per distinct value (batch-wide
columns hold one value) and broadcast back, which is several times faster than
pandas' per-call overhead on batch-sized frames.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .const import CSV_COLUMNS, MAX_FILE_BYTES, PAYMENT_MODES
from .errors import PheeFileTooBigError, PheeValidationError, RowProblem

HEADER = ",".join(CSV_COLUMNS)

# Columns that hold one value for the whole batch: a problem found on every row
# is reported once, as row -1, instead of once per row.
_BATCH_WIDE = ("payment_mode", "payer_identifier_type", "payer_identifier", "currency")
_IDENTIFIERS = (
    "request_id",
    "payer_identifier_type",
    "payer_identifier",
    "payee_identifier_type",
    "payee_identifier",
)
_UNSAFE_IN_ID = re.compile(r"[,\"'\s]")  # commas, quotes and any whitespace
_UNSAFE_IN_NOTE = re.compile(r"[,\"';\x00-\x1f\x7f]")  # includes \t \r \n
_WHITESPACE = re.compile(r"\s+")
_FORMULA_LEAD = re.compile(r"^[=+\-@\s]+")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


def _texts(values) -> list[str]:
    """Positional texts; missing values (None, NaN, NA) become ''."""
    if isinstance(values, pd.Series):
        arr = values.to_numpy(dtype=object)
    else:
        arr = np.asarray(values, dtype=object)
    items = arr.tolist()
    if pd.api.types.infer_dtype(arr, skipna=False) == "string":
        return items
    missing = pd.isna(arr)
    if not missing.any():
        return list(map(str, items))
    return ["" if m else str(v) for v, m in zip(items, missing.tolist(), strict=True)]


def _map(values: list[str], fn) -> list[str]:
    """``fn`` applied once per distinct value, broadcast back to every row."""
    distinct = set(values)
    if len(distinct) == 1:
        return [fn(values[0])] * len(values)
    result = {value: fn(value) for value in distinct}
    return [result[value] for value in values]


def _rows_with(values: list[str], bad_values: set) -> list[int]:
    if not bad_values:
        return []
    return [row for row, value in enumerate(values) if value in bad_values]


def _floats(values) -> np.ndarray:
    """Amounts as floats; anything unparsable becomes NaN."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.dtype.kind in "fiu":
        return arr.astype(float)
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _per_row(values, n: int, name: str, strip: bool = True) -> list[str]:
    """Texts of a per-row array or of a scalar repeated ``n`` times."""
    if values is None or isinstance(values, str) or np.ndim(values) == 0:
        text = _texts([values])[0]
        return [text.strip() if strip else text] * n
    texts = _texts(values)
    if len(texts) != n:
        raise ValueError(f"{name} has {len(texts)} values, expected {n}")
    return list(map(str.strip, texts)) if strip else texts


def build_frame(
    *,
    request_ids,
    payee_identifier_types,
    payee_identifiers,
    amounts,
    payment_mode: str,
    payer_identifier_type: str,
    payer_identifier: str,
    currency: str,
    note: str,
) -> pd.DataFrame:
    """Assemble a batch frame (``id`` = 0..n-1) from per-row arrays and batch scalars.

    ``payee_identifier_types`` may be a scalar. Identifiers are stripped; amounts
    are coerced to float (anything unparsable becomes NaN and fails validation).
    """
    rids = _texts(request_ids)
    n = len(rids)
    amount = _floats(amounts)
    if len(amount) != n:
        raise ValueError(f"amounts has {len(amount)} values, expected {n}")
    columns = {
        "id": np.arange(n),
        "request_id": list(map(str.strip, rids)),
        "payment_mode": _per_row(payment_mode, n, "payment_mode"),
        "payer_identifier_type": _per_row(payer_identifier_type, n, ""),
        "payer_identifier": _per_row(payer_identifier, n, ""),
        "payee_identifier_type": _per_row(
            payee_identifier_types, n, "payee_identifier_types"
        ),
        "payee_identifier": _per_row(payee_identifiers, n, "payee_identifiers"),
        "amount": amount,
        "currency": _per_row(currency, n, "currency"),
        "note": _per_row(note, n, "note", strip=False),
    }
    return pd.DataFrame(columns, columns=list(CSV_COLUMNS))


class _Texts(dict):
    """Texts of a frame's columns, computed on first use."""

    def __init__(self, df: pd.DataFrame):
        super().__init__()
        self.df = df

    def __missing__(self, column: str) -> list[str]:
        self[column] = texts = _texts(self.df[column])
        return texts


def _amount_checks(amount, allow_decimal: bool):
    a = _floats(amount)
    finite = np.isfinite(a)
    yield "amount", ~finite, "is missing or not a number"
    yield "amount", finite & (a <= 0), "must be greater than zero"
    if allow_decimal:
        cents = a * 100
        extra = finite & (np.abs(cents - np.rint(cents)) > 1e-6)
        yield "amount", extra, "has more than 2 decimal places"
    else:
        yield "amount", finite & (a != np.floor(a)), "must be a whole number"


def _blank_and_unsafe(uniques: set) -> tuple[set, set]:
    """Blank values, and non-blank values with a comma, quote or whitespace."""
    # One scan of every value at once ("\0" is not unsafe) settles the usual case.
    if not _UNSAFE_IN_ID.search("\0".join(uniques)):
        return uniques & {""}, set()
    blank = {v for v in uniques if not v.strip()}
    return blank, {v for v in uniques - blank if _UNSAFE_IN_ID.search(v)}


def _checks(texts: _Texts, allow_decimal: bool):
    """Yield ``(field, failing rows, reason)`` for every rule."""
    distinct = {}
    for field in _IDENTIFIERS:
        values = texts[field]
        distinct[field] = uniques = set(values)
        blank, unsafe = _blank_and_unsafe(uniques)
        yield field, _rows_with(values, blank), "is missing"
        yield field, _rows_with(values, unsafe), "contains a comma, quote or whitespace"
    rids = texts["request_id"]
    duplicated = []
    if len(distinct["request_id"]) < len(rids):
        seen = set()
        for row, rid in enumerate(rids):
            if rid in seen and rid != "":
                duplicated.append(row)
            seen.add(rid)
    yield "request_id", duplicated, "is used twice in the batch"
    modes = texts["payment_mode"]
    bad_modes = {v for v in set(modes) if v.lower() not in PAYMENT_MODES}
    yield "payment_mode", _rows_with(modes, bad_modes), "is not a PHEE payment mode"
    currencies = texts["currency"]
    bad_currencies = {v for v in set(currencies) if not _CURRENCY.fullmatch(v)}
    yield (
        "currency",
        _rows_with(currencies, bad_currencies),
        "is not a 3-letter currency code",
    )
    for field, mask, reason in _amount_checks(texts.df["amount"], allow_decimal):
        yield field, np.flatnonzero(mask).tolist(), reason


def _find_problems(texts: _Texts, n: int, allow_decimal: bool) -> list[RowProblem]:
    if n == 0:
        return [RowProblem(-1, "", "rows", "the batch has no rows")]
    refs = texts["request_id"]
    problems = []
    for field, rows, reason in _checks(texts, allow_decimal):
        if field in _BATCH_WIDE and len(rows) == n:
            problems.append(RowProblem(-1, "", field, reason))
            continue
        problems.extend(RowProblem(r, refs[r] or f"#{r}", field, reason) for r in rows)
    problems.sort(key=lambda p: p.row)
    return problems


def find_problems(df: pd.DataFrame, *, allow_decimal: bool = False) -> list[RowProblem]:
    """Every validation problem of the frame, ordered by row.

    Rows are positional. A batch-wide column (payment mode, payer fields,
    currency) that is wrong on every row is reported once with ``row=-1``.
    Blank payer fields are problems (budget-account mode is not supported).
    """
    return _find_problems(_Texts(df), len(df), allow_decimal)


def _sanitize(text: str) -> str:
    text = _WHITESPACE.sub(" ", _UNSAFE_IN_NOTE.sub(" ", text))
    return _FORMULA_LEAD.sub("", text).strip()


def sanitize_text(series) -> pd.Series:
    """Make free text CSV-safe: no separators, quotes, control characters or
    leading formula characters (= + - @); whitespace collapsed."""
    return pd.Series(_map(_texts(series), _sanitize), dtype=object)


def _format_amount(value: float, allow_decimal: bool) -> str:
    """One amount as text (rounding half to even, like ``numpy.rint``)."""
    if not math.isfinite(value):
        return ""
    if not allow_decimal:
        return str(round(value))
    cents = round(value * 100)
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), 100)
    frac = f"{frac:02d}".rstrip("0")
    return f"{sign}{units}.{frac}" if frac else f"{sign}{units}"


def _amount_texts(values, allow_decimal: bool) -> list[str]:
    amounts = _floats(values).tolist()
    texts = {value: _format_amount(value, allow_decimal) for value in set(amounts)}
    return [texts[value] for value in amounts]


def format_amounts(series, allow_decimal: bool = False) -> pd.Series:
    """Amounts as text: whole numbers as ``500``; with ``allow_decimal`` up to two
    decimals without trailing zeros (``12.5``). Missing amounts become ''."""
    values = series if isinstance(series, pd.Series) else np.asarray(series, object)
    return pd.Series(_amount_texts(values, allow_decimal), dtype=object)


def _render_lines(texts: _Texts, allow_decimal: bool) -> list[str]:
    """Rendered data lines (no line terminator); ``id`` renumbered from 0."""
    df = texts.df
    columns = [
        list(map(str, range(len(df)))),
        texts["request_id"],
        _map(texts["payment_mode"], str.lower),
        texts["payer_identifier_type"],
        texts["payer_identifier"],
        texts["payee_identifier_type"],
        texts["payee_identifier"],
        _amount_texts(df["amount"], allow_decimal),
        _map(texts["currency"], str.upper),
        _map(texts["note"], _sanitize),
    ]
    return list(map(",".join, zip(*columns, strict=True)))


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def render_csv(
    df: pd.DataFrame, *, allow_decimal: bool = False, max_bytes: int = MAX_FILE_BYTES
) -> str:
    """Validate and render the batch file: header + rows joined by LF, no final LF.

    Raises PheeValidationError (with every problem) or PheeFileTooBigError.
    """
    texts = _Texts(df)
    problems = _find_problems(texts, len(df), allow_decimal)
    if problems:
        raise PheeValidationError(problems)
    text = "\n".join([HEADER, *_render_lines(texts, allow_decimal)])
    size = _utf8_len(text)
    if size > max_bytes:
        raise PheeFileTooBigError(size, max_bytes)
    return text


def row_byte_sizes(df: pd.DataFrame, allow_decimal: bool = False) -> np.ndarray:
    """UTF-8 bytes each rendered row takes in ``render_csv(df)``, its LF included."""
    lines = _render_lines(_Texts(df), allow_decimal)
    return np.fromiter(map(_utf8_len, lines), dtype=np.int64, count=len(lines)) + 1


def split_to_fit(
    df: pd.DataFrame, max_bytes: int = MAX_FILE_BYTES, allow_decimal: bool = False
) -> list[tuple[int, int]]:
    """Greedy ``[start, stop)`` positional slices whose rendered file (header
    included, ``id`` renumbered from 0 per slice) fits in ``max_bytes``.

    Validate the frame first: sizes assume rows that ``render_csv`` accepts.
    """
    n = len(df)
    if n == 0:
        return []
    id_width = np.fromiter((len(str(i)) for i in range(n)), dtype=np.int64, count=n)
    base = row_byte_sizes(df, allow_decimal) - id_width  # row size without its id
    cum_base = np.concatenate(([0], np.cumsum(base)))
    cum_id = np.concatenate(([0], np.cumsum(id_width)))  # width of ids 0..k-1

    def size(start: int, stop: int) -> int:
        rows = cum_base[stop] - cum_base[start] + cum_id[stop - start]
        return len(HEADER) + int(rows)

    slices = []
    start = 0
    while start < n:
        if size(start, start + 1) > max_bytes:
            raise PheeFileTooBigError(size(start, start + 1), max_bytes)
        lo, hi = start + 1, n  # largest stop in [lo, hi] that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if size(start, mid) <= max_bytes:
                lo = mid
            else:
                hi = mid - 1
        slices.append((start, lo))
        start = lo
    return slices
