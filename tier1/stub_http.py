"""A loopback HTTP stub whose answers are scripted byte by byte, for fault tests
of phee.client (dripping, oversized, hostile answers). Every script is bounded
in time and size and stops when the stub is closed."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from urllib.parse import parse_qs, urlsplit

MAX_SCRIPT_SECONDS = 15


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        stub = self.server.stub
        sock = self.request
        sock.settimeout(5)
        while not stub.stopped.is_set():
            request = _read_request(sock)
            if request is None:
                return
            stub.seen.append(request)
            script = stub.script(request)
            try:
                keep_open = script(_Writer(sock, stub.stopped))
            except OSError:  # the client gave up: what the fault tests expect
                return
            if not keep_open:
                return


def _read_request(sock) -> dict | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk or len(data) > 1_000_000:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return {"method": method, "path": parts.path, "query": query, "headers": headers}


class _Writer:
    """What a script may do: send bytes, drip them, or wait."""

    def __init__(self, sock, stopped: threading.Event):
        self.sock = sock
        self.stopped = stopped
        self.sent = 0
        self.started = time.monotonic()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def drip(self, data: bytes, every: float) -> None:
        """One byte every ``every`` seconds, for as long as the script may run."""
        for i in range(len(data)):
            if self._over():
                return
            self.send(data[i : i + 1])
            self.stopped.wait(every)

    def _over(self) -> bool:
        late = time.monotonic() - self.started > MAX_SCRIPT_SECONDS
        return late or self.stopped.is_set()


def reply(status: int, body, *, headers: dict | None = None) -> bytes:
    """A complete HTTP/1.1 answer (JSON for non-bytes bodies)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(data)}"]
    headers = {"Content-Type": "application/json", **(headers or {})}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


class StubServer:
    """``with StubServer(script) as stub``: ``script(request) -> callable(writer)``
    returning True to keep the connection open for another request."""

    def __init__(self, script):
        self.script = script
        self.seen: list[dict] = []
        self.stopped = threading.Event()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self
        base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.endpoints = {
            "payment_endpoint_url": f"{base}/batchtransactions",
            "status_endpoint_url": f"{base}/api/v1/batch",
            "details_endpoint_url": f"{base}/api/v1/batch/detail",
            "batches_endpoint_url": f"{base}/api/v1/batches",
            "auth_endpoint_url": f"{base}/oauth/token",
        }

    def __enter__(self) -> StubServer:
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()


def canned(*answers):
    """A script answering each request with the next of ``answers`` (the last one
    repeats): ``(status, body)`` pairs."""
    queue = list(answers)

    def script(request):
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        return lambda w: (w.send(reply(status, body)), True)[1]

    return script
