"""Benchmark of central ingest (not a test): run ``.venv/bin/python bench/central.py``.

Measures, in one run on this machine (SPEC.md §5):
  (a) the raw limit: the rows central's ingest writes for realistic 1,000-event batches (the central_log rows and
      the whole row of every case each batch touches) written with ``executemany`` in one transaction per batch,
      into tables made by central's own migrations (same columns, indexes and durability pragmas): stdlib
      ``sqlite3`` on SQLite, ``psycopg`` on PostgreSQL (bench/central_raw.py);
  (b) central's real ingest path on the same batches — ``ingest_file``: read the stored file, open (decrypt,
      verify the signed checkpoint, the chain and every body's canonical form and schema), decide, store, detect
      conflicts, project, sign the ack — events/s; the headline ratio is (b) / (a), goal >= 0.70, on SQLite and
      on a real PostgreSQL server started the way ``tests/central/pg.py`` starts one. Extra lines give µs/event
      per stage of (b) next to (a), so the ratio is explained (bench/central_stages.py);
  (c) the push of 100 new events (HTTP PUT of the sealed file, ingest inline, GET the ack) with 1,000 vs
      1,000,000 events already held for that station, goal <= 1.5x; the big history is bulk-loaded
      (bench/central_push.py).

Events are what a township hall produces (bench/central_workload.py: wire types ``applicant.created`` and
``case.*``, Chinese names, demo catalog items): intakes and their follow-ups (accept, review notes, decide, result
ready, deliver, rating). Rounds interleave (a) and (b) and keep the best of each, because other work shares the
machine. Both timed sections run with the bench's own objects frozen out of the garbage collector's scans
(``bench_heap_frozen``): a central process does not hold the workload. Each headline prints as
``RESULT <name> <value>``; ``--profile`` prints where ingest spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.central_push import measure_push  # noqa: E402
from bench.central_raw import (  # noqa: E402
    RawBatch,
    migrated_sqlite,
    raw_postgres_seconds,
    raw_sqlite_seconds,
    rows_written,
)
from bench.central_stages import (  # noqa: E402
    bench_heap_frozen,
    check_projection,
    print_breakdown,
    real_ingest_seconds,
    stage_breakdown,
    timed_stages,
)
from bench.central_workload import EVENTS_PER_BATCH, TOWNSHIP, Workload, open_central, store_batches  # noqa: E402
from central.db import bind_database, database  # noqa: E402
from central.migrations import migrate  # noqa: E402
from sync_protocol.events import Event  # noqa: E402
from tests.central.builders import SimStation  # noqa: E402
from tests.central.pg import Cluster  # noqa: E402

RawSeconds = Callable[[str, list[RawBatch]], tuple[float, float]]


def result(name: str, value: float, goal: str) -> None:
    print(f"RESULT {name} {value:.3f}    # goal {goal}", flush=True)


def measure_ratio(label: str, work: Path, batches: list[list[Event]], station: SimStation, rounds: int,
                  new_database: Callable[[str], str | None], raw_seconds: RawSeconds,
                  profile: bool) -> tuple[float, float]:  # fmt: skip
    """Best-of-``rounds`` events/s of central's ingest and of the raw writes; returns (ingest, raw)."""
    count = sum(len(b) for b in batches)
    best_real = best_raw = (float("inf"), 0.0)
    best_stages: dict[str, float] = {}
    raw_rows: list[RawBatch] = []
    for round_no in range(rounds):
        folder = work / f"{label}-central-{round_no}"
        central = open_central(folder, station, new_database(f"real{round_no}"))
        names = store_batches(central, station, batches)
        profiler = cProfile.Profile() if profile and round_no == rounds - 1 else None
        with timed_stages() as seconds, bench_heap_frozen():
            if profiler:
                profiler.enable()
            elapsed = real_ingest_seconds(names)
            if profiler:
                profiler.disable()
        if profiler:
            print(f"--- cProfile of one {label} ingest round (cumulative; profiling inflates every time) ---")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        elif elapsed < best_real[0]:
            best_real, best_stages = (elapsed, 0.0), stage_breakdown(seconds, elapsed)
        if round_no == 0:
            database.connect(reuse_if_open=True)
            check_projection([e for b in batches for e in b])
            database.close()
            raw_rows = shared_rows(folder)
        with bench_heap_frozen():
            best_raw = min(best_raw, raw_seconds(f"raw{round_no}", raw_rows))
    print(f"{label}: {len(batches)} batches x {EVENTS_PER_BATCH} events; best of {rounds}: ingest "
          f"{best_real[0]:.2f} s, raw executemany {best_raw[0]:.3f} s", flush=True)  # fmt: skip
    print_breakdown(label, best_stages, count, best_raw)
    return count / best_real[0], count / best_raw[0]


