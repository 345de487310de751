"""Part (c) of bench/central.py: pushing 100 new events onto a small and a big history held at central.

The big history is BULK-LOADED: valid events built with ``sync_protocol.events.build_event`` in one hash chain,
inserted straight into central_log with the station's chain head and one projection row per case (state taken from
the case's last transition, no stored fold: the first event a case gets folds it from its events), then the
custody cursor set to the log's top as central's periodic task leaves it. It does not go through ingest, which would
take hours.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import statistics
import time
from pathlib import Path
from typing import Any

from peewee import fn

from bench.central_raw import CASE_COLUMNS, upsert_sql
from bench.central_workload import TOWNSHIP, Central, Workload, open_central
from central.db import database, write_transaction
from central.models import CustodyCursor, LogEvent, StationChain
from tests.central.builders import SimStation


def bulk_history(central: Central, workload: Workload, count: int) -> None:
    """Load ``count`` chained events straight into central_log, the chain head and one case row per case."""
    conn = sqlite3.connect(central.instance / "central.db", isolation_level=None)
    log_sql, case_sql = upsert_sql("?")
    received = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(" ")
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(log_sql, chunk)
        conn.execute("COMMIT")
        chunk.clear()

    head = workload.head
    assert head is not None
    for made, event in enumerate(
        itertools.chain([head], (workload.next_event() for _ in range(count - 1))), start=1
    ):
        chunk.append((event.event_id, event.station_id, event.epoch, event.seq, event.prev, event.type,
                      event.aggregate_kind, event.aggregate_id, event.hlc, None, event.body, 0, received))  # fmt: skip
        if len(chunk) >= 20_000:
            flush()
            if made % 100_000 == 0:
                print(f"  bulk history: {made:,} events", flush=True)
    flush()
    empty = json.dumps({"anomalies": [], "decision": None, "document_no": None, "merged_into": None,
                        "open_gaps": {}}, sort_keys=True)  # fmt: skip
    cases = []
    for case_id, (number, item, state, seq) in workload.states.items():
        row = {"case_id": case_id, "case_number": number, "item_code": item, "item_name": "", "state": state,
               "origin_station": TOWNSHIP, "owner_station": TOWNSHIP, "applicant_masked": "", "version": seq,
               "updated_at": received, "data": empty}  # fmt: skip
        cases.append(tuple(row.get(column) for column in CASE_COLUMNS))
    conn.execute("BEGIN")
    conn.executemany(case_sql, cases)
    conn.execute("COMMIT")
    conn.close()
    tail = workload.head
    assert tail is not None
    with write_transaction():
        StationChain.create(station_code=TOWNSHIP, epoch=tail.epoch, head_seq=tail.seq, head_id=tail.event_id)
    # A live central's periodic custody task has read everything logged so far: its cursor stands at the log's
    # top. (Running that task here would fold each of the history's ~235,000 cases for its custody holdings — a
    # quarter of an hour of setup. The push never reads holdings: the workload has no dispatch or receipt, so the
    # check after each ingest, has_unread_custody_events, finds nothing and the custody task is not run.)
    with write_transaction():
        top = LogEvent.select(fn.MAX(LogEvent.central_seq)).scalar()
        CustodyCursor.insert(id=1, central_seq=top, revision=0).on_conflict_replace().execute()


def push_seconds(central: Central, workload: Workload) -> float:
    """Station side untimed (events, seal); timed: PUT → stored → ingested inline → GET the signed ack."""
    central.activate()
    events = workload.events(100)
    sealed = workload.station.batch(events, central.info)
    started = time.perf_counter()
    reply = central.client.put(f"/api/v1/files/{sealed.name}", data=sealed.data)
    ack = central.client.get(f"/api/v1/stations/{TOWNSHIP}/ack")
    elapsed = time.perf_counter() - started
    assert reply.status_code == 202 and ack.status_code == 200, reply.get_data(as_text=True)
    return elapsed


def measure_push(work: Path, small: int, big: int, rounds: int, bases: bool) -> float:
    """Both histories are loaded first, then the pushes alternate between them, so load drift on a shared
    machine hits both alike; the median of each side counts. Returns big ÷ small."""
    targets = []
    for held in (small, big):
        station = SimStation(TOWNSHIP, "test-net")
        central = open_central(work / f"push-{held}", station)
        workload = Workload(station, bases=bases)
        started = time.perf_counter()
        bulk_history(central, workload, held)
        print(f"history of {held:,} events bulk-loaded in {time.perf_counter() - started:.0f} s", flush=True)
        push_seconds(central, workload)  # warm-up: first connection, caches, templates
        targets.append((held, central, workload))
    times: dict[int, list[float]] = {held: [] for held, _, _ in targets}
    for _ in range(rounds):
        for held, central, workload in targets:
            times[held].append(push_seconds(central, workload))
    database.close()
    for held, samples in times.items():
        print(f"push 100 with {held:,} held: median {statistics.median(samples) * 1000:.1f} ms "
              f"(all: {', '.join(f'{t * 1000:.0f}' for t in samples)} ms)", flush=True)  # fmt: skip
    return statistics.median(times[big]) / statistics.median(times[small])
