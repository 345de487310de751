"""Restoring a station from an old backup (SYNC-DESIGN.md §3): real `yiciban-station` and `yiciban-central`
processes. A store put back behind what central already acknowledged is detected from central's signed ack and
refuses to append; `yiciban-station restore` opens a new epoch linked to the backup's head; after a sync central
holds the new epoch and still every event of the old one — nothing lost, nothing numbered twice."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.e2e import test_station_kill9 as nodes
from tests.e2e.test_station_kill9 import node_output  # noqa: F401 - autouse: node output on failure
from tests.support.http import WebClient

pytestmark = [pytest.mark.slow]

TOWNSHIP_A = nodes.TOWNSHIP
TOWNSHIP_B = ("990101102000", "示范二镇便民服务中心", "township", "990101000000")


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    server, codes = nodes.start_central(tmp_path_factory.mktemp("restore"), (TOWNSHIP_A, TOWNSHIP_B))
    try:
        yield server, dict(zip((TOWNSHIP_A[0], TOWNSHIP_B[0]), codes, strict=True))
    finally:
        server.stop()


def enrolled_station(folder: Path, central: nodes.Central, code: str, station: tuple[str, ...]) -> Path:
    instance = nodes.init_station(folder / station[0], network=None, station=station)
    nodes.cli(
        nodes.STATION_CLI, "enroll", "--instance", str(instance), "--central", central.url, "--code", code
    )
    return instance


def save_cases(clerk: WebClient, count: int) -> list[nodes.Submission]:
    saved = []
    for _ in range(count):
        page = clerk.get(f"/cases/new/{nodes.ITEM}")
        submission = nodes.Submission(
            clerk.form_fields(page, f"/cases/new/{nodes.ITEM}")["token"], nodes.intake_fields(page.text)
        )
        nodes.send(clerk, submission)
        saved.append(submission)
    return saved


def local_log(instance: Path) -> list[tuple[int, int, str]]:
    with nodes.read_store(instance) as db:
        return nodes.assert_log_is_one_verified_chain(db)


def sync_until_covered(instance: Path, timeout: float = 90.0) -> None:
    """Sync until central's signed ack covers every event of every local epoch (applied, held or in review)."""
    deadline = time.monotonic() + timeout
    while True:
        nodes.cli(nodes.STATION_CLI, "sync", "--instance", str(instance))
        ack = nodes.stored_ack(instance)
        missing = [
            (epoch, seq)
            for epoch, seq, _ in local_log(instance)
            if ack is None or not ack.for_epoch(epoch).is_received(seq)
        ]
        if not missing:
            return
        assert time.monotonic() < deadline, f"central's ack never covered {missing[:10]}"
        time.sleep(0.5)


def central_holdings(central: nodes.Central, station: str) -> dict[tuple[int, int], tuple[str, str]]:
    """(epoch, seq) → (event id, where) over central's log, held events and quarantine; each position once."""
    found: dict[tuple[int, int], tuple[str, str]] = {}
    with contextlib.closing(sqlite3.connect(central.instance / "central.db", timeout=10)) as db:
        for table in ("central_log", "held_events", "quarantined_events"):
            rows = db.execute(f"SELECT epoch, seq, event_id FROM {table} WHERE station_code = ?", (station,))
            for epoch, seq, event_id in rows:
                assert (epoch, seq) not in found, f"central holds ({epoch}, {seq}) twice"
                found[(epoch, seq)] = (event_id, table)
    return found


def work_then_backup_then_more_work(instance: Path) -> tuple[Path, WebClient, list[tuple[int, int, str]]]:
    """Save, sync, back up; save more and sync again; stop. Returns the backup, the clerk and the full log."""
    node, url = nodes.start_station(instance)
    clerk = nodes.login(url)
    save_cases(clerk, 3)
    sync_until_covered(instance)
    backup = Path(
        nodes.cli(nodes.STATION_CLI, "backup", "--instance", str(instance)).strip().splitlines()[-1]
    )
    save_cases(clerk, 3)
    sync_until_covered(instance)
    assert node.stop() == 0
    return backup, clerk, local_log(instance)


