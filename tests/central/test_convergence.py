"""Delivery-order convergence at central (SYNC-DESIGN §12, invariants 1, 2 and 8; issue 5).

Three stations' logs are cut into sealed batches; hypothesis delivers them to a fresh central through the real
HTTP API (store → huey task inline → ingest → ack) in any multiset and permutation: several cuts of each log,
overlapping re-sends, the same file twice, gaps filled later, stations interleaved. Whatever the order, central
must end with the same log (as a set of (station, epoch, seq, id), each station's chain order respected), the same
case projections and the same acks — and at no point may an event be in the log before its predecessors.

A template central (real ``init``, migrations, registration and enrollment over HTTP) is built once per module;
each example runs on a copy of its folder, so every example starts from the same keys and an empty log and
the sealed batch files can be built once and reused.

Stations work on their own cases in the first property; the second adds a 代办 hand-over (a village case received
and accepted by the township): central folds a case's events in causal (HLC) order, so the township's events
arriving before the village's give the same case.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from central import create_app
from central.db import database
from central.services.acks import epoch_acks
from central.services.stations import register_station
from sync_protocol.batch import BatchFile

from .builders import SimStation
from .conftest import TOWNSHIP, VILLAGE, issue, make_instance

COUNTY, OTHER_VILLAGE = "990101000000", "990101101202"
CENTRAL = "central"

# --- the stations' logs ------------------------------------------------------------------------------------------


def _received(station: SimStation, case_no: str, to: str) -> dict[str, Any]:
    return {
        "from": None,
        "to": to,
        "case_no": case_no,
        "item_code": "GF00301000",
        "item_version": 1,
        "applicant_id": f"applicant-{case_no}",
        "station": station.code,
        "received_on": "2026-03-02",
        "channel": "village" if to == "village_received" else "window",
        "materials": [{"key": "application_form", "status": "received"}],
    }


def township_work(township: SimStation) -> list[str]:
    """A township hall's own cases: received, accepted, reviewed, one decided and delivered; a phone corrected."""
    cases = []
    for n in range(3):
        case_id = f"case-t{n}"
        township.append("received", case_id, _received(township, f"T-{n}", "received"))
        cases.append(case_id)
    for case_id in cases:
        township.append(
            "accepted", case_id, {"from": "received", "to": "accepted", "accepted_on": "2026-03-03"}
        )
    township.append(
        "review_note", cases[0], {"from": "accepted", "to": "accepted", "step": "初审", "opinion": "材料齐全"}
    )
    township.append(
        "decided",
        cases[0],
        {
            "from": "accepted",
            "to": "decided_granted",
            "decided_on": "2026-03-05",
            "outcome": "granted",
            "reasons": [],
        },
    )
    township.append(
        "result_ready",
        cases[0],
        {"from": "decided_granted", "to": "result_ready", "ready_on": "2026-03-05", "notice_sent": True,
         "pickup": "window"},
    )  # fmt: skip
    township.append(
        "delivered",
        cases[0],
        {"from": "result_ready", "to": "delivered", "delivered_on": "2026-03-06", "method": "window",
         "signed_by": "王秀英"},
    )  # fmt: skip
    township.append(
        "field_edited", cases[1], {"field": "applicant.phone", "old": "13800000001", "new": "13900000002"}
    )
    return cases


def village_work(village: SimStation, prefix: str) -> list[str]:
    """A village service station (代收): cases received for the township, a note, a rating on the spot."""
    cases = []
    for n in range(3):
        case_id = f"case-{prefix}{n}"
        village.append("received", case_id, _received(village, f"{prefix.upper()}-{n}", "village_received"))
        cases.append(case_id)
    village.append(
        "note_added", cases[0], {"note_id": f"{prefix}-note-1", "text": "申请人行动不便，由代办员上门收件"}
    )
    village.append(
        "rated",
        cases[1],
        {"rating_id": f"{prefix}-rating-1", "level": 5, "stage": "acceptance", "channel": "village_tablet",
         "rated_on": "2026-03-02", "rater": "anonymous"},
    )  # fmt: skip
    village.append("note_added", cases[2], {"note_id": f"{prefix}-note-2", "text": "已电话告知补充户口簿"})
    return cases


