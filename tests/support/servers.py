"""Real waitress servers on 127.0.0.1 in a thread, and node processes started from their console scripts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class _Channel(HTTPChannel):
    """waitress's channel, closing the body buffer of a request its client abandoned mid-upload (a cut link).
    waitress leaves that buffer — a temporary file once the body passes ``inbuf_overflow`` — to the garbage
    collector, whose ResourceWarning is an error in this suite (filterwarnings = error)."""

    def _close_unfinished_request(self) -> None:
        request, self.request = self.request, None  # only the loop thread receives: no task holds this one
        if request is not None:
            request.close()

    def handle_close(self) -> None:
        self._close_unfinished_request()
        super().handle_close()

    def close(self) -> None:
        self._close_unfinished_request()
        super().close()


@contextmanager
def serve_app(app, threads: int = 4) -> Iterator[str]:
    """Serve a WSGI app with a real waitress server on a free port; yields the base URL.

    Shutdown leaves nothing running and never races: the workers finish the requests in hand first (while the
    loop still flushes their replies), then the loop is woken and closes every socket itself — a socket closed
    from this thread under the loop's select() was EBADF in the loop thread, and a worker pulling a trigger
    whose descriptor was already closed (and perhaps reused) wrote into someone else's file."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    server.channel_class = _Channel
    port = server.effective_port
    closing = threading.Event()
    closing_lock = threading.Lock()  # the wake-up pull always happens before the loop closes the trigger

    def run() -> None:
        while not closing.is_set():
            wasyncore.loop(
                timeout=server.adj.asyncore_loop_timeout,
                use_poll=server.adj.asyncore_use_poll,
                map=server._map,
                count=1,
            )
        with closing_lock:
            wasyncore.close_all(server._map)

    thread = threading.Thread(target=run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=60)
        with closing_lock:
            closing.set()
            server.pull_trigger()
        thread.join(timeout=60)


LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class NodeProcess:
    """A node started through its console script; stopped by its own PID."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
            cwd=str(cwd or ROOT),
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._pipe_closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
        except ValueError:  # "I/O operation on closed file": only once _close() gave up waiting for the end
            if not self._pipe_closed:
                raise

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            while seen < len(self.lines):
                match = regex.search(self.lines[seen])
                if match:
                    return match
                seen += 1
            if self.proc.poll() is not None and seen >= len(self.lines):
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not printed; output so far:\n" + "\n".join(self.lines[-60:]))

    def url(self, timeout: float = 30.0) -> str:
        return self.wait_for(LISTENING, timeout).group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._close()
        return self.proc.returncode

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        """Close our end of the output pipe once the reader has read it to its end. The pipe ends only when every
        process of the node's group is gone: one left behind (a child of a node stopped by its own PID) is killed
        rather than having the pipe closed under the reader."""
        self._reader.join(timeout=5)
        if self._reader.is_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self._reader.join(timeout=30)
        self._pipe_closed = True
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def console_script(name: str) -> str:
    return str(BIN / name)
