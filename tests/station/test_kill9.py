"""kill -9 during intake: no acknowledged case is lost, none is duplicated, the chain is intact after restart."""

import http.client
import sqlite3
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from station.cli import main
from sync_protocol.events import parse_event, verify_chain
from sync_protocol.schema import ZERO_ID
from tests.support.http import WebClient
from tests.support.servers import NodeProcess

from .conftest import PASSWORD
from .helpers import LOW_INCOME, citizen_id, intake_data

pytestmark = pytest.mark.slow
PATH = f"/cases/new/{LOW_INCOME}"


def _serve(instance):
    return NodeProcess([sys.executable, "-m", "station", "serve", "--instance", str(instance), "--port", "0"])


def _close(node):
    node._reader.join(timeout=5)
    node.proc.stdout.close()


def _submission(n: int) -> dict[str, str]:
    return intake_data(f"kill9-{n:03d}", id_number=citizen_id(f"99010119800101{n:03d}"))


def test_kill9_during_intake_loses_and_duplicates_nothing(tmp_path):
    instance = tmp_path / "village"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--instance", str(instance), "--station-code", "990101101201", "--name",
                                "村", "--level", "village", "--parent", "990101101000", "--network", "kill9"]).exit_code == 0  # fmt: skip
    assert runner.invoke(main, ["create-user", "--instance", str(instance), "--username", "village", "--role",
                                "village_staff"], env={"YICIBAN_STATION_NEW_PASSWORD": PASSWORD}).exit_code == 0  # fmt: skip
    node = _serve(instance)
    url = node.url()
    acknowledged: set[str] = set()
    stop = threading.Event()

    def clerk(offset: int) -> None:
        # A slow reply on a loaded machine is not the server's death: only the kill may end a clerk's loop.
        web = WebClient(url, timeout=60)
        try:
            web.login("village", PASSWORD)
            fields = web.form_fields(web.get(PATH))
            n = offset
            while not stop.is_set():
                data = {**_submission(n), "csrf_token": fields["csrf_token"]}
                reply = web.post(PATH, data)
                if reply.status == 200 and "/cases/" in reply.url and "已保存" in reply.text:
                    acknowledged.add(data["token"])
                n += 4
        except (OSError, http.client.HTTPException, AssertionError):
            # The server died under us (refused, reset, or a reply cut short: IncompleteRead): that is the point.
            return

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    node.kill9()
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    _close(node)
    assert len(acknowledged) >= 12

    restarted = _serve(instance)
    try:
        web = WebClient(restarted.url())
        web.login("village", PASSWORD)
        # Resubmitting every acknowledged form after the crash must not create anything new.
        fields = web.form_fields(web.get(PATH))
        sample = sorted(acknowledged)[:5]
        for token in sample:
            n = int(token.rsplit("-", 1)[1])
            reply = web.post(PATH, {**_submission(n), "csrf_token": fields["csrf_token"]})
            assert reply.status == 200 and "/cases/" in reply.url
    finally:
        restarted.stop()
        _close(restarted)

    db = sqlite3.connect(instance / "station.db")
    received = {
        row[0]: row[1]
        for row in db.execute(
            "SELECT idempotency_key, aggregate_id FROM event_log WHERE event_type = 'case.received'"
        )
    }
    assert acknowledged <= set(received), "an acknowledged case was lost"
    cases = db.execute("SELECT count(*), count(DISTINCT id) FROM case_record").fetchone()
    assert cases[0] == cases[1] == len(received), "cases and their received events disagree"
    bodies = [bytes(row[0]) for row in db.execute("SELECT body FROM event_log ORDER BY epoch, seq")]
    verify_chain([parse_event(body) for body in bodies], ZERO_ID)
