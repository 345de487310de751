"""The 代办 route of a county-decided item at the stations (real SQLite stores, events routed as central would):
the township forwards and sends the folder up to the county, the county signs for it and decides, and the result
goes back down the way it came — county → township → village — never straight from the county to the village."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

from station import create_app
from station import db as dbmod
from station.models import CaseRecord, EventLog
from station.services import custody
from station.services.actions import perform_action
from station.services.case_levels import available_actions, paper_here
from station.services.cases import Actor, case_view, station
from station.services.downstream import _apply_part
from sync_protocol.events import build_event, parse_event
from sync_protocol.hlc import HLC

from .conftest import NETWORK, TOWNSHIP_CODE, VILLAGE_CODE, build_instance
from .test_custody import (
    AGENT_ACTOR,
    COUNTY_CODE,
    ID_NUMBERS,
    TOWNSHIP_ACTOR,
    VILLAGE_ACTOR,
    in_,
    install_registry,
    labels_of,
    node_of,
    receive_case,
    registry_for,
)

COUNTY_ACTOR = Actor("county", "county_clerk")


def route_from(*apps) -> bytes:
    """Every event the given stations logged, as central's events part would carry them to another station."""
    lines = []
    for app in apps:
        with in_(app):
            lines += [bytes(r.body) + b"\n" for r in EventLog.select().order_by(EventLog.epoch, EventLog.seq)]
    return b"".join(lines)


def deliver_routed(app, data: bytes) -> None:
    with in_(app), dbmod.write_transaction():
        assert _apply_part("events", data)


def act(app, actor, case_id, action, **form):
    with in_(app):
        record, problems = perform_action(actor, case_id, action, form, f"{action}-{case_id}")
    assert problems == {}, {k: v.text("en") for k, v in problems.items()}
    return record


def send(app, actor, case_id, to) -> dict[str, str]:
    with in_(app):
        manifest = custody.create_manifest(node_of(app).keys.signing_key, actor, [case_id], to, "agent")
        custody.dispatch_manifest(actor, manifest.id)
    return labels_of(app, manifest.id)


def sign_for(app, actor, label):
    with in_(app):
        return custody.receive_folder(node_of(app).keys.signing_key, actor, label)


def candidates(app) -> dict[str, list[str]]:
    with in_(app):
        return {
            code: [r.id for r in rows]
            for code, rows in custody.manifest_candidates(station()).items()
            if rows
        }


@pytest.fixture(scope="module")
def county_template(tmp_path_factory) -> Path:
    return build_instance(tmp_path_factory.mktemp("template") / "county", COUNTY_CODE, "county", "")


def _open(template: Path, path: Path):
    instance = shutil.copytree(template, path)
    return create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "HUEY_IMMEDIATE": True})


@pytest.fixture
def route(tmp_path, app, township_template, county_template):
    village = app
    township = _open(township_template, tmp_path / "township")
    county = _open(county_template, tmp_path / "county")
    registry = registry_for(
        (village, VILLAGE_CODE, "village", TOWNSHIP_CODE),
        (township, TOWNSHIP_CODE, "township", COUNTY_CODE),
        (county, COUNTY_CODE, "county", ""),
    )
    for node in (village, township, county):
        install_registry(node, registry)
    return village, township, county


def up_to_the_county(route):
    """The village receives 低保, the township signs, accepts and forwards, the county signs for the folder."""
    village, township, county = route
    case = receive_case(village, "张晓明", ID_NUMBERS[0])
    label = send(village, VILLAGE_ACTOR, case.id, TOWNSHIP_CODE)[case.id]
    sign_for(township, TOWNSHIP_ACTOR, label)
    deliver_routed(township, route_from(village))
    act(township, TOWNSHIP_ACTOR, case.id, "accept")
    act(township, TOWNSHIP_ACTOR, case.id, "forward", opinion="初审同意，报县民政局审批")
    assert candidates(township) == {COUNTY_CODE: [case.id]}, "forwarded: the folder goes up to the county"
    label = send(township, TOWNSHIP_ACTOR, case.id, COUNTY_CODE)[case.id]
    deliver_routed(county, route_from(village, township))
    registered = sign_for(county, COUNTY_ACTOR, label)
    assert registered.case_known and registered.receipt.direction == "up"
    return case


