"""JSON parsing that bounds what a hostile answer can cost.

Python turns a long digit string into an int in quadratic time, and a number
such as ``1e1000000`` becomes ruinous once converted to a Decimal or an int
downstream. Numbers longer than any PHEE field could need are refused while
parsing, as are NaN and Infinity, and nesting too deep for the parser.
"""

from __future__ import annotations

import json

MAX_INT_DIGITS = 30
MAX_FLOAT_CHARS = 40


class UnsafeJSONError(ValueError):
    """The text is not JSON, or holds a number or nesting beyond the bounds."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UnsafeJSONError(f"integer longer than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_FLOAT_CHARS:
        raise UnsafeJSONError(f"number longer than {MAX_FLOAT_CHARS} characters")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise UnsafeJSONError("number out of range")
    return value


def _constant(name: str):
    raise UnsafeJSONError(f"{name} is not a JSON number")


def loads(text: str | bytes):
    """``json.loads`` with bounded numbers; raises UnsafeJSONError, never more."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except UnsafeJSONError:
        raise
    except RecursionError:
        raise UnsafeJSONError("nesting too deep") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise UnsafeJSONError(str(exc)[:200]) from None