def assert_new_epoch_continues_from_the_backup(
    instance: Path, at_backup: list[tuple[int, int, str]], before_restore: list[tuple[int, int, str]]
) -> list[tuple[int, int, str]]:
    """Epoch 2 opens from the backup's head; epoch 1 holds the backup's events (plus any of the lost ones central
    sent back, exactly as they were)."""
    log = local_log(instance)
    first = [e for e in log if e[0] == 1]
    assert first[: len(at_backup)] == at_backup and before_restore[: len(first)] == first
    second = [e for e in log if e[0] == 2]
    assert second and second[0][1] == 1 and len(before_restore) > len(at_backup)
    with nodes.read_store(instance) as db:
        body = db.execute("SELECT body FROM event_log WHERE epoch = 2 AND seq = 1").fetchone()[0]
    opened = nodes.parse_event(bytes(body))
    assert opened.payload["reason"] == "restore" and opened.prev == at_backup[-1][2]
    assert (opened.payload["prev_epoch"], opened.payload["prev_seq"]) == at_backup[-1][:2]
    return log


def assert_central_lost_nothing(central, station: str, before_restore, after_restore) -> None:
    held = central_holdings(central, station)
    for epoch, seq, event_id in [*before_restore, *after_restore]:
        assert held.get((epoch, seq), ("",))[0] == event_id, f"central lacks ({epoch}, {seq})"
    assert {e[:2] for e in [*before_restore, *after_restore]} == set(held), "central holds something else"
    opened = held[(2, 1)]
    print(f"central: epoch 1 through {len(before_restore)}, epoch 2 opened ({opened[1]}), {len(held)} events")


def test_restore_command_puts_an_old_backup_in_place_and_opens_a_new_epoch(tmp_path, central):
    server, codes = central
    instance = enrolled_station(tmp_path, server, codes[TOWNSHIP_A[0]], TOWNSHIP_A)
    backup, clerk, before_restore = work_then_backup_then_more_work(instance)
    with contextlib.closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as db:
        at_backup = nodes.assert_log_is_one_verified_chain(db)
    output = nodes.cli(nodes.STATION_CLI, "restore", "--instance", str(instance), "--backup", str(backup))
    assert "opened epoch 2" in output
    node, url = nodes.start_station(instance)
    clerk.base_url = url
    save_cases(clerk, 2)
    sync_until_covered(instance)
    assert node.stop() == 0
    log = assert_new_epoch_continues_from_the_backup(instance, at_backup, before_restore)
    assert_central_lost_nothing(server, TOWNSHIP_A[0], before_restore, [e for e in log if e[0] == 2])


def test_backup_copied_back_by_hand_is_caught_by_centrals_ack_and_appends_wait_for_restore(tmp_path, central):
    server, codes = central
    instance = enrolled_station(tmp_path, server, codes[TOWNSHIP_B[0]], TOWNSHIP_B)
    backup, clerk, before_restore = work_then_backup_then_more_work(instance)
    for suffix in ("-wal", "-shm"):
        (instance / f"station.db{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, instance / "station.db")  # the disk died; yesterday's copy is put back by hand
    at_backup = local_log(instance)
    node, url = nodes.start_station(instance)  # the backup's own chain is intact: the tail self-check passes
    clerk.base_url = url
    nodes.cli(
        nodes.STATION_CLI, "sync", "--instance", str(instance)
    )  # central's signed ack shows the rollback
    page = clerk.get(f"/cases/new/{nodes.ITEM}")
    refused = nodes.Submission(
        clerk.form_fields(page, f"/cases/new/{nodes.ITEM}")["token"], nodes.intake_fields(page.text)
    )
    reply = clerk.post(f"/cases/new/{nodes.ITEM}", {**clerk.form_fields(page), **refused.fields})
    assert not nodes.CASE_PAGE.search(reply.url), "a store behind central's ack saved a case"
    assert "restore" in reply.text, "the clerk is told what to do (run `yiciban-station restore`)"
    assert local_log(instance) == at_backup, "a store behind central's ack appended an event"
    assert node.stop() == 0
    output = nodes.cli(nodes.STATION_CLI, "restore", "--instance", str(instance))
    assert "opened epoch 2" in output
    node, url = nodes.start_station(instance)
    clerk.base_url = url
    nodes.resubmit(clerk, [refused])  # the same form, saved now
    sync_until_covered(instance)
    assert node.stop() == 0
    log = assert_new_epoch_continues_from_the_backup(instance, at_backup, before_restore)
    assert_central_lost_nothing(server, TOWNSHIP_B[0], before_restore, [e for e in log if e[0] == 2])
