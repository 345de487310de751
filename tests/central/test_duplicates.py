"""Class C (重复申请) at central: two stations' applications for one person and one item, matched by the network
duplicate token (ADR 0006) without the ID number; dedup for one submission, a reviewer merges or marks distinct."""

from __future__ import annotations

import base64
import json

import pytest

from casework.merge import duplicate_token
from central.models import CaseRecord, Conflict, DuplicateToken, LogEvent, Station
from central.services.duplicates import merged_into, network_duplicate_key
from sync_protocol.events import parse_event

from .builders import SimStation
from .conftest import TOWNSHIP, issue, login
from .test_bundles import open_bundle
from .test_conflicts import push

pytestmark = pytest.mark.usefixtures("stations")
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def township(stations, client, central_info):
    station = SimStation(TOWNSHIP, central_info["network"])
    assert (
        client.post("/api/v1/enroll", data=station.enrollment_request(issue(stations, TOWNSHIP))).status_code
        == 200
    )
    station.open_epoch()
    return station


def _first_bundle(client, village, central_info):
    return open_bundle(client.get(f"/api/v1/stations/{village.code}/bundles?after=0"), village, central_info)


def _network_key(client, village, central_info) -> bytes:
    bundle = _first_bundle(client, village, central_info)
    part = json.loads({p.type: p for p in bundle.parts}["netkey"].data)
    assert part["format"] == "yiciban.netkey/1"
    return base64.b64decode(part["duplicate"])


def _receive(station, token, ik):
    case_id = station.receive_case(case_no=f"{station.code}-20260302-{ik}")
    received = station.events[-1]
    payload = {**received.payload, "duplicate_token": token, "idempotency_key": ik}
    station.events.pop()
    station.append("received", case_id, payload)
    return case_id


def test_every_enrolled_station_gets_the_same_network_key_sealed_in_its_bundle(
    app, client, village, township, central_info
):
    key = _network_key(client, village, central_info)
    with app.app_context():
        from central.runtime import current_runtime

        assert key == network_duplicate_key(current_runtime().keys.field_data_key)
    assert len(key) == 32


def test_one_person_one_item_at_two_stations_flags_both_and_a_reviewer_merges(
    app, client, village, township, central_info
):
    held = _first_bundle(client, village, central_info)
    network_key = base64.b64decode(json.loads({p.type: p for p in held.parts}["netkey"].data)["duplicate"])
    token = duplicate_token(network_key, ID_NUMBER, "GF00301000")
    first = _receive(village, token, "form-v")
    push(client, village, central_info, village.events)
    second = _receive(township, token, "form-t")
    push(client, township, central_info, township.events)
    conflict = Conflict.get(Conflict.conflict_class == "C")
    assert (conflict.status, conflict.outcome, conflict.incoming_applied) == ("open", "flag_both", True)
    assert (conflict.station_code, conflict.aggregate_id) == (TOWNSHIP, second)
    assert CaseRecord.select().count() == 2  # both cases stand while a person looks
    assert ID_NUMBER not in {row.token for row in DuplicateToken.select()}
    login(client, "admin")
    page = client.get(f"/conflicts/{conflict.id}").get_data(as_text=True)
    assert "重复申请" in page and first in page and second in page and 'value="merge"' in page
    assert 'value="keep_applied"' not in page  # a duplicate's cases are never dropped
    assert client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "merge"}).status_code == 302
    conflict = Conflict.get_by_id(conflict.id)
    assert (conflict.status, conflict.outcome, conflict.incoming_applied) == ("resolved", "merge", True)
    assert merged_into(second) == first and merged_into(first) is None
    resolution = parse_event(bytes(LogEvent.get(LogEvent.event_id == conflict.resolution_event_id).body))
    assert resolution.payload["cases"] == [second, first] and resolution.payload["into"] == first
    # Both stations hear of it in their decisions part.
    for station, state in ((village, held.state), (township, None)):  # the village applied bundle 1 already
        after = state.version if state is not None else 0
        bundle = open_bundle(
            client.get(f"/api/v1/stations/{station.code}/bundles?after={after}"), station, central_info, state
        )
        decisions = {p.type: p for p in bundle.parts}["decisions"].data.splitlines()
        assert resolution.body in decisions
    # A later event on the merged case is redirected (class F), not lost.
    township.append("note_added", second, {"note_id": "n1", "text": "补充"}, base_version=0)
    push(client, township, central_info, township.events[-1:])
    late = Conflict.get(Conflict.conflict_class == "F")
    assert (late.status, late.outcome) == ("auto_resolved", "redirect")


