"""Where central's ingest spends its time, stage by stage, for bench/central.py.

The functions ``ingest_file`` calls are looked up in ``central.services.ingest`` at call time, so wrapping those
module attributes with timers measures each stage of the real path without changing it (a few calls per batch).
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from central.db import database
from central.runtime import current_runtime
from central.services import ingest as ingest_module
from central.services.ingest import ingest_file
from sync_protocol.events import Event

STAGES: dict[str, tuple[str, ...]] = {
    "open+verify": ("open_batch",),  # decrypt, inflate, signed checkpoint, chain, canonical form and schema
    "decide": ("load_history", "decide_batch"),  # central's history of the station, the §7 decision
    "conflicts": ("detect",),  # §9 concurrency check and conflict classes
    "insert": ("append_log_rows", "record_set_aside", "release_held"),  # the central_log rows (executemany)
    "projections": ("refresh_cases",),  # case rows folded and upserted
    "ack": ("issue_ack",),  # the signed ack, after the commit
}
WRAPPED = (*(name for names in STAGES.values() for name in names), "_apply")


@contextmanager
def timed_stages() -> Iterator[dict[str, float]]:
    """Seconds per wrapped function while the block runs."""
    seconds: dict[str, float] = {}
    originals = {name: getattr(ingest_module, name) for name in WRAPPED}

    def timer(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

        return timed

    for name, function in originals.items():
        setattr(ingest_module, name, timer(name, function))
    try:
        yield seconds
    finally:
        for name, function in originals.items():
            setattr(ingest_module, name, function)


def stage_breakdown(seconds: dict[str, float], total: float) -> dict[str, float]:
    """Seconds per stage; "transaction" is the rest of the ingest transaction (batch and chain rows, commit),
    "outside" what happens before it (finding and reading the stored file)."""
    stages = {stage: sum(seconds.get(name, 0.0) for name in names) for stage, names in STAGES.items()}
    inside = ("decide", "conflicts", "insert", "projections")
    stages["transaction"] = seconds.get("_apply", 0.0) - sum(stages[s] for s in inside)
    stages["outside"] = total - seconds.get("_apply", 0.0) - stages["open+verify"] - stages["ack"]
    return stages


def print_breakdown(label: str, stages: dict[str, float], events: int, raw: tuple[float, float]) -> None:
    """Extra (non-headline) lines: µs per event for each stage, next to the raw limit's."""
    total = sum(stages.values())
    print(f"{label} stages, µs/event (ingest {total / events * 1e6:.1f}, raw {raw[0] / events * 1e6:.1f}):")
    for stage, value in stages.items():
        print(f"  {label} {stage:<12} {value / events * 1e6:8.1f} µs/event  {value / total:5.1%}")
    log, cases = raw[0] - raw[1], raw[1]
    print(f"  {label} raw: log rows {log / events * 1e6:.1f}, case rows {cases / events * 1e6:.1f} µs/event")
    print(flush=True)


@contextmanager
def bench_heap_frozen() -> Iterator[None]:
    """Keep the bench's own objects (its workload, every event of every batch, the raw rows) out of the cyclic
    garbage collector's scans while a measured section runs: a central process does not hold them, and with
    them every full collection during ingest would scan a heap the size of the bench's."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def real_ingest_seconds(names: list[str]) -> float:
    """Central's real ingest of the stored files, one after another; every batch must apply."""
    runtime = current_runtime()
    total = 0.0
    for name in names:
        started = time.perf_counter()
        outcome = ingest_file(runtime, name)
        total += time.perf_counter() - started
        assert outcome.status == "applied", outcome
    database.close()
    return total


def check_projection(events: list[Event]) -> None:
    """Say plainly when central's projection of the hall's cases is not what the events say."""
    last = {e.aggregate_id: e for e in events if e.aggregate_kind == "case" and "to" in e.payload}
    wrong = 0
    for case_id, event in last.items():
        row = database.execute_sql(
            f"SELECT state, data FROM cases WHERE case_id = {database.param}", (case_id,)
        )
        state, data = row.fetchone()
        if state != event.payload["to"]:
            wrong += 1
            if wrong == 1:
                anomalies = json.loads(data).get("anomalies", [])[:1]
                print(f"NOTE projection of case {case_id}: state {state!r}, events say {event.payload['to']!r}; "
                      f"first anomaly: {anomalies}", flush=True)  # fmt: skip
    assert wrong == 0, f"{wrong} of {len(last)} case projections differ from their events"
