"""Central pairs custody events from different stations' batches and raises class-D issues for every anomaly."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from central.models import AuditEntry
from central.services import custody
from central.services.stations import register_station
from sync_protocol.canonical import parse_canonical

from .builders import SimStation
from .conftest import TOWNSHIP, VILLAGE, csrf_token_from, issue, login

pytestmark = pytest.mark.usefixtures("stations")
OTHER_TOWNSHIP = "990101102000"
MANIFEST = f"{VILLAGE}-20260302-M01"
D = dt.date


def enrolled(client, app, code, central_info) -> SimStation:
    station = SimStation(code, central_info["network"])
    assert client.post("/api/v1/enroll", data=station.enrollment_request(issue(app, code))).status_code == 200
    station.open_epoch()
    return station


@pytest.fixture
def township(client, stations, central_info):
    return enrolled(client, stations, TOWNSHIP, central_info)


@pytest.fixture
def other_township(client, stations, central_info):
    with stations.app_context():
        register_station(OTHER_TOWNSHIP, "另一镇便民服务中心", "township", "990101000000", "admin")
    return enrolled(client, stations, OTHER_TOWNSHIP, central_info)


def push(client, station, central_info, start=0):
    batch = station.batch(station.events[start:] if start else station.events, central_info)
    assert client.put(f"/api/v1/files/{batch.name}", data=batch.data).status_code == 202
    return len(station.events)


def dispatch(village, case_id, at="2026-03-02T09:00:00+08:00", to=TOWNSHIP, events=None):
    payload = {"from": "village_received", "to": "in_transit", "manifest_id": MANIFEST, "carrier": "agent",
               "to_station": to, "at": at, "direction": "up"}  # fmt: skip
    return village.append("case.custody_dispatched", case_id, payload, events=events)


def receive(station, case_id, at="2026-03-03T10:00:00+08:00"):
    payload = {"from": "in_transit", "to": "received", "manifest_id": MANIFEST, "received_by": "clerk", "at": at,
               "direction": "up"}  # fmt: skip
    station.append("case.custody_received", case_id, payload)


def refresh(app, today):
    with app.app_context():
        result = custody.refresh_custody(today)
        issues = {i.kind: i for i in custody.list_issues("open")}
    return result, issues


def test_matched_pair_closes_by_itself(app, client, village, township, central_info):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(client, village, central_info)
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 20))
    assert "receipt_without_dispatch" not in issues and "transit_overdue" not in issues
    with app.app_context():
        [pair] = custody.CustodyPair.select()
        assert pair.status == "closed"


def test_receipt_before_the_village_batch_then_the_dispatch_arrives_and_clears_it(
    app, client, village, township, central_info
):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(
        client, township, central_info
    )  # the township relays first; the village's batch is still on the stick
    _, issues = refresh(app, D(2026, 3, 3))
    issue_row = issues["receipt_without_dispatch"]
    assert issue_row.conflict_class == "D"
    assert "没有移交记录" in issue_row.description_zh
    push(client, village, central_info)
    _, issues = refresh(app, D(2026, 3, 3))  # cleared already by the ingest of the village's batch
    assert "receipt_without_dispatch" not in issues
    with app.app_context():
        assert custody.CustodyIssue.get_by_id(issue_row.key).status == "cleared"


def test_double_receipt_and_wrong_station_are_routed_to_every_station_concerned(
    app, client, village, township, other_township, central_info
):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    receive(other_township, case_id, at="2026-03-04T10:00:00+08:00")
    for station in (village, township, other_township):
        push(client, station, central_info)
    _, issues = refresh(app, D(2026, 3, 4))
    assert {"double_receipt", "wrong_station"} <= set(issues)
    assert set(issues["double_receipt"].station_codes) == {VILLAGE, TOWNSHIP, OTHER_TOWNSHIP}
    with app.app_context():
        for code in (VILLAGE, TOWNSHIP, OTHER_TOWNSHIP):
            version, body = custody.custody_issues_part(code)
            document = parse_canonical(body)
            assert version >= 1 and {i["kind"] for i in document["issues"]} >= {
                "double_receipt",
                "wrong_station",
            }
            assert all(i["class"] == "D" for i in document["issues"])


def test_in_transit_past_the_limit_then_received(app, client, village, township, central_info):
    case_id = village.receive_case()
    dispatch(village, case_id)  # Monday 2026-03-02: the 3rd working day after is Thursday 03-05
    start = push(client, village, central_info)
    _, issues = refresh(app, D(2026, 3, 5))
    assert "transit_overdue" not in issues
    _, issues = refresh(app, D(2026, 3, 6))
    assert issues["transit_overdue"].age_days == 4
    assert "超过 3 个工作日仍未签收" in issues["transit_overdue"].description_zh
    receive(township, case_id, at="2026-03-06T16:00:00+08:00")
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 6))
    assert "transit_overdue" not in issues
    assert start == len(village.events)


def test_village_holding_a_case_more_than_three_working_days(app, client, village, central_info):
    village.receive_case()  # received 2026-03-02 and never sent up
    push(client, village, central_info)
    _, issues = refresh(app, D(2026, 3, 5))
    assert "village_holding_overdue" not in issues
    _, issues = refresh(app, D(2026, 3, 6))
    assert issues["village_holding_overdue"].station_codes == [VILLAGE]


def test_result_held_more_than_five_working_days_without_delivery(
    app, client, village, township, central_info
):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    for event_type, payload in (
        ("case.accepted", {"from": "received", "to": "accepted", "accepted_on": "2026-03-03"}),
        ("case.decided", {"from": "accepted", "to": "decided_granted", "decided_on": "2026-03-04", "outcome": "granted", "reasons": []}),
        ("case.result_ready", {"from": "decided_granted", "to": "result_ready", "ready_on": "2026-03-04", "notice_sent": True, "pickup": "agent"}),
    ):  # fmt: skip
        township.append(event_type, case_id, payload)
    push(client, village, central_info)
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 11))
    assert "result_not_delivered" not in issues
    _, issues = refresh(app, D(2026, 3, 12))
    assert issues["result_not_delivered"].station_codes == [TOWNSHIP]


def test_a_human_resolution_is_audited_and_sticks(app, client, village, township, central_info):
    case_id = village.receive_case()
    receive(township, case_id)
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 3))
    key = issues["receipt_without_dispatch"].key
    with app.app_context():
        custody.resolve_issue(key, "admin", "卷宗在镇窗口，村站补录移交")
        assert custody.CustodyIssue.get_by_id(key).status == "resolved"
        entry = AuditEntry.select().where(AuditEntry.action == "resolution").get()
        assert entry.target == key and json.loads(entry.detail)["class"] == "D"
    _, issues = refresh(app, D(2026, 3, 3))
    assert "receipt_without_dispatch" not in issues  # not reopened behind the person's back


def test_central_page_lists_issues_in_chinese_and_admin_resolves(
    app, client, village, township, central_info
):
    case_id = village.receive_case()
    receive(township, case_id)
    push(client, township, central_info)
    login(client, "admin")
    page = client.get("/custody/").get_data(as_text=True)
    assert "没有移交记录" in page
    with app.app_context():
        [row] = custody.list_issues("open")
    token = csrf_token_from(page)
    response = client.post("/custody/resolve", data={"key": row.key, "note": "已核实", "csrf_token": token})
    assert response.status_code == 302
    assert "已核实" in client.get("/custody/?status=resolved").get_data(as_text=True)


def test_auditor_sees_the_queue_but_cannot_resolve(app, client):
    login(client, "auditor")
    assert client.get("/custody/").status_code == 200
    assert client.post("/custody/resolve", data={"key": "x", "note": "n"}).status_code == 403


def test_the_sender_hears_that_its_folder_was_received(app, client, village, township, central_info):
    case_id = village.receive_case()
    dispatch(village, case_id, at="2099-01-05T09:00:00+08:00")
    receive(township, case_id, at="2099-01-05T15:00:00+08:00")
    push(client, village, central_info)
    push(client, township, central_info)
    refresh(app, D(2026, 3, 5))
    with app.app_context():
        _version, body = custody.custody_issues_part(VILLAGE)
        received = parse_canonical(body)["received"]
        assert received == [
            {"manifest_id": MANIFEST, "case_id": case_id, "received_at": "2099-01-05T15:00:00+08:00"}
        ]
        assert parse_canonical(custody.custody_issues_part(TOWNSHIP)[1])["received"] == []


def test_the_page_uses_the_receipt_grace_setting(client, app, village, township, central_info):
    app.config["CUSTODY_RECEIPT_GRACE_DAYS"] = "30"  # a receipt may wait a month for its dispatch here
    case_id = village.receive_case()
    receive(township, case_id, at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    push(client, township, central_info)
    login(client, "admin")
    assert "没有移交记录" not in client.get("/custody/").get_data(as_text=True)
    app.config["CUSTODY_RECEIPT_GRACE_DAYS"] = "0"
    assert "没有移交记录" in client.get("/custody/").get_data(as_text=True)


def test_each_issue_is_a_class_d_conflict_closed_by_a_central_resolution_event(
    app, client, village, township, central_info
):
    from central.models import Conflict, LogEvent

    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 3))
    row = issues["receipt_without_dispatch"]
    with app.app_context():
        conflict = Conflict.get_by_id(row.conflict_id)
        assert (conflict.conflict_class, conflict.status, conflict.aggregate_id) == ("D", "open", case_id)
        assert conflict.station_code == VILLAGE and "没有移交记录" in conflict.reason_zh
    push(client, village, central_info)
    refresh(app, D(2026, 3, 3))
    with app.app_context():
        conflict = Conflict.get_by_id(row.conflict_id)
        assert (conflict.status, conflict.outcome) == ("auto_resolved", custody.CLEARED_OUTCOME)
        event = LogEvent.get(LogEvent.event_id == conflict.resolution_event_id)
        assert (event.station_code, event.event_type, event.aggregate_id) == (
            "central",
            "conflict_resolved",
            case_id,
        )


def test_settling_the_conflict_in_the_general_queue_resolves_the_custody_issue(
    app, client, village, township, central_info
):
    from central.services.conflicts import resolve

    case_id = village.receive_case()
    receive(township, case_id)
    push(client, township, central_info)
    _, issues = refresh(app, D(2026, 3, 3))
    row = issues["receipt_without_dispatch"]
    with app.app_context():
        resolve(row.conflict_id, "dismiss", "admin")
    _, issues = refresh(app, D(2026, 3, 3))
    assert "receipt_without_dispatch" not in issues
    with app.app_context():
        assert custody.CustodyIssue.get_by_id(row.key).status == "resolved"


def test_a_dispatch_re_issued_by_fork_recovery_counts_as_the_dispatch(app, client, village, central_info):
    """The village's dispatch forked (central holds another event at its seq); the station recovers in a new epoch
    and re-issues it as a ``rehome`` event. Central pairs it as the dispatch, as soon as the batch is ingested, and
    holds the folder in transit, not at the village."""
    from central.models import LogEvent
    from sync_protocol.events import REHOME
    from sync_protocol.hlc import HLC
    from sync_protocol.ingest import fork_recovery_events

    case_id = village.receive_case()
    agreed = village.events[-1]
    village.receive_case("990101101201-20260301-0002")  # what central holds at seq 3
    push(client, village, central_info)
    refresh(app, D(2026, 3, 3))
    assert [code for code, _ in holdings(app, case_id)] == [VILLAGE], (
        "received, not dispatched: at the village"
    )
    branch = village.events[:2]  # the station's store went another way after seq 2: the dispatch
    dispatch(village, case_id, events=branch)
    forked = village.batch(branch, central_info)
    assert client.put(f"/api/v1/files/{forked.name}", data=forked.data).status_code == 202
    wall = village.clock.wall_ms + 60_000
    recovery = fork_recovery_events(
        branch, fork_seq=3, agreed_head=(1, 2, agreed.event_id), new_epoch=2, hlc=HLC(wall, 0), wall_ms=wall,
        actor="system",
    )  # fmt: skip
    assert [e.type for e in recovery] == ["epoch.open", REHOME]
    batch = village.batch(recovery, central_info)
    assert client.put(f"/api/v1/files/{batch.name}", data=batch.data).status_code == 202
    with app.app_context():
        assert LogEvent.select().where(LogEvent.event_id == recovery[1].event_id).exists(), (
            "the rehome applied"
        )
        # The ingest's custody refresh already read it (it runs when a hand-over may have arrived).
        [pair] = custody.CustodyPair.select().where(custody.CustodyPair.case_id == case_id)
        assert (pair.dispatch_event, pair.from_station, pair.to_station) == (
            recovery[1].event_id, VILLAGE, TOWNSHIP
        )  # fmt: skip
    refresh(app, D(2026, 3, 3))
    assert holdings(app, case_id) == [], "in transit: held at no station"


def holdings(app, case_id):
    with app.app_context():
        rows = custody.CustodyHolding.select().where(custody.CustodyHolding.case_id == case_id)
        return [(h.station_code, h.kind) for h in rows]