def test_the_county_sends_the_result_back_to_the_township_it_came_from(route):
    village, township, county = route
    case = up_to_the_county(route)
    with in_(county):
        assert CaseRecord.get_by_id(case.id).state == "forwarded"
    assert candidates(county) == {}, "nothing to send before the decision"
    act(county, COUNTY_ACTOR, case.id, "decide_grant", document_no="示民〔2026〕8号")
    assert candidates(county) == {TOWNSHIP_CODE: [case.id]}, "down the way it came, not to the village"
    labels = send(county, COUNTY_ACTOR, case.id, TOWNSHIP_CODE)
    with in_(county):
        [manifest] = [m for m in custody.recent_manifests() if m.to_station == TOWNSHIP_CODE]
        assert manifest.direction == "down"
    assert candidates(county) == {}, "the paper left the county"

    # The township signs for the result before the decision reaches it by sync: it passes it on to the village.
    registered = sign_for(township, TOWNSHIP_ACTOR, labels[case.id])
    assert registered.receipt.direction == "down"
    with in_(township):
        assert CaseRecord.get_by_id(case.id).state == "forwarded"
    assert candidates(township) == {VILLAGE_CODE: [case.id]}, "never back up to the county"
    labels = send(township, TOWNSHIP_ACTOR, case.id, VILLAGE_CODE)
    assert candidates(township) == {}

    # The village learns the decision by sync before the paper arrives: nothing to hand over yet.
    deliver_routed(village, route_from(township, county))
    with in_(village):
        assert CaseRecord.get_by_id(case.id).state == "decided_granted"
        record, problems = perform_action(
            VILLAGE_ACTOR, case.id, "mark_result_ready", {"pickup": "window"}, "early"
        )
        assert record is None and "结果尚未送回本站" in problems["action"].text("zh")
        assert "has not come back" in problems["action"].text("en")
        assert "mark_result_ready" not in available_actions(case_view(case.id), "village", "village_staff",
                                                            paper=paper_here(case.id))  # fmt: skip
    # The village signs for the result, makes it ready and hands it over.
    assert sign_for(village, VILLAGE_ACTOR, labels[case.id]).receipt.direction == "down"
    assert candidates(village) == {}, "the result is home: it is delivered here, not sent on"
    act(village, VILLAGE_ACTOR, case.id, "mark_result_ready", pickup="window")
    assert (
        act(village, VILLAGE_ACTOR, case.id, "deliver", method="window", signed_by="张晓明").state
        == "delivered"
    )


def test_the_agent_carries_the_result_down_and_sees_it_as_his(route):
    village, township, county = route
    case = up_to_the_county(route)
    act(county, COUNTY_ACTOR, case.id, "decide_grant")
    send(county, COUNTY_ACTOR, case.id, TOWNSHIP_CODE)
    with in_(county):
        [folder] = custody.carried_by(AGENT_ACTOR.username, dt.date.today())
    assert (folder.case_id, folder.to_station, folder.direction) == (case.id, TOWNSHIP_CODE, "down")


def test_without_a_receipt_the_result_goes_one_step_down_the_registry(route):
    village, township, county = route
    case = receive_case(village, "李秀兰", ID_NUMBERS[1])
    deliver_routed(county, route_from(village))
    with in_(county):
        record = CaseRecord.get_by_id(case.id)
        assert custody.return_destination(station(), record) == TOWNSHIP_CODE
    with in_(township):
        assert custody.return_destination(station(), record) == VILLAGE_CODE


