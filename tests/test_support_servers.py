"""The test servers themselves: a waitress server stops cleanly while a browser still holds a keep-alive connection
and a request is in flight, and a node process's output pipe is closed only once its reader has read it all."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import sys
import threading
import time
import urllib.request

from tests.support.servers import NodeProcess, serve_app

SLOW_STARTED = threading.Event()


def _app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        SLOW_STARTED.set()
        time.sleep(1.0)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def test_serve_app_stops_with_an_idle_keep_alive_connection_and_a_request_in_flight():
    before = set(threading.enumerate())
    answers: list[bytes] = []
    with serve_app(_app) as url:
        host, port = url.removeprefix("http://").split(":")
        idle = http.client.HTTPConnection(host, int(port), timeout=30)  # like Chromium's, left open
        idle.request("GET", "/")
        assert idle.getresponse().read() == b"ok"
        slow = threading.Thread(target=lambda: answers.append(urllib.request.urlopen(url + "/slow").read()))
        slow.start()
        assert SLOW_STARTED.wait(timeout=30), "the slow request reached the app"
    slow.join(timeout=30)
    idle.close()
    assert answers == [b"ok"], "the request in hand was answered before the server closed"
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == [], f"threads of the stopped server still running: {left}"


def _deleted_files_open() -> int:
    """Descriptors of this process on deleted files: waitress keeps a large request body in such a temporary file."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)")
    return count


def _wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_an_upload_cut_halfway_leaves_no_temporary_file_open():
    """The link drops in the middle of a large PUT: the server closes the half-received body at once (waitress
    alone left it to the garbage collector, a ResourceWarning — an error here)."""
    before = _deleted_files_open()
    with serve_app(_app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as link:
            link.sendall(
                b"PUT /files/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n" + b"x" * 1_000_000
            )
            _wait_until(lambda: _deleted_files_open() > before, "the body went to a temporary file")
        _wait_until(lambda: _deleted_files_open() == before, "the cut body's temporary file was closed")


def test_a_node_process_whose_child_outlives_it_is_read_to_the_end_without_an_error_in_the_reader(tmp_path):
    script = tmp_path / "node.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "print('listening on http://127.0.0.1:1', flush=True)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True:\\n    print(1, flush=True)\\n"
        "    time.sleep(0.1)'])\n"
        "time.sleep(60)\n"
    )
    node = NodeProcess([sys.executable, str(script)])
    assert node.url() == "http://127.0.0.1:1"
    node.stop()  # the child still writes to the pipe: it is killed, not left writing into a closed reader
    assert not node._reader.is_alive() and node.proc.stdout.closed
