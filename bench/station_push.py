"""The sync cost rule of SPEC.md §5 for bench/station.py, station side: pushing 100 new events (missing ranges from
the ack, build and seal the batch, PUT to a receiver that stores like central) with 1,000 vs 500,000 events already
in the log; and the bench central that enrolls the store and acknowledges its log."""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import time
from pathlib import Path

from station_store import CLERK, NETWORK, PARENT_CODE, STATION_CODE, citizen_id, person_name
from station_window import result

from casework.catalog import demo_catalog
from station import db as dbmod
from station import open_node
from station.models import EventLog
from station.services import actions, cases
from station.settings import load_settings
from tests.support.servers import serve_app

GOAL_PUSH_RATIO = 1.5


def receiver_app(folder: Path):
    """Stores an uploaded file the way central's PUT does before replying: temp, hash, fsync, rename, 202."""

    def app(environ, start_response):
        name = environ["PATH_INFO"].rsplit("/", 1)[-1]
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        temp = folder / f".{name}.tmp"
        digest = hashlib.sha256()
        with open(temp, "wb") as out:
            while remaining:
                chunk = environ["wsgi.input"].read(min(65536, remaining))
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                remaining -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, folder / name)
        body = json.dumps({"status": "stored", "name": name, "sha256": digest.hexdigest()}).encode()
        start_response(
            "202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app


class BenchCentral:
    """Central's signing role, played with ``sync_protocol`` keys: enrolls the station through its real
    ``install_enrollment`` and hands it signed acks (a real station has synced; its home page shows the queue)."""

    def __init__(self) -> None:
        from sync_protocol.keys import SigningKey
        from sync_protocol.trust import make_root

        self.now = int(time.time() * 1000)
        self.root_key, self.central_key = SigningKey.generate(), SigningKey.generate()
        self.root = make_root(network=NETWORK, version=1, root_keys=[self.root_key.public_raw],
                              central_keys=[self.central_key.public_raw], issued_ms=self.now,
                              signing_key=self.root_key)  # fmt: skip
        self.version = 0

    def enroll(self, keys) -> None:
        from station.services.enrollment import build_request, install_enrollment
        from sync_protocol.keys import BoxKey
        from sync_protocol.trust import issue_certificate, verify_enrollment_request

        request = build_request(keys, NETWORK, STATION_CODE, "BENCH-CODE")
        asked = verify_enrollment_request(request, network=NETWORK, code="BENCH-CODE")
        certificate = issue_certificate(network=NETWORK, station_id=STATION_CODE, level="township", parent=PARENT_CODE,
                                        sign_public=asked.sign_public, box_public=asked.box_public, epoch=1,
                                        serial=1, issued_ms=self.now, central_key=self.central_key)  # fmt: skip
        central = {"network": NETWORK, "root_public": self.root_key.public_raw.hex(),
                   "roots": [self.root.raw.decode("ascii")], "ingest_recipient": BoxKey.generate().recipient,
                   "escrow_recipient": BoxKey.generate().recipient}  # fmt: skip
        install_enrollment(
            keys, request, {"certificate": certificate.raw.decode("ascii"), "central": central}
        )

    def acknowledge_all(self, but: int = 0) -> None:
        """Store a newer signed ack covering the log up to its head (minus ``but`` events) via ``receive_ack``."""
        from station.services import sync
        from station.services.log import read_head
        from sync_protocol.acks import EpochAck, make_ack

        head = read_head()
        assert head is not None
        through = head.seq - but
        row = EventLog.get((EventLog.epoch == head.epoch) & (EventLog.seq == through))
        self.version += 1
        ack = make_ack(network=NETWORK, station_id=STATION_CODE, version=self.version, central_time_ms=self.now,
                       epochs=[EpochAck(head.epoch, through, row.event_id)], central_key=self.central_key)  # fmt: skip
        sync.receive_ack(ack.raw)


def enroll_and_acknowledge(instance: Path, but: int) -> BenchCentral:
    central = BenchCentral()
    node = open_node(load_settings({"INSTANCE_PATH": str(instance)}))
    with dbmod.bound(node.database):
        central.enroll(node.keys)
        central.acknowledge_all(but)
    node.database.close()
    return central


def push_times(
    instance: Path, central: BenchCentral, inbox: Path, rounds: int, rng: random.Random
) -> list[float]:
    """``rounds`` times: ack everything, append 100 events through the real intake, time ``services.sync.push``
    (missing ranges from the ack, build and seal the batch, PUT)."""
    from station.services import sync
    from station.services.central_client import CentralClient

    node = open_node(load_settings({"INSTANCE_PATH": str(instance)}))
    actor = cases.Actor(CLERK, "township_clerk")
    item = demo_catalog().item("GF00201000")
    used: set[str] = set()
    times = []
    with dbmod.bound(node.database), serve_app(receiver_app(inbox)) as url:
        client = CentralClient(url, 30)
        for round_ in range(rounds + 1):
            central.acknowledge_all()
            for _ in range(50):  # a new applicant and a received case: two events each
                form = cases.IntakeForm(token=actions.new_token(), item_code=item.code, applicant_name=person_name(rng),
                                        id_number=citizen_id(rng, used), phone="13800138000", decision="receive",
                                        materials={m.key: "received" for m in item.materials})  # fmt: skip
                cases.receive_application(node.keys.field_cipher, actor, form)
            started = time.perf_counter()
            pushed = sync.push(node, client)
            elapsed = (time.perf_counter() - started) * 1000
            assert pushed["events"] == 100, pushed
            if round_:  # the first round warms caches
                times.append(elapsed)
    node.database.close()
    return times


def measure_push(
    small: Path, big: Path, centrals: dict[str, BenchCentral], work: Path, rng: random.Random
) -> None:
    medians = []
    for label, instance in (("small", small), ("big", big)):
        inbox = work / f"inbox-{label}"
        inbox.mkdir()
        with dbmod.bound(dbmod.open_database(instance / "station.db")):
            history = EventLog.select().count()
        runs = push_times(instance, centrals[label], inbox, 7, rng)
        medians.append(statistics.median(runs))
        print(f"  push of 100 new events with {history:,} events in the log: median {medians[-1]:.1f} ms "
              f"(runs: {', '.join(f'{t:.0f}' for t in runs)})", flush=True)  # fmt: skip
    result("push100_small_ms", medians[0], "(reference)")
    result("push100_big_ms", medians[1], "(reference)")
    result("push100_ratio", medians[1] / medians[0], f"<= {GOAL_PUSH_RATIO}", "{:.2f}")
