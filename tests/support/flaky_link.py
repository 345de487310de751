"""A flaky link for tests: an HTTP-aware TCP proxy on 127.0.0.1 between a station's sync client and central.

Every connection carries one HTTP/1.1 request (the station's client closes after each reply). Per connection, a
random generator seeded from the seed and the connection's number decides whether a fault applies and which (faults
not used yet are favoured, so a run exercises them all), so a failing seed reproduces; every fault is logged with
the connection's number, method and path. Faults:

- ``drop_before``: the request is read, never forwarded; the connection is closed.
- ``drop_after``: the request is forwarded and answered by central, but the reply is never passed on.
- ``delay``: the request waits a little before it is forwarded.
- ``cut_request``: part of the body is forwarded, then both connections close (central sees an unfinished request).
- ``short_request``: the body is cut and its Content-Length shortened to match, so central receives a complete
  request of truncated bytes (a broken middlebox); the station hears nothing.
- ``truncate_response``: central answers in full; the station receives only part of the reply.
- ``duplicate``: the same PUT is delivered to central twice; the station hears the second answer.
- ``reorder``: the request is held (the station's connection is closed) and delivered to central after one to four
  later requests have passed — often after the station sent the same range again.

Connections are served one at a time in arrival order (the station's sync client is sequential), which keeps the
sequence of decisions — and so the run — a function of the seed.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

BODY_FAULTS = ("cut_request", "short_request", "duplicate", "reorder")
ANY_FAULTS = ("drop_before", "drop_after", "delay", "truncate_response")
FAULTS = ANY_FAULTS + BODY_FAULTS
_CONTENT_LENGTH = re.compile(rb"^content-length:\s*(\d+)\s*$", re.I | re.M)


@dataclass
class Request:
    method: str
    path: str
    head: bytes  # request line and headers, ending with the blank line
    body: bytes

    def wire(self) -> bytes:
        return self.head + self.body

    def shortened(self, length: int) -> Request:
        lines = [
            b"Content-Length: %d" % length if line.lower().startswith(b"content-length:") else line
            for line in self.head.split(b"\r\n")
        ]
        head = b"\r\n".join(lines)
        return Request(self.method, self.path, head, self.body[:length])


@dataclass
class Fault:
    connection: int
    kind: str
    method: str
    path: str
    detail: str = ""


@dataclass
class FlakyLink:
    """``with FlakyLink(central_url, seed) as link:`` — point a station's CENTRAL_URL at ``link.url``."""

    upstream: str
    seed: int
    fault_rate: float = 0.5
    timeout: float = 30.0  # for central's replies (no fault stalls: each one closes the station's connection)
    faults: list[Fault] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    shortened: list[str] = field(default_factory=list)  # paths whose body central received truncated
    clean: bool = False
    planned: list[str | None] = field(
        default_factory=list
    )  # decisions to take first, in order (the link's tests)

    def __post_init__(self) -> None:
        target = urllib.parse.urlsplit(self.upstream)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self._rng = random.Random(
            self.seed
        )  # replaced per connection, so one reply's size cannot shift the rest
        self._held: list[list] = []  # [request, how many later requests still pass before it]
        self._connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="flaky-link", daemon=True)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> FlakyLink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)
        self._listener.close()

    def log(self) -> str:
        return "\n".join(
            f"#{f.connection} {f.kind} {f.method} {f.path} {f.detail}".rstrip() for f in self.faults
        )

    def flush(self) -> None:
        """Deliver every held request now (used before the clean round, so nothing arrives after the end)."""
        for entry in self._held:
            entry[1] = 0
        self._deliver_due()

    def _deliver_due(self) -> None:
        due = [request for request, later in self._held if later <= 0]
        self._held = [entry for entry in self._held if entry[1] > 0]
        for request in due:
            with contextlib.suppress(
                OSError
            ):  # central did not answer in time: the held request is simply lost
                self._exchange(request)

    # --- serving ------------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(self.timeout)
                self._connections += 1
                with contextlib.suppress(OSError):  # the station gave up (its own timeout); it retries
                    self._handle(conn, self._connections)

    def _choose(self, request: Request) -> str | None:
        if self.planned:
            return self.planned.pop(0)
        if self.clean or self._rng.random() >= self.fault_rate:
            return None
        allowed = list(ANY_FAULTS) + (list(BODY_FAULTS) if request.method == "PUT" and request.body else [])
        unused = [kind for kind in allowed if not self.counts[kind]]
        if unused and self._rng.random() < 0.7:
            return self._rng.choice(unused)
        return self._rng.choice(allowed)

    def _note(self, connection: int, kind: str, request: Request, detail: str = "") -> None:
        self.counts[kind] += 1
        self.faults.append(Fault(connection, kind, request.method, request.path, detail))

    def _handle(self, conn: socket.socket, number: int) -> None:
        request = _read_request(conn)
        if request is None:
            return
        self._rng = random.Random(f"{self.seed}/{number}")
        kind = self._choose(request)
        if kind is None:
            conn.sendall(self._exchange(request))
        elif kind == "drop_before":
            self._note(number, kind, request)
            return
        elif kind == "drop_after":
            reply = self._exchange(request)
            self._note(number, kind, request, _status(reply))
            return
        elif kind == "delay":
            pause = self._rng.uniform(0.05, 0.4)
            self._note(number, kind, request, f"{pause:.2f}s")
            time.sleep(pause)
            conn.sendall(self._exchange(request))
        elif kind == "cut_request":
            keep = self._rng.randrange(len(request.body))  # past 512 KB waitress buffers it in a temp file
            self._note(number, kind, request, f"{keep}/{len(request.body)} bytes")
            with socket.create_connection(self._target, timeout=self.timeout) as up:
                up.sendall(request.head + request.body[:keep])
            return
        elif kind == "short_request":
            keep = self._rng.randrange(1, len(request.body))
            self._note(number, kind, request, f"{keep}/{len(request.body)} bytes")
            self.shortened.append(request.path)
            self._exchange(request.shortened(keep))
            return
        elif kind == "truncate_response":
            reply = self._exchange(request)
            keep = self._rng.randrange(1, len(reply)) if len(reply) > 1 else 0
            self._note(number, kind, request, f"{_status(reply)} {keep}/{len(reply)} bytes")
            conn.sendall(reply[:keep])
            return
        elif kind == "duplicate":
            first = self._exchange(request)
            second = self._exchange(request)
            self._note(number, kind, request, f"{_status(first)} then {_status(second)}")
            conn.sendall(second)
        elif kind == "reorder":
            later = self._rng.randint(1, 4)
            self._note(number, kind, request, f"held for {later} later requests")
            self._held.append([request, later])
            return
        for entry in self._held:  # a request passed: what was held for it arrives after it
            entry[1] -= 1
        self._deliver_due()

    def _exchange(self, request: Request) -> bytes:
        """Send one request to central and read its whole reply (central closes: the request says so)."""
        with socket.create_connection(self._target, timeout=self.timeout) as up:
            up.sendall(request.wire())
            chunks = []
            while chunk := up.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _status(reply: bytes) -> str:
    line = reply.split(b"\r\n", 1)[0]
    return line.split(b" ", 2)[1].decode("ascii", "replace") if b" " in line else "no reply"


def _read_request(conn: socket.socket) -> Request | None:
    """One request with a Content-Length body (the station's client never sends chunked bodies)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    head, body = data[:end], data[end:]
    if b"transfer-encoding" in head.lower():
        raise AssertionError("the flaky link only carries requests with a Content-Length")
    match = _CONTENT_LENGTH.search(head.replace(b"\r\n", b"\n"))
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    method, path = head.split(b" ", 2)[:2]
    head = _with_close(head)
    return Request(method.decode("ascii"), path.decode("ascii"), head, body[:length])


def _with_close(head: bytes) -> bytes:
    """Every forwarded request asks central to close after replying, so a reply is read to its end."""
    lines = [line for line in head.split(b"\r\n") if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])
