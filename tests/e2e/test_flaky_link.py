"""SPEC §6: through a flaky link that drops, delays, truncates, duplicates and reorders, every station converges.

Central is served by waitress on 127.0.0.1; a township and two villages, installed by their own CLI, sync through
tests/support/flaky_link.py (seeded faults per connection). Over several rounds the villages receive applications
with a large scan (uploaded on its own in pieces) and hand folders to the township (代办: manifest, dispatch, 签收 by
label), the township takes and decides its own cases, and every station syncs through the link with the station's
own sync (retried at once, no back-off sleep); each failed attempt must say in words what the link did. A last round
over a clean link, then: central's log is exactly the union of the stations' logs (no loss, nothing twice), every
station holds central's ack of all its events and a chain that verifies on both sides, every scan is whole at
central, every station holds the newest bundle central has for it (the township the villages' handed-over cases),
and the only batches central set aside are the truncated bodies the link delivered as if complete — none of them
applied in part.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import re
import secrets
from collections import Counter

import pytest

from casework.catalog import demo_catalog
from casework.identifiers import citizen_id_check_char
from central.models import Batch, LogEvent
from central.runtime import current_runtime
from central.services.blobs import blob_state
from central.services.bundles import next_bundle
from station import create_app as create_station
from station.models import CaseRecord, EventLog
from station.services import cases as case_service
from station.services import custody as station_custody
from station.services.actions import perform_action
from station.services.attachments import attach_scan
from station.services.blob_uploads import pending_uploads
from station.services.downstream import bundle_state
from station.services.sync import run_sync, unacked_count
from sync_protocol.events import parse_event, verify_chain
from tests.e2e.nodes import COUNTY, TOWNSHIP, USERS, VILLAGE, Station, prepared_central
from tests.support.flaky_link import FAULTS, FlakyLink
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]

SECOND_VILLAGE = ("990101101202", "示范二村便民服务站", "village", TOWNSHIP[0])
VILLAGE_ITEM = "GF00201000"  # 低保: a village receives it, the township accepts it
TOWNSHIP_ITEM = "GF00203000"  # 临时救助: the township accepts and decides it
ROUNDS = 4
LINK_FAILURE = re.compile(
    r"central at http://\S+ is not reachable: |central's reply to (GET|PUT|HEAD) \S+ was cut off \("
)
FILES = "/api/v1/files/"
SCAN_BYTES = 1_300_000  # two pieces
ATTEMPTS = 3  # syncs per station per round through the flaky link, one straight after another


class LinkedStation(Station):
    """A station whose sync goes to ``central_url`` (the flaky link) in small batches (4 events each)."""

    def open(self, online: bool) -> None:
        self.online = online
        self.app = create_station({"INSTANCE_PATH": str(self.instance), "HUEY_IMMEDIATE": True,
                                   "CENTRAL_URL": self.central_url, "SYNC_TIMEOUT_SECONDS": 20,
                                   "SYNC_BATCH_EVENTS": 4})  # fmt: skip
        self.node = self.app.extensions["station"]

    def attempt_sync(self) -> dict:
        with self.bound():
            return run_sync(self.node, "scheduled")


_ids = itertools.count(1)


def new_id_number() -> str:
    n = next(_ids)
    body = f"990101{dt.date(1960, 1, 1) + dt.timedelta(days=n):%Y%m%d}{n % 1000:03d}"
    return body + citizen_id_check_char(body)


def receive(
    station: Station, actor: case_service.Actor, item_code: str, name: str, decision: str = "receive"
):
    form = case_service.IntakeForm(
        token=secrets.token_hex(16), item_code=item_code, applicant_name=name, id_number=new_id_number(),
        phone="13800138000", materials={m.key: "received" for m in demo_catalog().item(item_code).materials},
        decision=decision,
    )  # fmt: skip
    with station.bound():
        return case_service.receive_application(station.node.keys.field_cipher, actor, form)


def attach_scan_to(station: Station, actor: case_service.Actor, case_id: str, size: int, seed: str) -> str:
    """A scan too large to ride inside a batch: it is uploaded on its own, resumably, in 1 MiB pieces."""
    content = b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(size - 8)
    with station.bound():
        _, problems = attach_scan(
            station.instance / "blobs", actor, case_id, content, "", secrets.token_hex(16), 64 * 1024 * 1024
        )
    assert problems == {}, problems
    return hashlib.sha256(content).hexdigest()


def hand_over(village: Station, township: Station, case_ids: list[str]) -> None:
    """代办: the village drafts a 交接单 and the agent takes the folders; the township signs for each label."""
    actor = village.actor("village", "village_staff")
    with village.bound():
        manifest = station_custody.create_manifest(
            village.node.keys.signing_key, actor, case_ids, TOWNSHIP[0], "agent"
        )
        station_custody.dispatch_manifest(actor, manifest.id)
        labels = [f.label for f in station_custody.manifest_folders(manifest.id)]
    clerk = township.actor("township", "township_clerk")
    with township.bound():
        for label in labels:
            station_custody.receive_folder(township.node.keys.signing_key, clerk, label)


@pytest.fixture
def network(tmp_path):
    central, codes = prepared_central(
        tmp_path / "central",
        (COUNTY, TOWNSHIP, VILLAGE, SECOND_VILLAGE),
        (TOWNSHIP[0], VILLAGE[0], SECOND_VILLAGE[0]),
    )
    with serve_app(central) as url:
        stations = [
            LinkedStation(tmp_path, spec, url, codes[spec[0]], USERS[spec[2]], online=True)
            for spec in (TOWNSHIP, VILLAGE, SECOND_VILLAGE)
        ]
        for station in stations:  # installed: enrolled and synced once over a clean link
            station.sync()
        yield central, url, stations


def central_log(central) -> list[tuple[str, int, int, str]]:
    with central.app_context():
        return [
            (r.station_code, r.epoch, r.seq, r.event_id)
            for r in LogEvent.select().order_by(LogEvent.central_seq)
        ]


def station_log(station: Station) -> list[tuple[str, int, int, str]]:
    with station.bound():
        return [
            (r.station, r.epoch, r.seq, r.event_id)
            for r in EventLog.select().order_by(EventLog.epoch, EventLog.seq)
        ]


def verify_runs(bodies_by_epoch: dict[int, list[bytes]]) -> None:
    """Every epoch's events parse, hash to their ids and form one unbroken chain from seq 1."""
    for bodies in bodies_by_epoch.values():
        events = [parse_event(body) for body in bodies]
        assert events[0].seq == 1
        verify_chain(events, events[0].prev)