_SHARED: list[RawBatch] = []


def shared_rows(folder: Path) -> list[RawBatch]:
    """The rows written by the first SQLite run, reused as "the same rows" for every raw measurement."""
    if not _SHARED:
        _SHARED.extend(rows_written(folder / "central.db"))
    return _SHARED


def measure_ratios(work: Path, rounds: int, count: int, profile: bool, postgres: bool) -> None:
    """(a) and (b) on SQLite, then on PostgreSQL with the raw rows the SQLite run wrote."""
    station = SimStation(TOWNSHIP, "test-net")
    workload = Workload(station)
    events = [workload.head, *workload.events(count - 1)]
    batches = [events[i : i + EVENTS_PER_BATCH] for i in range(0, len(events), EVENTS_PER_BATCH)]
    ingest, raw = measure_ratio(
        "sqlite", work, batches, station, rounds + (1 if profile else 0), lambda name: None,
        lambda name, rows: raw_sqlite_seconds(migrated_sqlite(work / f"{name}.db"), rows), profile,
    )  # fmt: skip
    print(f"sqlite: ingest {ingest:,.0f} events/s, raw {raw:,.0f} events/s", flush=True)
    result("ingest_events_per_s_sqlite", ingest, "(reported)")
    result("ingest_ratio_sqlite", ingest / raw, ">= 0.70")
    if not postgres:
        return
    cluster = Cluster()
    cluster.start()
    try:

        def raw_postgres(name: str, rows: list[RawBatch]) -> tuple[float, float]:
            url = cluster.new_database()
            bind_database(url)
            migrate()
            database.close()
            return raw_postgres_seconds(url, rows)

        ingest, raw = measure_ratio(
            "postgres",
            work,
            batches,
            station,
            rounds,
            lambda name: cluster.new_database(),
            raw_postgres,
            False,
        )
        print(f"postgres: ingest {ingest:,.0f} events/s, raw {raw:,.0f} events/s", flush=True)
        result("ingest_events_per_s_postgres", ingest, "(reported)")
        result("ingest_ratio_postgres", ingest / raw, ">= 0.70")
    finally:
        database.close()
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=10, help="1,000-event batches per ingest round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (a) and (b); the best counts")
    parser.add_argument("--history", type=int, default=1_000_000, help="events held for the big push")
    parser.add_argument("--profile", action="store_true", help="cProfile one more SQLite ingest round")
    parser.add_argument("--bases", action="store_true", help="push events that carry base versions")
    parser.add_argument("--skip", choices=("ratios", "postgres", "push"), action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yiciban-bench-central-") as tmp:
        work = Path(tmp)
        if "ratios" not in args.skip:
            measure_ratios(
                work, args.rounds, args.batches * EVENTS_PER_BATCH, args.profile, "postgres" not in args.skip
            )
        if "push" not in args.skip:
            print(
                "push: histories are bulk-loaded valid chained events (not ingested); see bench/central_push.py"
            )
            name = "push100_ratio_central_with_bases" if args.bases else "push100_ratio_central"
            result(name, measure_push(work, 1000, args.history, 9, args.bases), "<= 1.5")


if __name__ == "__main__":
    main()
