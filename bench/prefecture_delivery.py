"""Delivery and convergence of bench/prefecture.py: a real central, the stations enrolled at it, their batches
carried over the network or on USB sticks, and the final comparison of central's log with the stations' logs.

Online, a station pushes what its last ack says central lacks, as ``station.services.sync.pending_batches`` does
(missing ranges from the ack, cut into batches, sealed), and central takes each file through the function its HTTP
PUT runs — ``store_file`` then the ``ingest_file_task`` huey task (``call_local``: in this process, no HTTP per
station) — and the station reads back the signed ack central issued. A village with no link that day exports the
same pending batches to a stick (cut smaller, ``usb_batch_events``); each file travels on its own trip, one to
four days later (so files arrive out of order and central holds the gap), some copied on two trips; a trip is
imported as ``yiciban-central import`` does (``import_folder`` then ``ingest_file``) and brings the village its ack.
"""

from __future__ import annotations

import io
import random
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from peewee import fn

from bench.central_workload import Central
from bench.prefecture_work import NETWORK, Node, Prefecture
from central import create_app
from central.models import (
    Batch,
    CaseRecord,
    Conflict,
    CustodyIssue,
    HeldEvent,
    LogEvent,
    QuarantinedEvent,
)
from central.runtime import current_runtime
from central.services.acks import latest_ack
from central.services.inbox import import_folder, store_file
from central.services.ingest import ingest_file
from central.services.stations import issue_enrollment_code, register_station
from central.tasks import ingest_file_task
from sync_protocol.acks import parse_ack
from sync_protocol.batch import BatchFile, split_into_batches
from sync_protocol.layout import UP
from tests.central.conftest import make_instance

MAX_BYTES = 64 << 20


def open_prefecture_central(folder: Path, prefecture: Prefecture) -> Central:
    """A central initialised like ``yiciban-central init``; counties, townships and villages registered, every
    station enrolled with a one-time code over the real HTTP API (``POST /api/v1/enroll``)."""
    app = create_app(make_instance(folder))
    client = app.test_client()
    with app.app_context():
        for n, county in enumerate(prefecture.counties):
            register_station(county, f"第{n + 1}县政务服务中心", "county", None, "bench")
        for node in prefecture.stations:
            register_station(node.code, node.name, node.level, node.parent, "bench")
        cipher = current_runtime().cipher
        for node in prefecture.stations:
            code = issue_enrollment_code(node.code, "bench", cipher, 72).code
            reply = client.post("/api/v1/enroll", data=node.sim.enrollment_request(code))
            assert reply.status_code == 200, reply.get_data(as_text=True)
    info = client.get("/api/v1/info").get_json()
    assert info["network"] == NETWORK
    return Central(app, client, info, current_runtime())


