"""Start-up stays light (SPEC.md §5: idle RSS ≤ 80 MB, cold start ≤ 2 s): the app loads no PDF, QR, pinyin or
PostgreSQL/Redis library until a request needs it, and every response reports the server's own time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import login

HEAVY = ("PIL", "psycopg", "pypinyin", "redis", "reportlab", "segno")
PROBE = f"""
import sys
from station.cli import _keep_unused_drivers_out
_keep_unused_drivers_out()  # what `serve` does first
from station import create_app
app = create_app({{"INSTANCE_PATH": sys.argv[1]}})
assert app.test_client().get("/login").status_code == 200
print(",".join(m for m in {HEAVY!r} if sys.modules.get(m) is not None))
"""


def test_the_served_app_starts_without_document_pinyin_or_database_driver_libraries(instance: Path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(instance)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"loaded at start-up: {done.stdout.strip()}"


def test_every_response_carries_the_servers_own_wall_and_cpu_time(client):
    login(client, "village")
    for path in ("/login", "/", "/search?q=zhang"):
        timing = client.get(path).headers.get("Server-Timing", "")
        match = re.fullmatch(r"app;dur=(\d+\.\d+), cpu;dur=(\d+\.\d+)", timing)
        assert match, (path, timing)
        assert float(match.group(1)) > 0


def test_requests_leave_the_write_ahead_log_in_place(instance: Path):
    """Each request opens and closes its own connection; were it the last one open, SQLite would checkpoint and
    delete the WAL on every close (fsyncs, files created again by the next request). The app holds one open."""
    import time
    import urllib.request

    from tests.support.servers import NodeProcess, console_script

    node = NodeProcess(
        [console_script("yiciban-station"), "serve", "--instance", str(instance), "--port", "0"]
    )
    try:
        url = node.url()
        for _ in range(3):
            with urllib.request.urlopen(url + "/login", timeout=10) as reply:
                assert reply.status == 200 and "Server-Timing" in reply.headers
        time.sleep(0.5)  # the request's connection is closed after the body is sent
        assert (instance / "station.db-wal").exists() and (instance / "station.db-shm").exists()
    finally:
        assert node.stop() == 0
