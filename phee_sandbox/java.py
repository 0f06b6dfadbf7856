"""Java-side behaviour the local server reproduces (JDK, Spring, MySQL, codec).

Line reading, splitting and trimming, dates, number formats, lenient Base64,
SQL ``LIKE`` and Spring Data pages, as PHEE's services produce them.
"""

from __future__ import annotations

import base64
import math
import re
import time
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal

JAVA_WHITESPACE = "".join(map(chr, range(33)))  # what String#trim() strips
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def now_ms() -> int:
    """Current time as epoch milliseconds (how PHEE serialises dates)."""
    return int(time.time() * 1000)


def java_date(ms: int) -> str:
    """``java.util.Date#toString`` in UTC, e.g. ``Wed Nov 26 13:27:00 UTC 2025``."""
    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(ms / 1000))


def iso_now() -> str:
    """Spring's error ``timestamp`` format."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def java_lines(text: str) -> list[str]:
    """Lines as ``BufferedReader#readLine`` yields them."""
    lines = _LINE_BREAK.split(text) if text else []
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def java_split(text: str) -> list[str]:
    """``String#split(",")``: trailing empty strings are dropped."""
    if "," not in text:
        return [text]
    parts = text.split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def lenient_b64decode(text: str) -> bytes | None:
    """Like commons-codec ``decodeBase64``: skips junk, accepts URL-safe letters."""
    cleaned = re.sub(r"[^A-Za-z0-9+/_-]", "", text).translate(str.maketrans("-_", "+/"))
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except ValueError:
        return None


def java_double(value: float) -> str:
    """``Double.toString`` for percentages (``50.0``, ``NaN``)."""
    return "NaN" if math.isnan(value) else repr(float(value))


def floor_percent(value: float) -> str:
    """``new DecimalFormat("#.##")`` with ``RoundingMode.FLOOR``."""
    if math.isnan(value):
        return "NaN"
    floored = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return format(floored.normalize(), "f")


def sql_like(pattern: str) -> re.Pattern:
    """SQL ``LIKE`` (``%``, ``_``; case-insensitive like MySQL) as a regex."""
    body = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern
    )
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def spring_page(items: list, page: int, size: int) -> dict:
    """A Spring Data ``Page`` of ``items`` (already filtered and sorted)."""
    content = items[page * size : (page + 1) * size]
    total_pages = math.ceil(len(items) / size)
    return {
        "content": content,
        "pageable": {
            "sort": {"sorted": False, "unsorted": True, "empty": True},
            "offset": page * size,
            "pageNumber": page,
            "pageSize": size,
            "paged": True,
            "unpaged": False,
        },
        "totalElements": len(items),
        "totalPages": total_pages,
        "last": page + 1 >= total_pages,
        "size": size,
        "number": page,
        "sort": {"sorted": False, "unsorted": True, "empty": True},
        "numberOfElements": len(content),
        "first": page == 0,
        "empty": not content,
    }
