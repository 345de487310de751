"""One `yiciban-central demo` (central + township + village on 127.0.0.1) shared by the window's browser tests.

The demo takes tens of seconds to set up on a busy machine, so the fixture lives for the whole session and the
tests that use it are grouped on one xdist worker (``xdist_group("browser-demo")``); each test works with its own
new applicants, so the tests do not depend on each other's cases.

To rerun these tests against a demo already running (while working on a screen), set
``YICIBAN_BROWSER_DEMO="central=http://127.0.0.1:P1,township=http://127.0.0.1:P2,village=http://127.0.0.1:P3"``."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator

import pytest

from tests.support.browser import require_chromium
from tests.support.servers import NodeProcess, console_script

from .window import Demo

DEMO_URLS = re.compile(r"^(central|township|village)\s+(http://127\.0\.0\.1:\d+)/login")


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Iterator[Demo]:
    require_chromium()  # no point starting three nodes for a browser that is not there
    running = os.environ.get("YICIBAN_BROWSER_DEMO")
    if running:
        yield Demo(**dict(part.split("=", 1) for part in running.split(",")))
        return
    folder = tmp_path_factory.mktemp("browser-demo")
    process = NodeProcess([console_script("yiciban-central"), "demo", "--dir", str(folder / "data")])
    try:
        process.wait_for("press Ctrl-C", timeout=180)
        urls = {}
        for line in process.lines:
            match = DEMO_URLS.match(line.strip())
            if match:
                urls[match.group(1)] = match.group(2)
        assert set(urls) == {"central", "township", "village"}, process.lines
        yield Demo(**urls)
    finally:
        process.stop(signal.SIGINT, timeout=30)
        process._reader.join(timeout=5)  # the reader has seen the end of the output; now close our pipe end
        process.proc.stdout.close()
