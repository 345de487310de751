"""Benchmark of the station window with ten years of a busy hall in its store (not a test).

Run ``.venv/bin/python bench/station.py`` (``--rebuild`` to rebuild the cached store, ``--scale 0.1`` for a quick
run on a tenth of the data).

The store: 50,000 cases and 500,000 events in a township hall's log (a township is the accepting organ, so every
lifecycle step — receive, accept, review, decide, result ready, deliver, ratings — is the station's own event).
The newest ``SAMPLE_CASES`` cases go through the station's real services (``receive_application``,
``perform_action``, ``rate_case``); the ten years before them are BULK-LOADED: events built with
``sync_protocol.events.build_event`` into one valid hash chain, payloads of the same shape the services write
(checked against the sample), applicants encrypted with the instance's own field cipher, and every case's rows
projected by the real ``project_case``. The store is cached under ``$TMPDIR/yiciban-bench/`` keyed by a hash of the
code that shapes its rows, and copied before each run so the cache stays clean.

Then, against ``yiciban-station serve`` on 127.0.0.1 and a real HTTP client, it measures p50/p95 server time (the
app's Server-Timing header: wall and CPU ms) and client round trip of the home page, a case page, search by number
/ name / pinyin / ID number and the intake POST; idle RSS of the serve process; cold start to the first response;
and the sync cost rule of SPEC.md §5: the station's push of 100 new events (build the missing ranges from the ack,
seal, PUT to a receiver that stores like central does) with 1,000 vs 500,000 events already in the log.

Modules: ``station_store.py`` (build and cache the store), ``station_window.py`` (pages, intake, memory, start),
``station_push.py`` (sync cost against history). Each headline prints as ``RESULT <name> <value>`` followed by ``# goal …``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station_push import enroll_and_acknowledge, measure_push  # noqa: E402
from station_store import STORE_CASES, STORE_EVENTS, cached_store  # noqa: E402
from station_window import measure_window  # noqa: E402

from station import db as dbmod  # noqa: E402
from station.models import CaseRecord, EventLog  # noqa: E402
from station.services.setup import initialise_instance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached store")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 50,000 cases / 500,000 events")
    parser.add_argument(
        "--store", type=Path, help="an instance folder built by an earlier run (skips the cache)"
    )
    args = parser.parse_args()
    n_cases, n_events = int(STORE_CASES * args.scale), int(STORE_EVENTS * args.scale)
    rng = random.Random(7)
    store = args.store or cached_store(n_cases, n_events, args.rebuild)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.1f} on {os.cpu_count()} CPUs (times are inflated when it exceeds the CPUs)"
    )
    small_store = cached_store(100, 1000, args.rebuild)
    with tempfile.TemporaryDirectory(prefix="yiciban-bench-station-") as work_dir:
        work = Path(work_dir)
        big = Path(shutil.copytree(store, work / "big"))
        small = Path(shutil.copytree(small_store, work / "small"))
        for instance in (big, small):
            initialise_instance(instance)  # migrations added since the store was built (indexes) apply here
        # A working station has synced: central acknowledged all but the last day's work (~140 events).
        centrals = {"big": enroll_and_acknowledge(big, 140), "small": enroll_and_acknowledge(small, 0)}
        with dbmod.bound(dbmod.open_database(big / "station.db")):
            held = CaseRecord.select().count(), EventLog.select().count()
        print(
            f"window with {held[0]:,} cases / {held[1]:,} events (yiciban-station serve on 127.0.0.1):",
            flush=True,
        )
        measure_window(big, rng)
        print("sync cost against history (station side: ack → missing ranges → seal → PUT):", flush=True)
        measure_push(small, big, centrals, work, rng)


if __name__ == "__main__":
    main()
