"""The organ's notices on a case received elsewhere (documents.ORGAN_NOTICES): the township numbers its 一次性告知书
or 不予受理通知书 with the act, and the village that received the case prints that notice — the township's name and
number — for the applicant; a township's own window case keeps numbering at print time."""

from __future__ import annotations

from casework.catalog import demo_catalog
from station.models import EventLog
from station.services import cases as case_service
from station.services import documents
from station.services.actions import perform_action
from station.services.log import events_of

from .conftest import TOWNSHIP_CODE, VILLAGE_CODE
from .helpers import LOW_INCOME
from .test_custody import (
    COUNTY_CODE,
    ID_NUMBERS,
    TOWNSHIP_ACTOR,
    in_,
    install_registry,
    node_of,
    receive_case,
    registry_for,
    township_app,
)
from .test_report_route import carry_to_township, route_events

CORRECTION = {"fix_family_ids": "1", "problem_family_ids": "户口簿缺少户主页"}


def linked(app, tmp_path):
    township = township_app(tmp_path)
    install_registry(
        township,
        registry_for(
            (app, VILLAGE_CODE, "village", TOWNSHIP_CODE), (township, TOWNSHIP_CODE, "township", COUNTY_CODE)
        ),
    )
    return app, township


def test_the_village_prints_the_townships_correction_notice_under_its_name_and_number(app, tmp_path):
    village, township = linked(app, tmp_path)
    case = receive_case(village, item_code=LOW_INCOME)
    carry_to_township(village, township, case.id)
    with in_(township):
        done, problems = perform_action(TOWNSHIP_ACTOR, case.id, "request_correction", CORRECTION, "corr-1")
        assert problems == {} and done.state == "correction_requested"
        [act] = [e for e in events_of("case", case.id) if e.type == "case.correction_requested"]
        assert act.payload["issuer"] == "测试镇便民服务中心"
        [issued] = documents.issued_documents(case.id)
        assert (issued.kind, issued.doc_number, issued.basis_event) == (
            "correction_notice",
            act.payload["notice_no"],
            act.event_id,
        )
        [offered] = [d for d in documents.available_documents(case.id) if d.kind == "correction_notice"]
        assert offered.issued == issued, "the township's own print shows the number given with the act"
    route_events(township, village, case.id, 20)

    with in_(village):
        [notice] = [d for d in documents.available_documents(case.id) if d.kind == "correction_notice"]
        assert notice.basis.event_id == act.event_id and notice.issued.doc_number == act.payload["notice_no"]
        assert documents.issue_number(case.id, notice, "village") == notice.issued
        record = documents.CaseRecord.get_by_id(case.id)
        printed = documents.build_document(
            record, notice, notice.issued, node_of(village).keys.signing_key, "village"
        )
        assert printed.issuer.organ == "测试镇人民政府" and printed.issuer.level == "township"
        assert printed.doc_number == act.payload["notice_no"]
        assert [c.problem for c in printed.corrections] == ["户口簿缺少户主页"]
        assert EventLog.select().where(EventLog.event_type == "document.issued").count() == 0, (
            "the village numbers nothing of the organ's"
        )
        assert "acceptance_notice" not in {d.kind for d in documents.available_documents(case.id)}


def test_a_refusal_carries_its_notice_number_and_a_window_case_is_numbered_when_printed(app, tmp_path):
    village, township = linked(app, tmp_path)
    case = receive_case(village, item_code=LOW_INCOME)
    carry_to_township(village, township, case.id)
    refusal = {"reason_code": "other", "reason": "不符合申请条件"}
    with in_(township):
        _done, problems = perform_action(TOWNSHIP_ACTOR, case.id, "refuse_acceptance", refusal, "refuse-1")
        assert problems == {}
        [act] = [e for e in events_of("case", case.id) if e.type == "case.not_accepted"]
        assert act.payload["notice_no"].startswith("测试便民不受〔")
        # The township's own window case: nothing numbered until the notice is printed.
        form = case_service.IntakeForm(
            token="own-window", item_code=LOW_INCOME, applicant_name="李秀兰", id_number=ID_NUMBERS[1],
            phone="13800138000", materials={m.key: "received" for m in demo_catalog().item(LOW_INCOME).materials},
        )  # fmt: skip
        own = case_service.receive_application(node_of(township).keys.field_cipher, TOWNSHIP_ACTOR, form)
        _done, problems = perform_action(TOWNSHIP_ACTOR, own.id, "refuse_acceptance", refusal, "refuse-2")
        assert problems == {}
        [own_act] = [e for e in events_of("case", own.id) if e.type == "case.not_accepted"]
        assert "notice_no" not in own_act.payload and "issuer" not in own_act.payload
        assert [d.kind for d in documents.issued_documents(own.id)] == []
    route_events(township, village, case.id, 20)
    with in_(village):
        [notice] = [d for d in documents.available_documents(case.id) if d.kind == "rejection_notice"]
        assert notice.issued.doc_number == act.payload["notice_no"]