def hand_over(village: SimStation, township: SimStation, case_id: str) -> None:
    """代办 hand-over of one village case: the village dispatches the folder, the township receives and accepts it."""
    village.append(
        "custody_dispatched",
        case_id,
        {"from": "village_received", "to": "in_transit", "manifest_id": "manifest-1", "carrier": "agent",
         "to_station": township.code, "at": "2026-03-02T15:00:00+08:00", "direction": "up"},
    )  # fmt: skip
    township.append(
        "custody_received",
        case_id,
        {"from": "in_transit", "to": "received", "manifest_id": "manifest-1", "received_by": "township",
         "at": "2026-03-03T09:30:00+08:00", "direction": "up"},
    )  # fmt: skip
    township.append("accepted", case_id, {"from": "received", "to": "accepted", "accepted_on": "2026-03-03"})


# --- the template central ----------------------------------------------------------------------------------------


def station_logs(*, hand_over_case: bool) -> dict[str, SimStation]:
    """The three stations' logs, built once at import (events do not depend on which central receives them)."""
    stations = {code: SimStation(code, NETWORK) for code in (TOWNSHIP, VILLAGE, OTHER_VILLAGE)}
    for station in stations.values():
        station.open_epoch()
    township_work(stations[TOWNSHIP])
    handed = village_work(stations[VILLAGE], "v")
    village_work(stations[OTHER_VILLAGE], "w")
    if hand_over_case:
        hand_over(stations[VILLAGE], stations[TOWNSHIP], handed[0])
    return stations


NETWORK = "test-net"  # what conftest.make_instance initialises
INDEPENDENT = station_logs(hand_over_case=False)
HANDED_OVER = station_logs(hand_over_case=True)


def lengths(stations: dict[str, SimStation]) -> dict[str, int]:
    return {code: len(station.events) for code, station in stations.items()}


# --- the template central ----------------------------------------------------------------------------------------


@dataclass(eq=False)  # hashed by identity: batch files and the reference are cached per template
class Template:
    path: Path
    info: dict[str, Any]
    stations: dict[str, SimStation]

    @functools.cache  # noqa: B019 - one template per module; the cache lives exactly as long as it
    def batch(self, code: str, first: int, last: int) -> BatchFile:
        """The sealed file of events[first:last] of one station's log (sealed to the template's keys)."""
        station = self.stations[code]
        return station.batch(station.events[first:last], self.info)


def build_template(folder: Path, stations: dict[str, SimStation]) -> Template:
    """A central made by the real init and migrations, the stations registered and enrolled over HTTP."""
    config = make_instance(folder, WTF_CSRF_ENABLED=False)
    app = create_app(config)
    with app.app_context():
        register_station(COUNTY, "示范县政务服务中心", "county", None, "admin")
        register_station(TOWNSHIP, "示范镇便民服务中心", "township", COUNTY, "admin")
        register_station(VILLAGE, "示范村便民服务站", "village", TOWNSHIP, "admin")
        register_station(OTHER_VILLAGE, "东坪村便民服务站", "village", TOWNSHIP, "admin")
    client = app.test_client()
    info = client.get("/api/v1/info").get_json()
    assert info["network"] == NETWORK
    for code, station in stations.items():
        reply = client.post("/api/v1/enroll", data=station.enrollment_request(issue(app, code)))
        assert reply.status_code == 200, reply.get_data(as_text=True)
    database.close()  # the last connection checkpoints the WAL, so copying the folder copies everything
    return Template(folder, info, stations)


@pytest.fixture(scope="module")
def independent(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory.mktemp("convergence") / "central", INDEPENDENT)


@pytest.fixture(scope="module")
def handed_over(tmp_path_factory) -> Template:
    return build_template(tmp_path_factory.mktemp("convergence") / "central", HANDED_OVER)


# --- delivering and observing ------------------------------------------------------------------------------------

File = tuple[str, int, int]  # (station code, first index, end index) of a station's events


