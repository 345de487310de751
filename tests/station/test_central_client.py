"""The station's HTTP client to central: a reply cut off before its Content-Length is a failure, not a reply."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from station.errors import SyncError
from station.services.central_client import CentralClient


@contextmanager
def one_reply(reply: bytes) -> Iterator[str]:
    """A server on 127.0.0.1 that answers one request with ``reply`` as raw bytes, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        thread.join(timeout=10)
        listener.close()


BODY = b'{"version": 3, "signature": "abc"}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (
            HEAD + BODY[:10],
            f"10 of {len(BODY)} bytes arrived",
        ),  # urllib's read(n) returned the part that came
        (HEAD[:20], "its headers ended early"),  # read as a head without a length and an empty body
        (HEAD[:10], "BadStatusLine"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "IncompleteRead"),
    ],
)
def test_a_reply_cut_off_is_a_sync_error_in_words(reply, why):
    with one_reply(reply) as url, pytest.raises(SyncError) as raised:
        CentralClient(url, timeout=5).request("GET", "/api/v1/stations/990101101201/ack")
    assert (
        str(raised.value) == f"central's reply to GET /api/v1/stations/990101101201/ack was cut off ({why})"
    )


def test_a_whole_reply_is_returned():
    body = b'{"status": "stored"}'
    whole = b"HTTP/1.1 202 Accepted\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    with one_reply(whole) as url:
        reply = CentralClient(url, timeout=5).request("PUT", "/api/v1/files/x", b"data", ok=(202,))
    assert (reply.status, reply.body) == (202, body)
