"""A total deadline per call and a cap on answer size, below ``requests``.

Socket timeouts bound each read, not a call: a server sending one byte every
half second keeps a read timeout of one second from ever firing. A watchdog
therefore shuts the call's sockets down when its deadline passes, which ends a
blocked read at once. Sockets are registered when a request is written on them
(connections of :class:`GuardedAdapter`) and when an answer's body is read
(any session).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import PheeConnectionError, PheeError, PheeTimeoutError

_CHUNK = 16 * 1024  # also bounds what one decompressed chunk can grow to
_current = threading.local()


class Watchdog:
    """Context manager: shuts down the watched connections after ``seconds``."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._watched: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def watch(self, conn) -> None:
        """Shut ``conn`` down at the deadline (at once if it has passed)."""
        if conn is None:
            return
        with self._lock:
            if not any(c is conn for c in self._watched):
                self._watched.append(conn)
            if not self.fired:
                return
        _shutdown(conn)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            watched = list(self._watched)
        for conn in watched:
            _shutdown(conn)

    def __enter__(self) -> Watchdog:
        _current.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()
        _current.watchdog = None


def _shutdown(conn) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:  # the plain socket call, also for TLS: it wakes a blocked read
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _watch(conn) -> None:
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(conn)


class _Watched:
    """Connection mixin: registers itself with the running call's watchdog."""

    def request(self, *args, **kwargs):
        _watch(self)
        return super().request(*args, **kwargs)


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An adapter (no retries) whose connections the watchdog can shut down."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPPool,
            "https": _HTTPSPool,
        }


class TooLarge(Exception):
    """The answer is longer than allowed."""


def read_body(resp, max_bytes: int, *, truncate: bool = False) -> bytes:
    """The body of a streamed answer, at most ``max_bytes`` of it.

    Beyond that, raises TooLarge, or with ``truncate`` returns the first
    ``max_bytes``; either way the rest is never read.
    """
    _watch(getattr(resp.raw, "connection", None))
    declared = resp.headers.get("Content-Length", "")
    if not truncate and declared.isdigit():
        if len(declared) > 18 or int(declared) > max_bytes:
            raise TooLarge
    parts, size = [], 0
    for chunk in resp.iter_content(_CHUNK):
        parts.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            if not truncate:
                raise TooLarge
            break
    return b"".join(parts)[:max_bytes]


@dataclass(frozen=True)
class Answer:
    """Status and (size-capped) body of one HTTP answer."""

    status_code: int
    content: bytes
    location: str | None = None  # the Location header of a redirect

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def _not_delivered(exc: BaseException) -> bool:
    """True when the exception chain shows the connection was never made."""
    seen, stack = set(), [exc]
    while stack:
        err = stack.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, (NewConnectionError, ConnectTimeoutError)):
            return True
        linked = (getattr(err, "reason", None), err.__cause__, err.__context__)
        stack.extend(e for e in (*linked, *err.args) if isinstance(e, BaseException))
    return False


def transport_error(exc: Exception, where: str) -> PheeError:
    """The typed error of a failed exchange: was the request delivered?"""
    errors = requests.exceptions
    if isinstance(exc, errors.ConnectTimeout):
        return PheeConnectionError(f"PHEE connect timeout ({where})")
    if isinstance(exc, errors.ReadTimeout):
        return PheeTimeoutError(f"PHEE did not answer in time ({where})")
    if isinstance(exc, errors.SSLError):
        return PheeConnectionError(
            f"TLS handshake with PHEE failed ({where}); check the certificate"
        )
    if isinstance(exc, errors.ConnectionError) and _not_delivered(exc):
        return PheeConnectionError(f"Cannot connect to PHEE ({where})")
    if isinstance(exc, (errors.ConnectionError, errors.ChunkedEncodingError, OSError)):
        return PheeTimeoutError(
            f"The connection to PHEE broke before an answer ({where})"
        )
    return PheeTimeoutError(f"PHEE request failed: {type(exc).__name__} ({where})")
