"""Vectorised validation and rendering of PHEE bulk payment CSV files.

Rows are rendered in the canonical column order with no quoting at all: PHEE
splits each line on plain commas, so values that would need quoting are
rejected (identifiers) or sanitised (note) instead.
"""

from __future__ import annotations

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
_UNSAFE_IN_ID = r"[,\"'\s]"  # commas, quotes and any whitespace
_UNSAFE_IN_NOTE = r"[,\"';\x00-\x1f\x7f]"  # includes \t \r \n
_FORMULA_LEAD = r"^[=+\-@\s]+"


def _text(values) -> pd.Series:
    """Positional text Series; missing values (None, NaN) become ''."""
    s = pd.Series(np.asarray(values, dtype=object), dtype=object)
    return s.where(s.notna(), "").astype(str)


def _on_uniques(s: pd.Series, fn) -> pd.Series:
    """Apply a vectorised ``fn`` to the distinct values only, then broadcast back.

    Batch-wide columns hold one value, so this turns most work into O(1).
    """
    codes, uniques = pd.factorize(s)
    result = np.asarray(fn(pd.Series(uniques, dtype=object).astype(str)))
    return pd.Series(result[codes])


def _per_row(values, n: int, name: str) -> pd.Series:
    if values is None or isinstance(values, str) or np.ndim(values) == 0:
        return _text([values] * n)
    s = _text(values)
    if len(s) != n:
        raise ValueError(f"{name} has {len(s)} values, expected {n}")
    return s


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
    rids = _text(request_ids)
    n = len(rids)
    amount = pd.to_numeric(
        pd.Series(np.asarray(amounts, dtype=object), dtype=object), errors="coerce"
    ).astype(float)
    if len(amount) != n:
        raise ValueError(f"amounts has {len(amount)} values, expected {n}")
    columns = {
        "id": np.arange(n),
        "request_id": rids.str.strip(),
        "payment_mode": _per_row(payment_mode, n, "payment_mode").str.strip(),
        "payer_identifier_type": _per_row(payer_identifier_type, n, "").str.strip(),
        "payer_identifier": _per_row(payer_identifier, n, "").str.strip(),
        "payee_identifier_type": _per_row(
            payee_identifier_types, n, "payee_identifier_types"
        ).str.strip(),
        "payee_identifier": _per_row(
            payee_identifiers, n, "payee_identifiers"
        ).str.strip(),
        "amount": amount,
        "currency": _per_row(currency, n, "currency").str.strip(),
        "note": _per_row(note, n, "note"),
    }
    return pd.DataFrame(columns, columns=list(CSV_COLUMNS))


def _amount_checks(amount: pd.Series, allow_decimal: bool):
    a = pd.to_numeric(amount, errors="coerce").astype(float).to_numpy()
    finite = np.isfinite(a)
    yield "amount", ~finite, "is missing or not a number"
    yield "amount", finite & (a <= 0), "must be greater than zero"
    if allow_decimal:
        cents = a * 100
        extra = finite & (np.abs(cents - np.rint(cents)) > 1e-6)
        yield "amount", extra, "has more than 2 decimal places"
    else:
        yield "amount", finite & (a != np.floor(a)), "must be a whole number"


def _checks(df: pd.DataFrame, allow_decimal: bool):
    """Yield ``(field, boolean mask, reason)`` for every rule."""
    text = {c: _text(df[c]) for c in _IDENTIFIERS + ("payment_mode", "currency")}
    rid = text["request_id"]
    for field in _IDENTIFIERS:
        blank = _on_uniques(text[field], lambda u: u.str.strip() == "")
        yield field, blank, "is missing"
        unsafe = _on_uniques(text[field], lambda u: u.str.contains(_UNSAFE_IN_ID))
        yield field, unsafe & ~blank, "contains a comma, quote or whitespace"
    yield "request_id", (rid != "") & rid.duplicated(), "is used twice in the batch"
    mode = _on_uniques(
        text["payment_mode"], lambda u: u.str.lower().isin(PAYMENT_MODES)
    )
    yield "payment_mode", ~mode, "is not a PHEE payment mode"
    cur = _on_uniques(text["currency"], lambda u: u.str.fullmatch("[A-Za-z]{3}"))
    yield "currency", ~cur, "is not a 3-letter currency code"
    yield from _amount_checks(df["amount"], allow_decimal)


