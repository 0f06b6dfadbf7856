"""HTTP plumbing of the local PHEE server: requests, replies, the stdlib server.

``Request`` and ``Reply`` are what route handlers see, ``Abort`` answers at once
from inside a check, and ``LocalHTTPServer`` serves a ``PheeServer`` on threads.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .java import iso_now

if TYPE_CHECKING:
    from .app import PheeServer

_log = logging.getLogger(__package__)

_MAX_BODY = 16 * 1024 * 1024


@dataclasses.dataclass
class Request:
    """What a handler needs from one HTTP request (headers are case-insensitive)."""

    method: str
    path: str
    query: dict
    headers: object  # email.message.Message from http.server
    body: bytes
    params: dict = dataclasses.field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclasses.dataclass
class Reply:
    """An HTTP answer; ``body`` is JSON-encoded unless str/bytes/None."""

    status: int
    body: object = None
    content_type: str | None = None
    headers: dict = dataclasses.field(default_factory=dict)
    reset: bool = False  # close the socket without answering

    def encode(self) -> tuple[bytes, str | None]:
        if self.body is None:
            return b"", self.content_type
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain;charset=UTF-8"
        return json.dumps(self.body).encode(), "application/json"


class Abort(Exception):
    """Raised by helpers to answer at once with ``reply``."""

    def __init__(self, reply: Reply):
        super().__init__(reply.status)
        self.reply = reply


def spring_error(status: int, message: str, path: str) -> Reply:
    phrase = HTTPStatus(status).phrase
    return Reply(
        status,
        {
            "timestamp": iso_now(),
            "status": status,
            "error": phrase,
            "message": message,
            "path": path,
        },
    )


def mapper_error(message: str) -> Reply:
    """bulk processor ``GlobalExceptionMapper`` answer for any exception."""
    return Reply(500, {"responseCode": "01", "responseDescription": message})


def unauthorized(code: str, description: str) -> Reply:
    challenge = (
        f'Bearer realm="oauth2-resource", error="{code}", '
        f'error_description="{description}"'
    )
    return Reply(
        401,
        {"error": code, "error_description": description},
        headers={"WWW-Authenticate": challenge},
    )


def first_values(query: str) -> dict:
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


class LocalHTTPServer(ThreadingHTTPServer):
    """Server answering each connection on a bounded pool of threads, that can
    drop its open connections on stop.

    A thread per connection, as the stdlib does, was seen to hang the server
    for good after about a million requests: the accepting thread waited
    forever for a new thread that never signalled its start.
    """

    daemon_threads = True
    # Connections served at once (Spring Boot's Tomcat defaults to 200);
    # more wait to be accepted. An idle keep-alive connection holds its thread
    # until the handler's timeout.
    max_threads = 200

    def __init__(self, address, app: PheeServer):
        self.app = app
        self._open: set = set()
        self._open_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.max_threads, "phee-local-http")
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self):
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        return super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                _log.debug("connection already closed")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle and
    # delayed ACKs add about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "phee-local"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_request(self, code="-", size="-"):
        """Silenced: the request line carries the token call's password."""

    def log_message(self, fmt, *args):
        """Only the message template: arguments may hold the request line."""
        _log.debug("http.server: %s", fmt)

    def _serve(self, method: str) -> None:
        app: PheeServer = self.server.app
        url = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.send_error(413 if length > 0 else 400)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        req = Request(method, url.path, first_values(url.query), self.headers, body)
        try:
            reply = app.dispatch(req)
        except Exception:
            _log.exception("local PHEE server failed on %s %s", method, url.path)
            reply = spring_error(500, "Internal Server Error", url.path)
        # Logged before answering, so a client that got the answer finds it logged.
        status = None if reply.reset or app.stopping else reply.status
        app.state.log_request(method, url.path, status)
        _log.debug("%s %s -> %s", method, url.path, status)
        if status is None:
            self._reset()
        else:
            self._write(reply)
        app.deliver_callbacks()

    def _write(self, reply: Reply) -> None:
        data, content_type = reply.encode()
        try:
            self.send_response(reply.status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the client sees a connection reset."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        except OSError:
            _log.debug("connection already closed before the reset")
        self.connection.close()
        self.rfile.close()
