"""Conflicts (SYNC-DESIGN §9) produced by real concurrent batches from two stations: detection by
sync_protocol.concurrency, classes and automatic resolutions from casework.merge, the queue and a person's choice."""

from __future__ import annotations

import pytest

from central.models import AuditEntry, CaseRecord, Conflict, LogEvent
from sync_protocol.events import parse_event
from sync_protocol.hlc import HLC

from .builders import SimStation
from .conftest import TOWNSHIP, issue, login
from .test_ingest import latest_ack, put

pytestmark = pytest.mark.usefixtures("stations")


@pytest.fixture
def township(stations, client, central_info):
    station = SimStation(TOWNSHIP, central_info["network"])
    assert (
        client.post("/api/v1/enroll", data=station.enrollment_request(issue(stations, TOWNSHIP))).status_code
        == 200
    )
    station.open_epoch()
    return station


@pytest.fixture
def shared_case(client, village, township, central_info):
    """A case the village received, synced: both stations then act on central version ``base``."""
    case_id = village.receive_case()
    put(client, village.batch(village.events, central_info))
    return case_id, CaseRecord.get_by_id(case_id).version


def push(client, station, central_info, events):
    assert put(client, station.batch(events, central_info)).status_code == 202


def withdraw(station, case_id, base):
    payload = {
        "from": "village_received",
        "to": "withdrawn",
        "withdrawn_on": "2026-03-04",
        "reason": "申请人撤回",
    }
    return station.append("withdrawn", case_id, payload, base_version=base)


def test_concurrent_legal_acts_wait_for_a_person_and_the_loser_is_not_applied(
    client, village, township, shared_case, central_info
):
    case_id, base = shared_case
    dispatch = {"from": "village_received", "to": "in_transit", "manifest_id": "m1", "carrier": "agent",
                "to_station": TOWNSHIP, "at": "2026-03-04T09:00:00+08:00", "direction": "up"}  # fmt: skip
    village.append("custody_dispatched", case_id, dispatch, base_version=base)
    push(client, village, central_info, village.events[-1:])
    incoming = township.append(
        "not_accepted",
        case_id,
        {
            "from": "village_received",
            "to": "not_accepted",
            "decided_on": "2026-03-04",
            "reason_code": "other",
            "reason": "x",
        },
        base_version=base,
    )
    push(client, township, central_info, township.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.incoming_applied) == ("A", "open", False)
    assert conflict.station_code == TOWNSHIP and conflict.incoming_event_id == incoming.event_id
    assert CaseRecord.get_by_id(case_id).state == "in_transit"  # the held-out event does not count
    note = latest_ack(client, central_info, TOWNSHIP).for_epoch(1).not_applied[0]
    assert (note.event_id, note.conflict_id) == (incoming.event_id, str(conflict.id))
    # A person applies the incoming event: a central event records it and the projection follows.
    login(client, "admin")
    page = client.get(f"/conflicts/{conflict.id}").get_data(as_text=True)
    assert "并发状态变更" in page or "A ·" in page
    response = client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "apply_incoming"})
    assert response.status_code == 302
    conflict = Conflict.get_by_id(conflict.id)
    assert (conflict.status, conflict.incoming_applied, conflict.resolved_by) == ("resolved", True, "admin")
    central_event = parse_event(bytes(LogEvent.get(LogEvent.event_id == conflict.resolution_event_id).body))
    assert central_event.station_id == "central" and central_event.payload["incoming"] == incoming.event_id
    assert CaseRecord.get_by_id(case_id).state == "not_accepted"
    assert AuditEntry.select().where(AuditEntry.action == "resolution").exists()
    # Replaying the resolution is a no-op: still one central event.
    client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "keep_applied"})
    resolutions = LogEvent.select().where(
        LogEvent.event_type == "conflict_resolved", LogEvent.aggregate_id == case_id
    )
    assert resolutions.count() == 1
    assert latest_ack(client, central_info, TOWNSHIP).for_epoch(1).not_applied == ()


def test_low_stakes_field_edits_resolve_automatically_last_writer_wins(
    client, village, township, shared_case, central_info
):
    case_id, base = shared_case
    village.append(
        "field_edited",
        case_id,
        {"field": "phone", "old": "13800000000", "new": "13900000000"},
        base_version=base,
    )
    push(client, village, central_info, village.events[-1:])
    township.clock = HLC(village.clock.wall_ms + 60_000, 0)  # the township edits a minute later
    township.append(
        "field_edited",
        case_id,
        {"field": "phone", "old": "13800000000", "new": "13700000000"},
        base_version=base,
    )
    push(client, township, central_info, township.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.outcome) == (
        "B",
        "auto_resolved",
        "last_writer_wins",
    )
    assert conflict.incoming_applied  # the township wrote later (HLC), so its value stands
    assert LogEvent.get(LogEvent.event_id == conflict.resolution_event_id).station_code == "central"


def test_high_stakes_field_edits_go_to_a_person(client, village, township, shared_case, central_info):
    case_id, base = shared_case
    village.append(
        "field_edited", case_id, {"field": "name", "old": "张三", "new": "张叁"}, base_version=base
    )
    push(client, village, central_info, village.events[-1:])
    township.append(
        "field_edited", case_id, {"field": "name", "old": "张三", "new": "章三"}, base_version=base
    )
    push(client, township, central_info, township.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status) == ("B", "open")
    assert "name" in conflict.reason_en