def find_problems(df: pd.DataFrame, *, allow_decimal: bool = False) -> list[RowProblem]:
    """Every validation problem of the frame, ordered by row.

    Rows are positional. A batch-wide column (payment mode, payer fields,
    currency) that is wrong on every row is reported once with ``row=-1``.
    Blank payer fields are problems (budget-account mode is not supported).
    """
    n = len(df)
    if n == 0:
        return [RowProblem(-1, "", "rows", "the batch has no rows")]
    refs = _text(df["request_id"]).to_numpy()
    problems = []
    for field, mask, reason in _checks(df.reset_index(drop=True), allow_decimal):
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        if field in _BATCH_WIDE and len(rows) == n:
            problems.append(RowProblem(-1, "", field, reason))
            continue
        problems.extend(
            RowProblem(int(r), refs[r] or f"#{r}", field, reason) for r in rows
        )
    problems.sort(key=lambda p: p.row)
    return problems


def sanitize_text(series) -> pd.Series:
    """Make free text CSV-safe: no separators, quotes, control characters or
    leading formula characters (= + - @); whitespace collapsed."""
    return _on_uniques(
        _text(series),
        lambda u: (
            u.str.replace(_UNSAFE_IN_NOTE, " ", regex=True)
            .str.replace(r"\s+", " ", regex=True)
            .str.replace(_FORMULA_LEAD, "", regex=True)
            .str.strip()
        ),
    )


def format_amounts(series, allow_decimal: bool = False) -> pd.Series:
    """Amounts as text: whole numbers as ``500``; with ``allow_decimal`` up to two
    decimals without trailing zeros (``12.5``). Missing amounts become ''."""
    a = pd.to_numeric(pd.Series(np.asarray(series, dtype=object)), errors="coerce")
    a = a.astype(float).to_numpy()
    ok = np.isfinite(a)
    if not allow_decimal:
        whole = pd.Series(np.where(ok, np.rint(a), 0).astype(np.int64))
        out = _on_uniques(whole, lambda u: u)  # int -> str, once per distinct value
    else:
        cents = np.where(ok, np.rint(a * 100), 0).astype(np.int64)
        sign = pd.Series(np.where(cents < 0, "-", ""), dtype=object).astype(str)
        cents = np.abs(cents)
        units = pd.Series(cents // 100).astype(str)
        frac = pd.Series(cents % 100).astype(str).str.zfill(2).str.rstrip("0")
        out = sign + units + ("." + frac).where(frac != "", "")
    return out.where(ok, "")


def _render_lines(df: pd.DataFrame, allow_decimal: bool) -> pd.Series:
    """Rendered data lines (no line terminator); ``id`` renumbered from 0."""
    df = df.reset_index(drop=True)
    parts = [
        pd.Series(np.arange(len(df))).astype(str),
        _text(df["request_id"]),
        _on_uniques(_text(df["payment_mode"]), lambda u: u.str.lower()),
        _text(df["payer_identifier_type"]),
        _text(df["payer_identifier"]),
        _text(df["payee_identifier_type"]),
        _text(df["payee_identifier"]),
        format_amounts(df["amount"], allow_decimal),
        _on_uniques(_text(df["currency"]), lambda u: u.str.upper()),
        sanitize_text(df["note"]),
    ]
    return parts[0].str.cat(parts[1:], sep=",")


def render_csv(
    df: pd.DataFrame, *, allow_decimal: bool = False, max_bytes: int = MAX_FILE_BYTES
) -> str:
    """Validate and render the batch file: header + rows joined by LF, no final LF.

    Raises PheeValidationError (with every problem) or PheeFileTooBigError.
    """
    problems = find_problems(df, allow_decimal=allow_decimal)
    if problems:
        raise PheeValidationError(problems)
    text = "\n".join([HEADER, *_render_lines(df, allow_decimal).tolist()])
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise PheeFileTooBigError(size, max_bytes)
    return text


def row_byte_sizes(df: pd.DataFrame, allow_decimal: bool = False) -> np.ndarray:
    """UTF-8 bytes each rendered row takes in ``render_csv(df)``, its LF included."""
    lines = _render_lines(df, allow_decimal)
    return lines.str.encode("utf-8").str.len().to_numpy(dtype=np.int64) + 1


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
    id_width = pd.Series(np.arange(n)).astype(str).str.len().to_numpy(dtype=np.int64)
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
