"""Java-side behaviour the local server reproduces (JDK, Spring, MySQL, codec).

Line reading, splitting and trimming, dates, number formats, lenient Base64,
SQL ``LIKE``, Spring Data pages and Jackson's strict parse, as PHEE's services
produce them.
"""

from __future__ import annotations

import base64
import calendar
import json
import math
import re
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python 3.10+ has zoneinfo
    ZoneInfo = None
    ZoneInfoNotFoundError = KeyError

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


# ``DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")``: (start, width) of each
# number, the literal after it, and the field name Java reports out of range.
_DATE_FIELDS = (
    (0, 4, "-", "YearOfEra", 1, 999_999_999),
    (5, 2, "-", "MonthOfYear", 1, 12),
    (8, 2, " ", "DayOfMonth", 1, 31),
    (11, 2, ":", "HourOfDay", 0, 23),
    (14, 2, ":", "MinuteOfHour", 0, 59),
    (17, 2, "", "SecondOfMinute", 0, 59),
)
_FIXED_OFFSETS = {"UTC": 0, "GMT": 0, "Asia/Kolkata": 330, "Asia/Calcutta": 330}


def java_local_datetime(text: str) -> datetime:
    """``LocalDateTime.parse(text, ofPattern("yyyy-MM-dd HH:mm:ss"))`` (SMART).

    Returns a naive datetime; raises ValueError with the message of Java's
    ``DateTimeParseException``: the index where the text stops matching, the
    unparsed rest, or the field out of range. SMART resolving clamps a day past
    the month's end (``02-30`` is the 28th or 29th) and reads ``24:00:00`` as
    the next midnight, as ops-app ``DateUtil.getUTCFormat`` would.
    """
    values = []
    for start, width, literal, *_range in _DATE_FIELDS:
        digits = text[start : start + width]
        if len(digits) < width or not digits.isdigit() or not digits.isascii():
            raise ValueError(f"Text '{text}' could not be parsed at index {start}")
        values.append(int(digits))
        end = start + width
        if literal and text[end : end + 1] != literal:
            raise ValueError(f"Text '{text}' could not be parsed at index {end}")
    if len(text) > 19:
        raise ValueError(
            f"Text '{text}' could not be parsed, unparsed text found at index 19"
        )
    year, month, day, hour, minute, second = values
    next_day = hour == 24 and minute == second == 0
    for value, (*_pos, name, low, high) in zip(values, _DATE_FIELDS, strict=True):
        if next_day and name == "HourOfDay":
            continue
        if not low <= value <= high:
            valid = "1 - 28/31" if name == "DayOfMonth" else f"{low} - {high}"
            if name == "YearOfEra":
                valid = "1 - 999999999/1000000000"
            raise ValueError(
                f"Text '{text}' could not be parsed: Invalid value for {name} "
                f"(valid values {valid}): {value}"
            )
    day = min(day, calendar.monthrange(year, month)[1])
    parsed = datetime(year, month, day, 0 if next_day else hour, minute, second)
    return parsed + timedelta(days=1) if next_day else parsed


def zone(name: str):
    """A tzinfo for an IANA zone name; UTC and India also without tz data."""
    if ZoneInfo is not None:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if name in _FIXED_OFFSETS:
        return timezone(timedelta(minutes=_FIXED_OFFSETS[name]))
    raise ValueError(f"unknown time zone {name!r}")


def local_to_epoch_ms(local: datetime, tz) -> int:
    """Epoch ms of a wall-clock time in ``tz``: ``ZonedDateTime.of`` semantics
    (a time in a gap moves forward, an overlap takes the earlier offset)."""
    return int(local.replace(tzinfo=tz, fold=0).timestamp() * 1000)


def page_impl(items: list, page: int, size: int, total: int) -> dict:
    """``new PageImpl<>(content, pageable, total)`` of a page of ``items``.

    Spring Data adjusts ``total`` only on a last page (offset + size > total:
    offset + content size); ops-app ``/api/v1/transfers`` passes the query's
    *page count* as ``total``, so its totalElements is usually wrong.
    """
    content = items[page * size : (page + 1) * size]
    if content and page * size + size > total:
        total = page * size + len(content)
    body = spring_page(content, 0, max(size, 1))
    total_pages = math.ceil(total / size) if size else 1
    body.update(
        {
            "content": content,
            "pageable": {**body["pageable"], "offset": page * size, "pageNumber": page},
            "totalElements": total,
            "totalPages": total_pages,
            "last": page + 1 >= total_pages,
            "number": page,
            "size": size,
            "first": page == 0,
            "numberOfElements": len(content),
            "empty": not content,
        }
    )
    return body


_JAVA_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[btnfr'\"\\/])")
_JAVA_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r"}


def unescape_java(text: str) -> str:
    """commons-text ``StringEscapeUtils.unescapeJava`` for the common escapes."""

    def one(match):
        code = match.group(1)
        if code[0] == "u":
            return chr(int(code[1:], 16))
        return _JAVA_ESCAPES.get(code, code)

    return _JAVA_ESCAPE.sub(one, text)


def jackson_read_object(text: str | None, properties: tuple) -> dict | None:
    """A plain Jackson ``ObjectMapper.readValue(text, Bean)`` of a bean with
    String ``properties``: None where Jackson would throw (not JSON, not an
    object, an unknown property, an object or list in a String property).

    Like Jackson, whitespace before the value and text after it are ignored.
    Returns every property (missing ones None), as the bean serialises.
    """
    if not text:
        return None
    try:
        data, _end = json.JSONDecoder().raw_decode(text.lstrip(JAVA_WHITESPACE))
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= set(properties):
        return None
    if any(isinstance(v, (dict, list)) for v in data.values()):
        return None
    return {
        p: None if data.get(p) is None else java_string(data[p]) for p in properties
    }


def java_string(value) -> str:
    """How Jackson coerces a JSON scalar into a String property."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
