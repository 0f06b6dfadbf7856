"""Validation and rendering of PHEE bulk payment CSV files.

Rows are rendered in the canonical column order with no quoting at all: PHEE
splits each line on plain commas, so values that would need quoting are
rejected (identifiers) or sanitised (note) instead. Identifiers are also
refused when a spreadsheet would read them as a formula or when they hold
control or invisible characters.

Decimal amounts (``allow_decimal=True``) are only for deployments whose bulk
processor does not split batches: its splitting stage reads amounts as whole
numbers (``Long.parseLong``), so a split batch with decimals fails.

PHEE fails every row of a file after the first with the same payee and amount
("Duplicate transaction."): ``render_csv`` refuses such files and
``duplicate_rounds`` tells a caller how to spread those rows over files.

A frame given payee DFSPs (``with_payee_dfsp``) is written in the 14-column
layout (``const.DFSP_CSV_COLUMNS``) and every row needs a payee DFSP; one made
``for_budget_account`` leaves the payer columns empty, for PHEE to fill in
with the program's budget account. Both facts travel with the frame (its
``payee_dfsp_id`` column and ``attrs``), so its slices render the same way.

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

from .const import (
    CSV_COLUMNS,
    DFSP_CSV_COLUMNS,
    MAX_AMOUNT,
    MAX_FILE_BYTES,
    PAYER_COLUMNS,
    PAYMENT_MODES,
)
from .errors import PheeFileTooBigError, PheeValidationError, RowProblem

HEADER = ",".join(CSV_COLUMNS)
DFSP_HEADER = ",".join(DFSP_CSV_COLUMNS)
_DFSP = "payee_dfsp_id"
_BUDGET = "budget_account"  # key of the frame's attrs

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
_CONTROL = r"\x00-\x1f\x7f-\x9f"  # C0 (tab, CR, LF, ...), DEL and C1
# Invisible and direction-changing characters: soft hyphen, bidi marks,
# embeddings, overrides and isolates, zero-width characters, word joiner, BOM.
_INVISIBLE = r"\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
_FORMULA_LEADS = ("=", "+", "-", "@")
_CONTROL_RE = re.compile(f"[{_CONTROL}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_UNSAFE_IN_ID = re.compile(r"[,\"'\s]")  # commas, quotes and any whitespace
# Printable ASCII but space, comma and quotes: what identifiers are made of.
_SAFE_ASCII = bytes(c for c in range(0x21, 0x7F) if chr(c) not in ",\"'")
_LEAD_AFTER_NUL = re.compile(r"\0[=+\-@]")
_UNSAFE_IN_NOTE = re.compile(rf"[,\"';{_CONTROL}]")
_WHITESPACE = re.compile(r"\s+")
_FORMULA_LEAD = re.compile(r"^[=+\-@\s]+")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_CODES = {  # column: (test of a valid value, reason)
    "payment_mode": (
        lambda v: v.lower() in PAYMENT_MODES,
        "is not a PHEE payment mode",
    ),
    "currency": (_CURRENCY.fullmatch, "is not a 3-letter currency code"),
}
_MISSING = "is missing"
_AS_FORMULA = "which spreadsheets read as a formula"
_DUPLICATE = (
    "is paid the same amount in an earlier row of the file: PHEE would fail "
    "this payment as a duplicate"
)
# PHEE's de-duplication key (DeDuplicationRoute), in the order it joins them.
_DEDUP_KEY = ("payee_identifier", "payee_identifier_type", "amount", "currency")


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


def with_payee_dfsp(df: pd.DataFrame, payee_dfsp_ids) -> pd.DataFrame:
    """A copy of the frame with a payee DFSP per row (or one for all rows),
    rendered in the 14-column layout."""
    frame = df.copy()
    frame[_DFSP] = _per_row(payee_dfsp_ids, len(frame), "payee_dfsp_ids")
    return frame


def for_budget_account(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with empty payer columns, which PHEE fills in with
    the budget account of the submission's institution and program."""
    frame = df.copy()
    for column in PAYER_COLUMNS:
        frame[column] = [""] * len(frame)
    frame.attrs[_BUDGET] = True
    return frame


def is_budget_account(df: pd.DataFrame) -> bool:
    """Whether the frame leaves the payer to PHEE's budget account."""
    return bool(df.attrs.get(_BUDGET))


def header(df: pd.DataFrame) -> str:
    """The header row of the frame's file."""
    return DFSP_HEADER if _DFSP in df.columns else HEADER


class _Texts(dict):
    """Texts of a frame's columns, computed on first use."""

    def __init__(self, df: pd.DataFrame):
        super().__init__()
        self.df = df

    def __missing__(self, column: str) -> list[str]:
        self[column] = texts = _texts(self.df[column])
        return texts