@pytest.mark.parametrize("seed", [11, 2026])
def test_every_station_converges_through_a_flaky_link(network, seed):
    central, url, stations = network
    township, village, second = stations
    villages = (village, second)
    handed: list[str] = []
    scans: list[str] = []  # sha256 of each large scan the villages attached (uploaded in pieces)
    errors: list[str] = []  # what the failed attempts recorded for the sync page
    waiting: dict[str, list[str]] = {v.code: [] for v in villages}
    with FlakyLink(url, seed) as link:
        for station in stations:
            station.central_url = link.url
            station.open(True)
        clerk = township.actor("township", "township_clerk")
        for round_no in range(ROUNDS):
            for v in villages:
                staff = v.actor("village", "village_staff")
                if waiting[v.code]:
                    hand_over(v, township, waiting[v.code])
                    handed.extend(waiting[v.code])
                waiting[v.code] = [receive(v, staff, VILLAGE_ITEM, f"村民{round_no}{i}").id for i in range(2)]
                scans.append(
                    attach_scan_to(v, staff, waiting[v.code][0], SCAN_BYTES, f"{seed}/{v.code}/{round_no}")
                )
            own = receive(township, clerk, TOWNSHIP_ITEM, f"镇民{round_no}", decision="accept")
            with township.bound():
                _record, problems = perform_action(clerk, own.id, "decide_grant", {}, f"grant-{own.id}")
                assert problems == {}, problems
            for station in stations:
                for _ in range(ATTEMPTS):
                    outcome = station.attempt_sync()
                    if outcome["ok"]:
                        break
                    errors.append(outcome["error"])

        link.flush()
        link.clean = True
        for _ in range(2):  # the second pass brings each station what the others sent in the first
            for station in stations:
                outcome = station.attempt_sync()
                assert outcome["ok"], (outcome, link.log())

    report = f"seed {seed}; faults:\n{link.log()}"
    assert set(link.counts) == set(FAULTS) and all(link.counts[k] >= 1 for k in FAULTS), (link.counts, report)

    # Each failed attempt was recorded in words as what the link did — never as an unexpected error, and never a
    # cut ack or bundle mistaken for a whole one and refused as forged.
    assert errors, report
    unexplained = [e for e in errors if not LINK_FAILURE.match(e)]
    assert not unexplained, (unexplained, report)

    # Central's log is the union of the stations' logs, each event exactly once.
    codes = {station.code for station in stations}
    at_central = [row for row in central_log(central) if row[0] in codes]  # not central's own events
    at_stations = [row for station in stations for row in station_log(station)]
    duplicated = [k for k, n in Counter(at_central).items() if n > 1]
    assert not duplicated, (duplicated, report)
    assert len({(s, e, q) for s, e, q, _ in at_central}) == len(at_central), report
    assert sorted(at_central) == sorted(at_stations), report

    # Every station holds central's ack of all its events, and its chain verifies here and at central.
    for station in stations:
        with station.bound():
            assert unacked_count() == 0, (station.code, report)
            rows = EventLog.select().order_by(EventLog.epoch, EventLog.seq)
            verify_runs(_by_epoch((r.epoch, bytes(r.body)) for r in rows))
        with central.app_context():
            rows = (
                LogEvent.select()
                .where(LogEvent.station_code == station.code)
                .order_by(LogEvent.epoch, LogEvent.seq)
            )
            verify_runs(_by_epoch((r.epoch, bytes(r.body)) for r in rows))

    # Every large scan is whole at central and no longer waits at its station.
    with central.app_context():
        held = {sha: blob_state(current_runtime().instance, sha) for sha in scans}
    assert len(scans) == ROUNDS * 2 and all(
        state is not None and state.complete for state in held.values()
    ), report
    for station in villages:
        with station.bound():
            assert pending_uploads() == {}, (station.code, report)

    # Every station holds the newest bundle central has for it; the township holds the villages' handed cases.
    with central.app_context():
        for station in stations:
            with station.bound():
                version = bundle_state().version
            assert next_bundle(current_runtime(), station.code, version) is None, (station.code, version)
    with township.bound():
        held = {r.id for r in CaseRecord.select(CaseRecord.id).where(CaseRecord.id.in_(handed))}
    assert handed and held == set(handed), (set(handed) - held, report)

    # Nothing was set aside but what the link delivered truncated as if complete: each of those was received,
    # refused whole (its seal does not open) and applied nothing. (A shortened scan piece is refused at once: its
    # length no longer matches its Content-Range.)
    with central.app_context():
        set_aside = {
            b.name: (b.status, b.reason, b.applied_count)
            for b in Batch.select().where(Batch.status.not_in(["applied", "duplicate"]))
        }
        truncated = {path.removeprefix(FILES) for path in link.shortened if path.startswith(FILES)}
        assert truncated and set(set_aside) == truncated, (set_aside, report)
        assert all(status == "rejected" and not applied for status, _, applied in set_aside.values()), (
            set_aside,
            report,
        )
        # A batch central received twice (duplicated) or answered without the station hearing it is held once.
        for fault in link.faults:
            if fault.kind in ("duplicate", "drop_after") and fault.path.startswith(FILES):
                [batch] = Batch.select().where(Batch.name == fault.path.removeprefix(FILES))
                assert batch.status in ("applied", "duplicate"), (fault, batch.status, report)


def _by_epoch(rows) -> dict[int, list[bytes]]:
    found: dict[int, list[bytes]] = {}
    for epoch, body in rows:
        found.setdefault(epoch, []).append(body)
    return found