def test_what_the_village_does_after_a_decision_folds_after_it_even_when_the_county_clock_runs_ahead(route):
    village, _township, _county = route
    case = receive_case(village, "王建国", ID_NUMBERS[2])
    ahead = HLC(int(time.time() * 1000) + 5 * 60_000, 0)  # the county PC's clock is five minutes fast
    decided = build_event(
        network=NETWORK, station_id=COUNTY_CODE, epoch=1, seq=9, prev="0" * 64, hlc=ahead, wall_ms=ahead.wall_ms,
        actor="county", idempotency_key="county-decides", type="case.decided", schema_version=1,
        aggregate_kind="case", aggregate_id=case.id,
        payload={"from": "forwarded", "to": "decided_granted", "decided_on": dt.date.today().isoformat(),
                 "outcome": "granted", "reasons": []},
    )  # fmt: skip
    deliver_routed(village, decided.body + b"\n")
    ready = act(village, VILLAGE_ACTOR, case.id, "mark_result_ready", pickup="window")
    assert ready.state == "result_ready", "the village's act folds after the decision it follows"
    with in_(village):
        [own] = [e for e in EventLog.select() if e.event_type == "case.result_ready"]
        assert parse_event(bytes(own.body)).hlc > ahead.to_string()


def test_a_township_relays_a_folder_the_county_accepts_and_never_accepts_it(route):
    # 法律援助申请: the village receives it for the county; the township signs for the folder as a hop (村 → 镇 →
    # 县), the case stays in transit, and acceptance is the county's.
    village, township, county = route
    case = receive_case(village, "张晓明", ID_NUMBERS[0], item_code="GG00802000")
    label = send(village, VILLAGE_ACTOR, case.id, TOWNSHIP_CODE)[case.id]
    deliver_routed(township, route_from(village))
    sign_for(township, TOWNSHIP_ACTOR, label)
    with in_(township):
        assert CaseRecord.get_by_id(case.id).state == "in_transit"
        offered = available_actions(case_view(case.id), "township", "township_clerk")
        assert not {"accept", "accept_with_gaps", "request_correction", "refuse_acceptance"} & set(offered)
        record, problems = perform_action(TOWNSHIP_ACTOR, case.id, "accept", {}, "forged-accept")
        assert record is None and "accept" not in CaseRecord.get_by_id(case.id).state
    assert candidates(township) == {COUNTY_CODE: [case.id]}, "the township sends it on to the county"
    label = send(township, TOWNSHIP_ACTOR, case.id, COUNTY_CODE)[case.id]
    deliver_routed(county, route_from(village, township))
    sign_for(county, COUNTY_ACTOR, label)
    with in_(county):
        assert CaseRecord.get_by_id(case.id).state == "received", "the county's receipt starts the §32 clock"
    assert act(county, COUNTY_ACTOR, case.id, "accept").state == "accepted"


def test_a_township_sends_up_what_it_received_for_the_county(route):
    from casework.catalog import demo_catalog
    from station.services.cases import IntakeForm, receive_application

    _village, township, county = route
    item = demo_catalog().item(
        "QR00701000"
    )  # 户口迁入: received at the township window, accepted by the county
    form = IntakeForm(token="hukou-1", item_code=item.code, applicant_name="张晓明", id_number=ID_NUMBERS[1],
                      phone="13800138000", materials={m.key: "received" for m in item.materials})  # fmt: skip
    with in_(township):
        case = receive_application(node_of(township).keys.field_cipher, TOWNSHIP_ACTOR, form)
        assert case.state == "village_received"
    assert candidates(township) == {COUNTY_CODE: [case.id]}
    label = send(township, TOWNSHIP_ACTOR, case.id, COUNTY_CODE)[case.id]
    deliver_routed(county, route_from(township))
    sign_for(county, COUNTY_ACTOR, label)
    assert act(county, COUNTY_ACTOR, case.id, "accept").state == "accepted"