def _amount_checks(amount, allow_decimal: bool):
    """Yield ``(failing rows mask, reason)``; a row fails one rule at most."""
    a = _floats(amount)
    with np.errstate(all="ignore"):
        units = a * 100 if allow_decimal else a  # the amount in the unit written
        off = np.abs(units - np.rint(units))
        # Float error of a * 100: 1 ulp at most for a two-decimal amount.
        tolerance = np.maximum(1e-6, 2 * np.spacing(np.abs(units)))
    rules = [
        (~np.isfinite(a), "is missing or not a number"),
        (a <= 0, "must be greater than zero"),
        (units > MAX_AMOUNT, "is too large for PHEE"),
    ]
    if allow_decimal:
        rules.append((np.rint(units) < 1, "must be at least 0.01"))
        rules.append((off > tolerance, "has more than 2 decimal places"))
    else:
        rules.append((off > 0, "must be a whole number"))
    left = np.ones(len(a), dtype=bool)
    for mask, reason in rules:
        yield mask & left, reason
        left &= ~mask


def _refusal(value: str) -> str | None:
    """Why an identifier cannot be written as is, or None."""
    text = value.strip()
    if not text:
        return _MISSING
    if _CONTROL_RE.search(value):
        return "contains a line break, tab or other control character"
    if _INVISIBLE_RE.search(value):
        return "contains an invisible or direction-changing character"
    if text[0] == "+":
        return f"starts with +, {_AS_FORMULA}: store phone numbers as digits only"
    if text.startswith(_FORMULA_LEADS):
        return f"starts with {text[0]}, {_AS_FORMULA}"
    if _UNSAFE_IN_ID.search(value):
        return "contains a comma, quote or whitespace"
    return None


def _refusals(uniques: set) -> dict[str, str]:
    """Reason for every distinct identifier that cannot be written as is."""
    # One pass over every value at once settles the usual case: NUL-separated
    # printable ASCII with no lead-in (a NUL inside a value is one NUL too many).
    joined = "\0" + "\0".join(uniques)
    if (
        joined.isascii()
        and len(joined.encode().translate(None, _SAFE_ASCII)) == len(uniques)
        and not _LEAD_AFTER_NUL.search(joined)
    ):
        return {"": _MISSING} if "" in uniques else {}
    return {value: reason for value in uniques if (reason := _refusal(value))}


def _value_reasons(field: str, uniques: set) -> dict[str, str]:
    """Reason for every refused distinct value of ``field``."""
    reasons = _refusals(uniques)
    if field in _CODES:  # a blank code gets the code's own reason
        valid, reason = _CODES[field]
        reasons = {v: r for v, r in reasons.items() if r != _MISSING}
        reasons.update((v, reason) for v in uniques - reasons.keys() if not valid(v))
    return reasons


def _rows_by_reason(values: list[str], reasons: dict) -> dict[str, list[int]]:
    grouped = {}
    if reasons:
        for row, value in enumerate(values):
            if value in reasons:
                grouped.setdefault(reasons[value], []).append(row)
    return grouped


def _checks(texts: _Texts, allow_decimal: bool):
    """Yield ``(field, failing rows, reason)`` for every rule."""
    budget = is_budget_account(texts.df)
    dfsp = (_DFSP,) if _DFSP in texts.df.columns else ()
    for field in (*_IDENTIFIERS, *dfsp, *_CODES):
        values = texts[field]
        uniques = set(values)
        reasons = _value_reasons(field, uniques)
        if budget and field in PAYER_COLUMNS:  # PHEE fills them in
            reasons = {v: r for v, r in reasons.items() if r != _MISSING}
        for reason, rows in _rows_by_reason(values, reasons).items():
            yield field, rows, reason
        if field == "request_id" and len(uniques) < len(values):
            seen = set()
            duplicated = []
            for row, rid in enumerate(values):
                if rid in seen and rid != "":
                    duplicated.append(row)
                seen.add(rid)
            yield field, duplicated, "is used twice in the batch"
    for mask, reason in _amount_checks(texts.df["amount"], allow_decimal):
        yield "amount", np.flatnonzero(mask).tolist(), reason


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
    Blank payer fields are problems unless the frame is for a budget account;
    with a ``payee_dfsp_id`` column a blank DFSP is one.
    Pass ``allow_decimal=True`` only when PHEE does not split batches (see the
    module docstring). Rows PHEE would take as duplicates are not problems
    here: they can be paid in separate files (``duplicate_rounds``).
    """
    return _find_problems(_Texts(df), len(df), allow_decimal)


def _sanitize(text: str) -> str:
    text = _INVISIBLE_RE.sub("", text)
    text = _WHITESPACE.sub(" ", _UNSAFE_IN_NOTE.sub(" ", text))
    return _FORMULA_LEAD.sub("", text).strip()


def sanitize_text(series) -> pd.Series:
    """Make free text CSV-safe: no separators, quotes, control or invisible
    characters or leading formula characters (= + - @); whitespace collapsed."""
    return pd.Series(_map(_texts(series), _sanitize), dtype=object)


def _format_amount(value: float, allow_decimal: bool) -> str:
    """One amount as text (rounding half to even, like ``numpy.rint``)."""
    scaled = value * 100 if allow_decimal else value
    if not math.isfinite(scaled):
        return ""
    if not allow_decimal:
        return str(round(value))
    cents = round(scaled)
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


def _render_columns(texts: _Texts, allow_decimal: bool) -> dict[str, list[str]]:
    """Rendered texts of every column; ``id`` renumbered from 0."""
    df = texts.df
    columns = {
        "id": list(map(str, range(len(df)))),
        "request_id": texts["request_id"],
        "payment_mode": _map(texts["payment_mode"], str.lower),
        "payer_identifier_type": texts["payer_identifier_type"],
        "payer_identifier": texts["payer_identifier"],
        "payee_identifier_type": texts["payee_identifier_type"],
        "payee_identifier": texts["payee_identifier"],
        "amount": _amount_texts(df["amount"], allow_decimal),
        "currency": _map(texts["currency"], str.upper),
        "note": _map(texts["note"], _sanitize),
    }
    if _DFSP in df.columns:
        empty = [""] * len(df)
        columns.update(program_shortcode=empty, cycle=empty, payee_dfsp_id=texts[_DFSP])
        columns["batch_id"] = empty
    return columns


def _lines(columns: dict[str, list[str]]) -> list[str]:
    """Data lines, without line terminator."""
    return list(map(",".join, zip(*columns.values(), strict=True)))


def _rounds(*key_columns: list[str]) -> np.ndarray:
    """Occurrence index of each row's key: 0 for the first row with it, 1, ..."""
    # PHEE's key is the values concatenated, with no separator.
    keys = list(map("".join, zip(*key_columns, strict=True)))
    if len(set(keys)) == len(keys):
        return np.zeros(len(keys), dtype=np.int64)
    series = pd.Series(keys, dtype=object)
    return series.groupby(series, sort=False).cumcount().to_numpy()


