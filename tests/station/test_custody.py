"""代办 custody at the station: manifests, signed labels, dispatch, receipt (forged labels refused), agent view, issues, 委托书."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from casework.catalog import demo_catalog
from station import create_app
from station import db as dbmod
from station.models import CaseRecord, EventLog, NodeState
from station.services import cases as case_service
from station.services import custody
from station.services.custody import CustodyRefusedError
from sync_protocol import receipts
from sync_protocol.events import parse_event
from sync_protocol.keys import SigningKey
from sync_protocol.registry import StationEntry, StationKey, build_registry
from tests.support.calendars import import_at_station

from .conftest import NETWORK, TOWNSHIP_CODE, VILLAGE_CODE, build_instance

COUNTY_CODE = "990101000000"
OTHER_TOWNSHIP_CODE = "990101102000"
ITEM = "GF00201000"  # 低保: village receives, township accepts
ID_NUMBERS = ("330110198503121236", "33011020000229004X", "513434196001010813", "11010519491231002X")


def make_app(path: Path, code: str, level: str, parent: str):
    build_instance(path, code, level, parent)
    return create_app({"INSTANCE_PATH": str(path), "TESTING": True, "HUEY_IMMEDIATE": True})


def township_app(tmp_path: Path, code: str = TOWNSHIP_CODE):
    return make_app(tmp_path / f"township-{code}", code, "township", COUNTY_CODE)


def node_of(app):
    return app.extensions["station"]


def receive_case(app, name: str = "张晓明", id_number: str = ID_NUMBERS[0], item_code: str = ITEM):
    """A case received at a village window (收件), as the village clerk would enter it."""
    item = demo_catalog().item(item_code)
    form = case_service.IntakeForm(
        token=secrets.token_hex(16),
        item_code=item_code,
        applicant_name=name,
        id_number=id_number,
        phone="13800138000",
        materials={m.key: "received" for m in item.materials},
    )
    node = node_of(app)
    with dbmod.bound(node.database):
        return case_service.receive_application(
            node.keys.field_cipher, case_service.Actor("village", "village_staff"), form
        )


def install_registry(app, stations: dict[str, tuple[str, str, SigningKey]]) -> None:
    """Give a station the registry central would send: code → (level, parent, signing key)."""
    central = SigningKey.generate()
    entries = [
        StationEntry(code, level, parent, (StationKey(key.public_raw, bytes(32), None),))
        for code, (level, parent, key) in sorted(stations.items())
    ]
    registry = build_registry(network=NETWORK, version=1, issued_ms=1, stations=entries, central_key=central)
    with dbmod.bound(node_of(app).database), dbmod.write_transaction():
        NodeState.write("registry", registry.raw.decode("ascii"))


def registry_for(*apps_with_levels) -> dict[str, tuple[str, str, SigningKey]]:
    out = {}
    for app, code, level, parent in apps_with_levels:
        out[code] = (level, parent, node_of(app).keys.signing_key)
    return out


VILLAGE_ACTOR = case_service.Actor("village", "village_staff")
TOWNSHIP_ACTOR = case_service.Actor("township", "township_clerk")
AGENT_ACTOR = case_service.Actor("agent", "proxy_agent")
MONDAY = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)  # 09:00 in China


@pytest.fixture
def village(app):
    return app


@pytest.fixture
def township(tmp_path, village):
    app = township_app(tmp_path)
    install_registry(
        app,
        registry_for(
            (village, VILLAGE_CODE, "village", TOWNSHIP_CODE), (app, TOWNSHIP_CODE, "township", COUNTY_CODE)
        ),
    )
    return app


def in_(app):
    return dbmod.bound(node_of(app).database)


def draft(app, case_ids, to=TOWNSHIP_CODE, now=MONDAY):
    with in_(app):
        return custody.create_manifest(
            node_of(app).keys.signing_key, VILLAGE_ACTOR, case_ids, to, "agent", now
        )


def labels_of(app, manifest_id):
    with in_(app):
        return {f.case_id: f.label for f in custody.manifest_folders(manifest_id)}


def dispatched_manifest(village, cases, now=MONDAY):
    manifest = draft(village, [c.id for c in cases], now=now)
    with in_(village):
        custody.dispatch_manifest(VILLAGE_ACTOR, manifest.id, now)
    return manifest.id


def wire_events(app, wire_type):
    with in_(app):
        rows = EventLog.select().where(EventLog.event_type == wire_type).order_by(EventLog.seq)
        return [parse_event(bytes(r.body)) for r in rows]


# --- manifests and labels ----------------------------------------------------------------------------------


def test_village_cases_waiting_for_an_agent_are_candidates_for_the_parent_township(village):
    first, second = receive_case(village), receive_case(village, "李四", ID_NUMBERS[1])
    with in_(village):
        candidates = custody.manifest_candidates(case_service.station())
    assert [c.id for c in candidates[TOWNSHIP_CODE]] == [first.id, second.id]


def test_drafted_manifest_carries_one_signed_custody_label_per_folder(village):
    case = receive_case(village)
    manifest = draft(village, [case.id])
    assert manifest.id == f"{VILLAGE_CODE}-20261116-M01"
    label = labels_of(village, manifest.id)[case.id]
    key = node_of(village).keys.signing_key
    fields = receipts.verify_qr_payload(label, {key.key_id[:16]: key.public_raw}.get, expected_kind="c")
    assert fields == {
        "case_id": case.id,
        "case_number": case.number,
        "item_code": ITEM,
        "sending_station": VILLAGE_CODE,
        "masked_applicant": "张*明",
        "material_count": len(demo_catalog().item(ITEM).materials),
        "manifest_id": manifest.id,
    }
    assert "张晓明" not in label and ID_NUMBERS[0] not in label
    # A case on a draft is not offered again, and drafting records nothing in the log.
    with in_(village):
        assert custody.manifest_candidates(case_service.station())[TOWNSHIP_CODE] == []
    assert wire_events(village, "case.custody_dispatched") == []


def test_second_manifest_of_the_day_gets_the_next_number(village):
    a, b = receive_case(village), receive_case(village, "李四", ID_NUMBERS[1])
    assert draft(village, [a.id]).id.endswith("-M01")
    assert draft(village, [b.id]).id.endswith("-M02")


def test_manifest_refuses_cases_that_cannot_go_there_and_unknown_agents(village):
    case = receive_case(village)
    with pytest.raises(CustodyRefusedError) as caught:
        draft(village, [case.id], to=OTHER_TOWNSHIP_CODE)
    assert caught.value.message.code == "custody_case_not_eligible"
    with in_(village), pytest.raises(CustodyRefusedError) as caught:
        custody.create_manifest(
            node_of(village).keys.signing_key, VILLAGE_ACTOR, [case.id], TOWNSHIP_CODE, "village"
        )
    assert "代办员" in caught.value.text("zh")


def test_dispatch_appends_one_event_per_folder_and_moves_the_case_in_transit(village):
    cases = [receive_case(village), receive_case(village, "李四", ID_NUMBERS[1])]
    manifest_id = dispatched_manifest(village, cases)
    events = wire_events(village, "case.custody_dispatched")
    assert sorted(e.aggregate_id for e in events) == sorted(c.id for c in cases)
    assert {e.payload["manifest_id"] for e in events} == {manifest_id}
    assert {(e.payload["from"], e.payload["to"], e.payload["direction"]) for e in events} == {
        ("village_received", "in_transit", "up")
    }
    with in_(village):
        assert {CaseRecord.get_by_id(c.id).state for c in cases} == {"in_transit"}
        # Dispatching twice (a double click) records nothing more.
        custody.dispatch_manifest(VILLAGE_ACTOR, manifest_id)
    assert len(wire_events(village, "case.custody_dispatched")) == 2


def test_discard_only_a_draft(village):
    case = receive_case(village)
    manifest = draft(village, [case.id])
    with in_(village):
        custody.discard_manifest(manifest.id)
        assert [c.id for c in custody.manifest_candidates(case_service.station())[TOWNSHIP_CODE]] == [case.id]
    manifest_id = dispatched_manifest(village, [case])
    with in_(village), pytest.raises(CustodyRefusedError):
        custody.discard_manifest(manifest_id)


# --- receipt -----------------------------------------------------------------------------------------------


def test_township_registers_a_folder_before_the_case_data_arrives(village, township):
    case = receive_case(village)
    manifest_id = dispatched_manifest(village, [case])
    label = labels_of(village, manifest_id)[case.id]
    with in_(township):
        registered = custody.receive_folder(
            node_of(township).keys.signing_key, TOWNSHIP_ACTOR, "  " + label[:50] + "\n" + label[50:]
        )
        assert registered.created and not registered.case_known and registered.warning is None
        assert (registered.receipt.case_number, registered.receipt.masked_applicant) == (case.number, "张*明")
        assert CaseRecord.get_or_none(CaseRecord.id == case.id) is None
    [event] = wire_events(township, "case.custody_received")
    assert event.aggregate_id == case.id
    assert (event.payload["from"], event.payload["to"], event.payload["direction"]) == (
        "in_transit",
        "received",
        "up",
    )
    assert event.payload["manifest_id"] == manifest_id


def test_scanning_the_same_label_twice_is_one_receipt(village, township):
    case = receive_case(village)
    label = labels_of(village, dispatched_manifest(village, [case]))[case.id]
    with in_(township):
        key = node_of(township).keys.signing_key
        custody.receive_folder(key, TOWNSHIP_ACTOR, label)
        again = custody.receive_folder(key, TOWNSHIP_ACTOR, label)
    assert not again.created
    assert len(wire_events(township, "case.custody_received")) == 1


def _tampered(label: str) -> str:
    prefix, kind, body, signature = label.split(".")
    fields = json.loads(receipts.b64url_decode(body, "fields"))
    fields[4] = "王*五"  # another applicant on a genuine signature
    forged_body = receipts.b64url_encode(
        json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    )
    return ".".join((prefix, kind, forged_body, signature))


def test_forged_label_is_refused_with_a_clear_chinese_message(village, township):
    case = receive_case(village)
    label = labels_of(village, dispatched_manifest(village, [case]))[case.id]
    with in_(township), pytest.raises(CustodyRefusedError) as caught:
        custody.receive_folder(node_of(township).keys.signing_key, TOWNSHIP_ACTOR, _tampered(label))
    assert caught.value.message.code == "custody_label_forged"
    assert "伪造" in caught.value.text("zh")
    assert wire_events(township, "case.custody_received") == []


def test_label_signed_by_a_key_not_in_the_registry_is_refused(village, tmp_path):
    stranger = township_app(
        tmp_path, OTHER_TOWNSHIP_CODE
    )  # knows no registry: cannot check the village's key
    case = receive_case(village)
    label = labels_of(village, dispatched_manifest(village, [case]))[case.id]
    with in_(stranger), pytest.raises(CustodyRefusedError) as caught:
        custody.receive_folder(node_of(stranger).keys.signing_key, TOWNSHIP_ACTOR, label)
    assert caught.value.message.code == "custody_label_unknown_station"
    assert "同步" in caught.value.text("zh")


@pytest.mark.parametrize("text", ["", "hello", "YCB1.r.AAAA.BBBB", "YCB1.c." + "A" * 1100])
def test_garbage_is_not_a_label(township, text):
    with in_(township), pytest.raises(CustodyRefusedError) as caught:
        custody.receive_folder(node_of(township).keys.signing_key, TOWNSHIP_ACTOR, text)
    assert caught.value.message.code in {"custody_label_empty", "custody_label_malformed"}


def test_a_station_does_not_receive_its_own_folder(village):
    case = receive_case(village)
    label = labels_of(village, dispatched_manifest(village, [case]))[case.id]
    with in_(village), pytest.raises(CustodyRefusedError) as caught:
        custody.receive_folder(node_of(village).keys.signing_key, VILLAGE_ACTOR, label)
    assert caught.value.message.code == "custody_own_folder"


# --- the agent's view and the home page's issues -----------------------------------------------------------


def test_agent_sees_the_folders_carried_since_when_where_and_what_is_overdue(village):
    case = receive_case(village)
    dispatched_manifest(village, [case])
    with in_(village):
        [folder] = custody.carried_by("agent", dt.date(2026, 11, 19))
        assert (folder.case_number, folder.to_station, folder.due) == (
            case.number,
            TOWNSHIP_CODE,
            dt.date(2026, 11, 19),
        )
        assert not folder.overdue
        assert custody.carried_by("agent", dt.date(2026, 11, 20))[0].overdue
        assert custody.carried_by("village", dt.date(2026, 11, 20)) == []
        issues = custody.station_issues(dt.date(2026, 11, 20))
    assert [i.kind for i in issues] == ["transit_overdue"]
    assert case.number in issues[0].message.text("zh")


def test_folder_known_received_is_no_longer_carried(village):
    case = receive_case(village)
    manifest_id = dispatched_manifest(village, [case])
    with in_(village):
        custody.note_received_elsewhere(manifest_id, case.id, "2026-11-17T02:00:00+00:00")
        assert custody.carried_by("agent", dt.date(2026, 11, 20)) == []


def test_village_holding_a_case_too_long_is_a_home_issue(village):
    import_at_station(village)  # received today: the limit may fall in a year casework does not ship
    case = receive_case(village)
    received_on = dt.date.fromisoformat(case.received_on)
    with in_(village):
        calendar = custody.current_calendar()
        assert custody.station_issues(calendar.add_working_days(received_on, 3)) == []
        [issue] = custody.station_issues(calendar.add_working_days(received_on, 4))
    assert issue.kind == "village_holding_overdue"
    assert "未报送乡镇" in issue.message.text("zh")


def test_issues_central_routes_here_replace_the_previous_set(village):
    issue = {
        "class": "D", "kind": "wrong_station", "key": "custody:wrong_station:M1:c1", "case_id": "c1",
        "case_number": "N-1", "manifest_id": "M1", "stations": [VILLAGE_CODE], "since": "2026-11-16",
        "description": {"zh": "卷宗 N-1 应送往甲，却由乙签收", "en": "Folder N-1 was received by the wrong station"},
    }  # fmt: skip
    with in_(village):
        assert custody.record_central_issues([issue, {**issue, "class": "A", "key": "other"}]) == 1
        [shown] = custody.station_issues(dt.date(2026, 11, 16))
        assert (shown.source, shown.message.text("en")) == (
            "central",
            "Folder N-1 was received by the wrong station",
        )
        custody.record_central_issues([])
        assert custody.station_issues(dt.date(2026, 11, 16)) == []


# --- 代办委托书 --------------------------------------------------------------------------------------------


def test_authorization_is_recorded_as_an_event_and_printed_power_by_power(village):
    case = receive_case(village)
    with in_(village):
        row = custody.record_authorization(
            VILLAGE_ACTOR,
            case.id,
            "agent",
            ["sign_for_result", "submit_materials"],
            dt.date(2026, 11, 16),
            None,
            False,
            "t1",
        )
        again = custody.record_authorization(
            VILLAGE_ACTOR,
            case.id,
            "agent",
            ["sign_for_result", "submit_materials"],
            dt.date(2026, 11, 16),
            None,
            False,
            "t1",
        )
        document = custody.authorization_document(row.event_id)
    assert again.event_id == row.event_id
    [event] = wire_events(village, "case.authorization_recorded")
    assert event.payload["powers"] == ["submit_materials", "sign_for_result"]
    assert document.powers == ("代为提交申请材料", "代为签收办理结果")
    from printing import render_html

    html = render_html(document)
    assert (
        "代办委托书" in html
        and "代为签收办理结果" in html
        and "全权" not in html.replace("不得使用“全权”", "")
    )


def test_authorization_with_a_blanket_power_is_refused(village):
    case = receive_case(village)
    with in_(village), pytest.raises(CustodyRefusedError) as caught:
        custody.record_authorization(
            VILLAGE_ACTOR, case.id, "agent", ["全权"], dt.date(2026, 11, 16), None, False, "t2"
        )
    assert caught.value.message.code == "authorization_blanket_power"
    assert wire_events(village, "case.authorization_recorded") == []


def test_manifest_prints_as_pdf_and_print_view_with_every_label(village):
    from printing import render, render_html

    cases = [receive_case(village), receive_case(village, "李四", ID_NUMBERS[1])]
    manifest_id = dispatched_manifest(village, cases)
    with in_(village):
        document = custody.manifest_document(manifest_id)
    assert [f.qr_payload for f in document.folders] == [labels_of(village, manifest_id)[c.id] for c in cases]
    assert render(document).startswith(b"%PDF")
    html = render_html(document)
    assert "代办交接单" in html and manifest_id in html and "张晓明" not in html


def test_central_custody_part_clears_carried_folders_and_shows_issues(village):
    case = receive_case(village)
    manifest_id = dispatched_manifest(village, [case])
    issue = {
        "class": "D", "kind": "double_receipt", "key": f"custody:double_receipt:{manifest_id}:{case.id}",
        "case_id": case.id, "case_number": case.number, "manifest_id": manifest_id,
        "stations": [VILLAGE_CODE, TOWNSHIP_CODE, OTHER_TOWNSHIP_CODE], "since": "2026-11-17", "age_days": 1,
        "description": {"zh": f"卷宗 {case.number} 被多个站点签收", "en": f"Folder {case.number} received twice"},
    }  # fmt: skip
    document = {
        "format": "yiciban.custody_issues/1",
        "station": VILLAGE_CODE,
        "issues": [issue],
        "received": [
            {"manifest_id": manifest_id, "case_id": case.id, "received_at": "2026-11-17T02:00:00+00:00"}
        ],
    }
    with in_(village):
        assert custody.apply_custody_part(json.dumps(document, ensure_ascii=False).encode()) == 1
        assert custody.carried_by("agent", dt.date(2026, 11, 30)) == []
        [shown] = custody.station_issues(dt.date(2026, 11, 30))
        assert shown.source == "central" and "多个站点" in shown.message.text("zh")
        with pytest.raises(ValueError):
            custody.apply_custody_part(json.dumps({**document, "station": TOWNSHIP_CODE}).encode())


def test_a_real_key_speaking_for_another_station_is_refused_as_forged(village, township):
    case = receive_case(village)
    key = node_of(village).keys.signing_key
    fields = {
        "case_id": case.id, "case_number": case.number, "item_code": ITEM, "sending_station": OTHER_TOWNSHIP_CODE,
        "masked_applicant": "张*明", "material_count": 1, "manifest_id": "X-M01",
    }  # fmt: skip
    label = receipts.sign_qr_payload(
        "c", fields, key.private_bytes(), key.key_id
    )  # the village's genuine key
    with in_(township), pytest.raises(CustodyRefusedError) as caught:
        custody.receive_folder(node_of(township).keys.signing_key, TOWNSHIP_ACTOR, label)
    assert caught.value.message.code == "custody_label_forged"


def test_folder_from_a_village_of_another_township_is_registered_with_a_warning(village, tmp_path):
    other = township_app(tmp_path, OTHER_TOWNSHIP_CODE)
    install_registry(other, registry_for((village, VILLAGE_CODE, "village", TOWNSHIP_CODE)))
    case = receive_case(village)
    label = labels_of(village, dispatched_manifest(village, [case]))[case.id]
    with in_(other):
        registered = custody.receive_folder(node_of(other).keys.signing_key, TOWNSHIP_ACTOR, label)
    assert registered.created  # the paper is here: it is registered all the same
    assert registered.warning is not None and TOWNSHIP_CODE in registered.warning.text("zh")


def test_results_carried_back_before_the_decision_syncs_are_registered_at_the_village(village, township):
    case = receive_case(village)
    dispatched_manifest(village, [case])  # the village's view of the case stays in transit until sync
    key = node_of(township).keys.signing_key
    fields = {
        "case_id": case.id, "case_number": case.number, "item_code": ITEM, "sending_station": TOWNSHIP_CODE,
        "masked_applicant": "张*明", "material_count": 2, "manifest_id": f"{TOWNSHIP_CODE}-20261120-M01",
    }  # fmt: skip
    label = receipts.sign_qr_payload("c", fields, key.private_bytes(), key.key_id)
    install_registry(village, registry_for((township, TOWNSHIP_CODE, "township", COUNTY_CODE)))
    with in_(village):
        registered = custody.receive_folder(node_of(village).keys.signing_key, VILLAGE_ACTOR, label)
        assert registered.created and registered.case_known
        assert CaseRecord.get_by_id(case.id).state == "in_transit"
    [event] = wire_events(village, "case.custody_received")
    assert (event.payload["from"], event.payload["to"], event.payload["direction"]) == (
        "in_transit",
        "in_transit",
        "down",
    )