def test_a_late_transition_on_a_closed_case_is_held_for_a_person(
    client, village, township, shared_case, central_info
):
    case_id, base = shared_case
    withdraw(village, case_id, base)
    push(client, village, central_info, village.events[-1:])
    closed_version = CaseRecord.get_by_id(case_id).version
    township.append(
        "not_accepted",
        case_id,
        {
            "from": "withdrawn",
            "to": "not_accepted",
            "decided_on": "2026-03-05",
            "reason_code": "other",
            "reason": "x",
        },
        base_version=closed_version,
    )
    push(client, township, central_info, township.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.outcome) == ("F", "open", "human_review")
    assert CaseRecord.get_by_id(case_id).state == "withdrawn"


def test_events_of_one_station_in_sequence_are_never_a_conflict(client, village, shared_case, central_info):
    case_id, base = shared_case
    village.append("field_edited", case_id, {"field": "phone", "old": "1", "new": "2"}, base_version=base)
    village.append("field_edited", case_id, {"field": "phone", "old": "2", "new": "3"}, base_version=base)
    push(client, village, central_info, village.events[-2:])
    assert Conflict.select().where(Conflict.conflict_class != "D").count() == 0


def test_a_fork_opens_an_integrity_conflict(client, village, central_info):
    village.receive_case()
    push(client, village, central_info, village.events)
    branch = [village.events[0]]
    village.append("field_edited", "case-x", {"field": "phone", "old": "1", "new": "2"}, events=branch)
    push(client, village, central_info, branch)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.outcome) == ("G", "open", "quarantine")


def test_the_queue_lists_open_conflicts_with_owner_and_age(
    client, village, township, shared_case, central_info
):
    case_id, base = shared_case
    village.append("field_edited", case_id, {"field": "name", "old": "a", "new": "b"}, base_version=base)
    push(client, village, central_info, village.events[-1:])
    township.append("field_edited", case_id, {"field": "name", "old": "a", "new": "c"}, base_version=base)
    push(client, township, central_info, township.events)
    login(client, "auditor")
    page = client.get("/conflicts/").get_data(as_text=True)
    assert TOWNSHIP in page, page
    assert "等待人工处理" in page
    conflict_id = Conflict.select().where(Conflict.conflict_class != "D").get().id
    assert (
        client.post(f"/conflicts/{conflict_id}/resolve", data={"choice": "apply_incoming"}).status_code == 403
    )


def _publish_catalog_v2(app, *, withdraw: str | None = None, bump: str | None = None):
    import json
    from importlib import resources

    from central.services.publications import publish_catalog

    data = json.loads(resources.files("casework").joinpath("data/demo_catalog.json").read_bytes())
    with app.app_context():
        publish_catalog(json.dumps(data, ensure_ascii=False).encode(), "admin")
        data["catalog_version"] = 2
        for item in data["items"]:
            if item["code"] == withdraw:
                item["active"] = False
            if item["code"] == bump:
                item["version"] = item["version"] + 1
        publish_catalog(json.dumps(data, ensure_ascii=False).encode(), "admin")


def test_an_application_under_an_older_catalog_is_evaluated_under_it(app, client, village, central_info):
    _publish_catalog_v2(app)
    village.receive_case(catalog_version=1)
    push(client, village, central_info, village.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.outcome) == (
        "E",
        "auto_resolved",
        "evaluate_under_declared_version",
    )
    assert CaseRecord.select().count() == 1


def test_an_application_for_a_withdrawn_item_goes_to_a_person_but_the_case_exists(
    app, client, village, central_info
):
    _publish_catalog_v2(app, withdraw="GF00301000")
    village.receive_case(catalog_version=1)
    push(client, village, central_info, village.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status, conflict.incoming_applied) == ("E", "open", True)
    assert CaseRecord.select().count() == 1


def test_a_restored_station_waits_for_a_person_who_authorizes_its_new_epoch(client, village, central_info):
    from central.models import Batch, HeldEvent

    village.receive_case()
    village.receive_case("990101101201-20260301-0002")
    push(client, village, central_info, village.events)
    # The PC was restored from a backup holding seq 1–2: the station opens epoch 2 linked to seq 2.
    restored = SimStation(village.code, central_info["network"], signing=village.signing, box=village.box)
    restored.epoch, restored.clock = 2, village.clock
    restored.open_epoch(reason="restore", previous_head=(1, 2, village.events[1].event_id))
    restored.receive_case("990101101201-20260302-0001")
    push(client, restored, central_info, restored.events)
    conflict = Conflict.select().where(Conflict.conflict_class != "D").get()
    assert (conflict.conflict_class, conflict.status) == ("G", "open")
    assert Batch.select().order_by(Batch.id.desc()).first().status == "quarantined"
    assert not LogEvent.select().where(LogEvent.epoch == 2).exists()
    login(client, "admin")
    assert "授权" in client.get(f"/conflicts/{conflict.id}").get_data(as_text=True)
    assert (
        client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "authorize_epoch"}).status_code
        == 302
    )
    assert [e.seq for e in LogEvent.select().where(LogEvent.epoch == 2).order_by(LogEvent.seq)] == [1, 2]
    assert HeldEvent.select().count() == 0
    assert Batch.select().order_by(Batch.id.desc()).first().status == "applied"
    assert latest_ack(client, central_info).for_epoch(2).through == 2
    # The authorization reaches the station in its bundle.
    bundle = client.get(f"/api/v1/stations/{village.code}/bundles?after=0")
    assert bundle.status_code == 200


def test_only_a_new_epoch_can_be_authorized(client, village, central_info):
    village.receive_case()
    push(client, village, central_info, village.events)
    branch = [village.events[0]]
    village.append("field_edited", "case-x", {"field": "phone", "old": "1", "new": "2"}, events=branch)
    push(client, village, central_info, branch)
    login(client, "admin")
    conflict_id = Conflict.select().where(Conflict.conflict_class != "D").get().id
    client.post(f"/conflicts/{conflict_id}/resolve", data={"choice": "authorize_epoch"})
    assert Conflict.get_by_id(conflict_id).status == "open"