def duplicate_rounds(df: pd.DataFrame, allow_decimal: bool = False) -> np.ndarray:
    """For each row, how many earlier rows PHEE would take for the same payment
    (same payee identifier and type, rendered amount and currency): 0 for the
    first row with its key, 1 for the second, ...

    Rows of one round never share a key, so files that each hold rows of a
    single round are never refused by ``render_csv`` for duplicates.
    """
    texts = _Texts(df)
    return _rounds(
        list(map(str.strip, texts["payee_identifier"])),
        _map(texts["payee_identifier_type"], str.strip),
        _amount_texts(df["amount"], allow_decimal),
        _map(texts["currency"], lambda v: v.strip().upper()),
    )


def duplicate_rows(df: pd.DataFrame, allow_decimal: bool = False) -> list[int]:
    """Positions of the rows PHEE would fail as "Duplicate transaction."."""
    return np.flatnonzero(duplicate_rounds(df, allow_decimal)).tolist()


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def render_csv(
    df: pd.DataFrame,
    *,
    allow_decimal: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
    validated: bool = False,
) -> str:
    """Validate and render the batch file: header + rows joined by LF, no final LF.

    Raises PheeValidationError (with every problem of ``find_problems``, or
    else every row PHEE would fail as a duplicate) or PheeFileTooBigError.
    Pass ``allow_decimal=True`` only when PHEE does not split batches, and
    ``validated=True`` only for rows ``find_problems`` found no problem in
    (in this frame or in one it is a slice of, with the same
    ``allow_decimal``): they are not checked again (in a file of 500 rows,
    that takes twice as long as rendering them).
    """
    texts = _Texts(df)
    problems = [] if validated else _find_problems(texts, len(df), allow_decimal)
    if problems:
        raise PheeValidationError(problems)
    columns = _render_columns(texts, allow_decimal)
    repeated = np.flatnonzero(_rounds(*(columns[c] for c in _DEDUP_KEY))).tolist()
    if repeated:
        refs = texts["request_id"]
        raise PheeValidationError(
            [RowProblem(r, refs[r], "payee_identifier", _DUPLICATE) for r in repeated]
        )
    text = "\n".join([header(df), *_lines(columns)])
    size = _utf8_len(text)
    if size > max_bytes:
        raise PheeFileTooBigError(size, max_bytes)
    return text


def row_byte_sizes(df: pd.DataFrame, allow_decimal: bool = False) -> np.ndarray:
    """UTF-8 bytes each rendered row takes in ``render_csv(df)``, its LF included."""
    lines = _lines(_render_columns(_Texts(df), allow_decimal))
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
    head = len(header(df))
    id_width = np.fromiter((len(str(i)) for i in range(n)), dtype=np.int64, count=n)
    base = row_byte_sizes(df, allow_decimal) - id_width  # row size without its id
    cum_base = np.concatenate(([0], np.cumsum(base)))
    cum_id = np.concatenate(([0], np.cumsum(id_width)))  # width of ids 0..k-1

    def size(start: int, stop: int) -> int:
        rows = cum_base[stop] - cum_base[start] + cum_id[stop - start]
        return head + int(rows)

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