@dataclass
class Delivery:
    central: Central
    prefecture: Prefecture
    work: Path
    batch_events: int = 1000
    usb_batch_events: int = 20
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    seconds: float = 0.0  # central's time: storing and ingesting every file
    files: Counter = field(default_factory=Counter)
    in_transit: dict[int, list[tuple[Node, BatchFile]]] = field(default_factory=dict)

    def pending(self, node: Node, max_events: int) -> list[BatchFile]:
        """Sealed batches of every range the station's last ack says central lacks (seq n is events[n - 1])."""
        head = node.head.seq
        ranges = node.acked.to_resend(head) if node.acked is not None else [(1, head)]
        log = node.sim.events
        return [
            node.sim.batch(run, self.central.info)
            for first, last in ranges
            for run in split_into_batches(log[first - 1 : last], max_events=max_events)
        ]

    def read_ack(self, node: Node) -> None:
        """The station's sync (or the trip back) brings its ack and its downstream bundle: every case of its
        central holds is at central's current log top as far as the station knows (``learn_central_versions``)."""
        body = latest_ack(node.code)
        if body is not None:
            node.acked = parse_ack(body).for_epoch(node.head.epoch)
        if node.cases:
            top = LogEvent.select(fn.MAX(LogEvent.central_seq)).scalar() or 0
            known = CaseRecord.select(CaseRecord.case_id).where(CaseRecord.case_id.in_(sorted(node.cases)))
            for (case_id,) in known.tuples():
                node.seen[case_id] = top

    def push(self, node: Node) -> None:
        """Online: every pending file through the PUT's path (store, then the ingest task); the caller reads
        the ack and bundle back once every online station has pushed (stations sync every few minutes)."""
        for batch in self.pending(node, self.batch_events):
            started = time.perf_counter()
            stored = store_file(
                io.BytesIO(batch.data), batch.name, instance=self.central.instance, max_bytes=MAX_BYTES
            )
            status = "duplicate_file" if stored.duplicate else ingest_file_task.call_local(stored.name)
            self.seconds += time.perf_counter() - started
            self.files[f"http {status}"] += 1

    def export(self, node: Node, day: int) -> None:
        """Offline village: the pending files go on a stick, each on a trip 1–4 days later, 5 % on two."""
        for batch in self.pending(node, self.usb_batch_events):
            arrivals = {day + self.rng.randint(1, 4)}
            if self.rng.random() < 0.05:
                arrivals.add(day + self.rng.randint(1, 6))
            for arrival in arrivals:
                self.in_transit.setdefault(arrival, []).append((node, batch))

    def trips(self, through_day: int) -> None:
        """Import every stick due by ``through_day``, one folder per day; the villages carried get their ack."""
        for day in sorted(d for d in self.in_transit if d <= through_day):
            carried = self.in_transit.pop(day)
            folder = self.work / f"usb-{day}"
            for node, batch in carried:
                target = folder / "yiciban" / NETWORK / UP / node.code
                target.mkdir(parents=True, exist_ok=True)
                (target / batch.name).write_bytes(batch.data)
            started = time.perf_counter()
            stored = import_folder(folder, instance=self.central.instance, max_bytes=MAX_BYTES)
            for item in stored:
                status = (
                    "duplicate_file" if item.duplicate else ingest_file(current_runtime(), item.name).status
                )
                self.files[f"usb {status}"] += 1
            self.seconds += time.perf_counter() - started
            shutil.rmtree(folder)
            for node in {node.code: node for node, _ in carried}.values():
                self.read_ack(node)


@dataclass
class Convergence:
    events: int  # events in the stations' logs (the union)
    logged: int  # station events in central's log
    lost: int
    duplicated: int
    central_own: int
    quarantined: int
    held: int
    unfinished_batches: int
    behind_acks: int
    conflicts: dict[
        str, int
    ]  # "class outcome status" → count (reported: what the delivery order made central flag)
    custody_issues: dict[str, int]  # "kind status" → count


def convergence(central: Central, prefecture: Prefecture) -> Convergence:
    """Central's log against the union of the stations' logs, by (station, epoch, seq, event id)."""
    expected = {(n.code, e.epoch, e.seq, e.event_id) for n in prefecture.stations for e in n.sim.events}
    conn = sqlite3.connect(central.instance / "central.db")
    rows = conn.execute("SELECT station_code, epoch, seq, event_id FROM central_log").fetchall()
    conn.close()
    ours = [row for row in rows if row[0] in prefecture.by_code]
    logged = set(ours)
    positions = Counter((code, epoch, seq) for code, epoch, seq, _ in ours)
    ids = Counter(row[3] for row in ours)
    duplicated = (len(ours) - len(logged)) + len(logged - expected)
    duplicated += sum(c - 1 for c in positions.values() if c > 1) + sum(c - 1 for c in ids.values() if c > 1)
    behind = 0
    for node in prefecture.stations:
        ack = (
            parse_ack(latest_ack(node.code) or b"").for_epoch(node.head.epoch)
            if latest_ack(node.code)
            else None
        )
        behind += ack is None or ack.through != node.head.seq
    return Convergence(
        events=len(expected),
        logged=len(ours),
        lost=len(expected - logged),
        duplicated=duplicated,
        central_own=len(rows) - len(ours),
        quarantined=QuarantinedEvent.select().count(),
        held=HeldEvent.select().count(),
        unfinished_batches=Batch.select().where(Batch.status.not_in(("applied", "duplicate"))).count(),
        behind_acks=behind,
        conflicts={
            f"{c} {o} {s}": n
            for c, o, s, n in Conflict.select(
                Conflict.conflict_class, Conflict.outcome, Conflict.status, fn.COUNT(Conflict.id)
            )
            .group_by(Conflict.conflict_class, Conflict.outcome, Conflict.status)
            .tuples()
        },
        custody_issues={
            f"{k} {s}": n
            for k, s, n in CustodyIssue.select(
                CustodyIssue.kind, CustodyIssue.status, fn.COUNT(CustodyIssue.key)
            )
            .group_by(CustodyIssue.kind, CustodyIssue.status)
            .tuples()
        },
    )
