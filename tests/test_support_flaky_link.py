"""The flaky link itself (tests/support/flaky_link.py): each fault does to a real waitress server and a real urllib
client what it says, a clean link passes bytes unchanged, and the same seed makes the same decisions."""

from __future__ import annotations

import contextlib
import re
import threading

import pytest

from station.errors import SyncError
from station.services.central_client import CentralClient
from tests.support.flaky_link import FAULTS, FlakyLink
from tests.support.servers import serve_app


class Recorder:
    """A WSGI app that records every request it answered: (method, path, body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        with self.lock:
            self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        reply = b"answer to " + environ["PATH_INFO"].encode() + b" " + b"x" * 200
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
        return [reply]


def call(url: str, method: str = "PUT", body: bytes | None = b"0123456789" * 50) -> bytes:
    """The station's own client: a reply that is not whole is a SyncError."""
    base, _, path = url.partition("/r/")
    return CentralClient(base, timeout=5).request(method, "/" + path, body).body


@pytest.fixture
def upstream():
    app = Recorder()
    with serve_app(app) as url:
        yield app, url


def test_a_clean_link_passes_requests_and_replies_unchanged(upstream):
    app, url = upstream
    with FlakyLink(url, seed=1, clean=True) as link:
        assert call(link.url + "/r/a") == b"answer to /a " + b"x" * 200
        assert call(link.url + "/r/b?after=1", "GET", None).startswith(b"answer to /b")
    assert app.seen == [("PUT", "/a", b"0123456789" * 50), ("GET", "/b", b"")]
    assert link.faults == []


@pytest.mark.parametrize(
    ("fault", "received"),
    [
        ("drop_before", []),
        ("drop_after", ["/a"]),
        ("cut_request", []),  # central never sees a request whose body did not arrive
        ("truncate_response", ["/a"]),
    ],
)
def test_faults_that_leave_the_station_without_a_whole_answer(upstream, fault, received):
    app, url = upstream
    with FlakyLink(url, seed=1, fault_rate=0, planned=[fault]) as link:
        with pytest.raises(SyncError):
            call(link.url + "/r/a")
        assert call(link.url + "/r/after").startswith(
            b"answer to /after"
        )  # the next connection is not faulted
    assert [path for _, path, _ in app.seen] == [*received, "/after"]
    assert [(f.kind, f.method, f.path) for f in link.faults] == [(fault, "PUT", "/a")]
    assert link.counts[fault] == 1


def test_a_shortened_request_reaches_central_complete_with_a_matching_length(upstream):
    app, url = upstream
    with FlakyLink(url, seed=1, fault_rate=0, planned=["short_request"]) as link, pytest.raises(SyncError):
        call(link.url + "/r/a")
    [(_, path, body)] = app.seen
    assert path == "/a" and 0 < len(body) < 500 and (b"0123456789" * 50).startswith(body)
    assert link.shortened == ["/a"]


def test_delay_and_duplicate_answer_the_station(upstream):
    app, url = upstream
    with FlakyLink(url, seed=1, fault_rate=0, planned=["delay", "duplicate"]) as link:
        assert call(link.url + "/r/a").startswith(b"answer to /a")
        assert call(link.url + "/r/b").startswith(b"answer to /b")
    assert [path for _, path, _ in app.seen] == ["/a", "/b", "/b"]
    assert app.seen[1] == app.seen[2]


def test_a_held_request_arrives_after_as_many_later_ones_as_its_log_says(upstream):
    app, url = upstream
    with FlakyLink(url, seed=1, fault_rate=0, planned=["reorder"]) as link:
        with pytest.raises(SyncError):
            call(link.url + "/r/first")
        assert app.seen == []
        for n in range(5):
            call(f"{link.url}/r/later{n}")
    later = int(re.fullmatch(r"held for (\d) later requests", link.faults[0].detail).group(1))
    assert 1 <= later <= 4
    paths = [path for _, path, _ in app.seen]
    assert paths == [f"/later{n}" for n in range(later)] + ["/first"] + [
        f"/later{n}" for n in range(later, 5)
    ]


def test_the_same_seed_makes_the_same_decisions(upstream):
    _app, url = upstream
    runs = []
    for _ in range(2):
        with FlakyLink(url, seed=7, fault_rate=0.6) as link:
            for n in range(30):
                with contextlib.suppress(SyncError):
                    call(f"{link.url}/r/r{n}")
            link.flush()
        runs.append([(f.connection, f.kind, f.path) for f in link.faults])
    assert runs[0] == runs[1]
    assert {kind for _, kind, _ in runs[0]} == set(FAULTS)
