import sqlite3
import threading

import pytest

from station import db as dbmod
from station.db import write_transaction
from station.errors import LogIntegrityError
from station.models import EventLog
from station.services.log import append_event, events_of, read_head, verify_tail
from sync_protocol.events import parse_event, verify_chain
from sync_protocol.schema import ZERO_ID


def _append(key: str, aggregate: str = "case-1"):
    with write_transaction():
        return append_event(
            actor="village",
            event_type="case.note_added",
            aggregate_kind="case",
            aggregate_id=aggregate,
            payload={"text": key},
            idempotency_key=key,
        )


def test_first_append_opens_epoch_one_then_chains(app):
    first = _append("op-1").event
    second = _append("op-2").event
    rows = list(EventLog.select().order_by(EventLog.seq))
    assert [r.seq for r in rows] == [1, 2, 3]
    opening = parse_event(bytes(rows[0].body))
    assert opening.type == "epoch.open" and opening.prev == ZERO_ID
    assert first.prev == opening.event_id and second.prev == first.event_id
    assert verify_chain([parse_event(bytes(r.body)) for r in rows], ZERO_ID) == second.event_id


def test_body_is_stored_verbatim(app):
    event = _append("op-1").event
    assert bytes(EventLog.get(EventLog.event_id == event.event_id).body) == event.body


def test_same_idempotency_key_is_one_event(app):
    first = _append("form-token-1")
    again = _append("form-token-1")
    assert first.created and not again.created
    assert again.event.event_id == first.event.event_id
    assert EventLog.select().count() == 2  # epoch.open + one


def test_append_outside_a_transaction_is_refused(app):
    with pytest.raises(LogIntegrityError):
        append_event(
            actor="a",
            event_type="x.y",
            aggregate_kind="case",
            aggregate_id="c",
            payload={},
            idempotency_key="k",
        )


def test_rolled_back_transaction_leaves_no_event(app):
    with pytest.raises(RuntimeError), write_transaction():
        append_event(
            actor="a",
            event_type="x.y",
            aggregate_kind="case",
            aggregate_id="c",
            payload={},
            idempotency_key="k",
        )
        raise RuntimeError("the change failed")
    assert EventLog.select().count() == 0


def test_hlc_is_strictly_increasing_even_when_the_wall_clock_goes_back(app):
    with write_transaction():
        a = append_event(
            actor="a",
            event_type="x.y",
            aggregate_kind="case",
            aggregate_id="c",
            payload={},
            idempotency_key="k1",
            wall_ms=2_000_000_000_000,
        ).event
        b = append_event(
            actor="a",
            event_type="x.y",
            aggregate_kind="case",
            aggregate_id="c",
            payload={},
            idempotency_key="k2",
            wall_ms=1_000_000_000_000,
        ).event
    assert b.hlc > a.hlc


def test_head_is_read_from_the_table_across_processes_and_threads(app, instance):
    _append("a")
    node = app.extensions["station"]
    results = []

    def worker(n):
        with dbmod.bound(node.database):
            for i in range(10):
                results.append(_append(f"t{n}-{i}").event.seq)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [
        row[0]
        for row in sqlite3.connect(instance / "station.db").execute("SELECT seq FROM event_log ORDER BY seq")
    ]
    assert seqs == list(range(1, 43))
    assert verify_tail().seq == 42


def test_events_of_returns_the_aggregate_in_order(app):
    _append("a", "case-1")
    _append("b", "case-2")
    _append("c", "case-1")
    assert [e.payload["text"] for e in events_of("case", "case-1")] == ["a", "c"]


def test_verify_tail_detects_a_tampered_body(app, instance):
    _append("a")
    _append("b")
    assert read_head().seq == 3
    connection = sqlite3.connect(instance / "station.db")
    # The triggers refuse UPDATE; an attacker with the file drops them first. The self-check must still notice.
    connection.execute("DROP TRIGGER event_log_no_update")
    connection.execute("UPDATE event_log SET body = replace(body, 'village', 'villagf') WHERE seq = 2")
    connection.commit()
    with pytest.raises(LogIntegrityError):
        verify_tail()