def test_marked_distinct_both_cases_go_on(app, client, village, township, central_info):
    token = duplicate_token(_network_key(client, village, central_info), ID_NUMBER, "GF00301000")
    first = _receive(village, token, "form-v")
    push(client, village, central_info, village.events)
    second = _receive(township, token, "form-t")
    push(client, township, central_info, township.events)
    conflict = Conflict.get(Conflict.conflict_class == "C")
    login(client, "admin")
    client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "mark_distinct"})
    assert Conflict.get_by_id(conflict.id).status == "resolved"
    assert merged_into(second) is None and merged_into(first) is None
    assert CaseRecord.select().count() == 2


def test_the_same_submission_twice_is_deduplicated_silently(app, client, village, township, central_info):
    token = duplicate_token(_network_key(client, village, central_info), ID_NUMBER, "GF00301000")
    first = _receive(village, token, "form-same")
    push(client, village, central_info, village.events)
    second = _receive(township, token, "form-same")
    push(client, township, central_info, township.events)
    conflict = Conflict.get(Conflict.conflict_class == "C")
    assert (conflict.status, conflict.outcome) == ("auto_resolved", "dedup")
    assert merged_into(second) == first


def test_other_items_and_other_people_are_not_duplicates(app, client, village, township, central_info):
    key = _network_key(client, village, central_info)
    _receive(village, duplicate_token(key, ID_NUMBER, "GF00301000"), "form-1")
    push(client, village, central_info, village.events)
    _receive(township, duplicate_token(key, ID_NUMBER, "OTHER"), "form-2")
    _receive(township, duplicate_token(key, "110105194912310037", "GF00301000"), "form-3")
    push(client, township, central_info, township.events)
    assert not Conflict.select().where(Conflict.conflict_class == "C").exists()
    assert DuplicateToken.select().count() == 3


def test_the_flag_names_both_applications_by_number_and_station(app, client, village, township, central_info):
    held = _first_bundle(client, village, central_info)
    network_key = base64.b64decode(json.loads({p.type: p for p in held.parts}["netkey"].data)["duplicate"])
    token = duplicate_token(network_key, ID_NUMBER, "GF00301000")
    first = _receive(village, token, "form-v")
    push(client, village, central_info, village.events)
    second = _receive(township, token, "form-t")
    push(client, township, central_info, township.events)
    conflict = Conflict.get(Conflict.conflict_class == "C")
    flag = parse_event(
        bytes(LogEvent.get(LogEvent.event_type == "conflict_flagged", LogEvent.aggregate_id == second).body)
    )
    assert flag.payload["cases"] == [second, first] and flag.payload["conflict"] == conflict.id
    names = {row.code: row.name for row in Station.select()}
    assert flag.payload["parties"] == [
        {"case": second, "number": f"{TOWNSHIP}-20260302-form-t", "station": TOWNSHIP,
         "station_name": names[TOWNSHIP]},
        {"case": first, "number": f"{village.code}-20260302-form-v", "station": village.code,
         "station_name": names[village.code]},
    ]  # fmt: skip
    assert names[TOWNSHIP] and names[village.code]
    # The village, whose case came first, hears of it too, before anyone decides.
    bundle = open_bundle(
        client.get(f"/api/v1/stations/{village.code}/bundles?after={held.state.version}"), village, central_info,
        held.state,
    )  # fmt: skip
    assert flag.body in {p.type: p for p in bundle.parts}["decisions"].data.splitlines()