@st.composite
def deliveries(draw: st.DrawFn, lengths: dict[str, int]) -> list[File]:
    """Every station's log cut into contiguous files (so everything arrives in the end), plus overlapping
    re-sends and the same file twice, all in any order."""
    files: list[File] = []
    for code, length in sorted(lengths.items()):
        cuts = sorted(draw(st.sets(st.integers(1, length - 1), max_size=3)))
        bounds = [0, *cuts, length]
        files += [(code, a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
        for _ in range(draw(st.integers(0, 1))):
            first = draw(st.integers(0, length - 1))
            files.append((code, first, draw(st.integers(first + 1, length))))
    files += draw(st.lists(st.sampled_from(tuple(files)), max_size=2))
    return draw(st.permutations(files))


@contextmanager
def fresh_central(template: Template) -> Iterator[Any]:
    with tempfile.TemporaryDirectory(prefix="yiciban-convergence-") as tmp:
        folder = Path(tmp) / "central"
        shutil.copytree(template.path, folder)
        app = create_app({"INSTANCE_PATH": str(folder), "HUEY_IMMEDIATE": True, "TESTING": True})
        try:
            yield app.test_client()
        finally:
            database.close()


def deliver(client: Any, template: Template, file: File) -> None:
    batch = template.batch(*file)
    reply = client.put(f"/api/v1/files/{batch.name}", data=batch.data)
    assert reply.status_code in (200, 202), reply.get_data(as_text=True)


def assert_no_event_before_its_predecessors(template: Template) -> None:
    """Invariant 2: in central order, each (station, epoch) is 1, 2, 3, … with every prev naming the one before."""
    chains: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
    rows = database.execute_sql(
        "SELECT station_code, epoch, seq, event_id, prev FROM central_log WHERE station_code != "
        f"{database.param} ORDER BY central_seq",
        (CENTRAL,),
    )
    for station, epoch, seq, event_id, prev in rows:
        chains.setdefault((station, epoch), []).append((seq, event_id, prev))
    for (station, _), chain in chains.items():
        expected = template.stations[station].events[: len(chain)]
        assert [(seq, event_id, prev) for seq, event_id, prev in chain] == [
            (e.seq, e.event_id, e.prev) for e in expected
        ], f"{station}'s events entered the log out of chain order"


def snapshot() -> dict[str, Any]:
    """What must not depend on delivery order: the log as a set, the case rows and what each ack states."""
    log = set(
        database.execute_sql(
            f"SELECT station_code, epoch, seq, event_id FROM central_log WHERE station_code != {database.param}",
            (CENTRAL,),
        )
    )
    last_event_of = dict(database.execute_sql("SELECT central_seq, event_id FROM central_log"))
    cases = {}
    for row in database.execute_sql(
        "SELECT case_id, case_number, item_code, state, origin_station, owner_station, version, data FROM cases"
    ):
        case_id, number, item, state, origin, owner, version, data = row
        # central_seq numbers differ with arrival order; the event the projection is current to does not
        cases[case_id] = (number, item, state, origin, owner, last_event_of[version], data)
    held = list(database.execute_sql("SELECT station_code, epoch, seq FROM held_events"))
    acks = {
        code: [(a.epoch, a.through, a.through_id, a.held, a.missing, a.forks) for a in epoch_acks(code)]
        for code in (TOWNSHIP, VILLAGE, OTHER_VILLAGE)
    }
    return {"log": log, "cases": cases, "held": held, "acks": acks}


@functools.cache
def reference(template: Template) -> dict[str, Any]:
    """Each station's whole log in one file, delivered in causal order (villages before the township)."""
    with fresh_central(template) as client:
        for code in (VILLAGE, OTHER_VILLAGE, TOWNSHIP):
            deliver(client, template, (code, 0, len(template.stations[code].events)))
        return snapshot()


def check_any_order_converges(template: Template, files: list[File]) -> None:
    expected = reference(template)
    with fresh_central(template) as client:
        for file in files:
            deliver(client, template, file)
            assert_no_event_before_its_predecessors(template)
        got = snapshot()
    assert got["log"] == expected["log"]
    assert got["held"] == [] and got["acks"] == expected["acks"]
    assert got["cases"] == expected["cases"]


CONVERGENCE = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CONVERGENCE
@given(files=deliveries(lengths(INDEPENDENT)))
def test_any_delivery_order_of_three_stations_batches_gives_the_same_log_projections_and_acks(
    independent, files
):
    check_any_order_converges(independent, files)


TOWNSHIP_FIRST = [(code, 0, n) for code, n in sorted(lengths(HANDED_OVER).items())]


@CONVERGENCE
@example(files=TOWNSHIP_FIRST)
@given(files=deliveries(lengths(HANDED_OVER)))
def test_a_case_handed_from_village_to_township_projects_the_same_whichever_station_arrives_first(
    handed_over, files
):
    check_any_order_converges(handed_over, files)


def test_the_reference_projection_follows_the_hand_over(handed_over):
    """Guards the property tests against comparing empty pictures: the causal order projects what happened."""
    expected = reference(handed_over)
    assert expected["cases"]["case-v0"][2:5] == ("accepted", VILLAGE, TOWNSHIP)
    assert expected["cases"]["case-t0"][2] == "delivered"
    assert expected["cases"]["case-t1"][2] == "accepted"
    assert len(expected["log"]) == sum(lengths(HANDED_OVER).values())
