"""Every document a case can have, printed from a case made by the real station services on a real SQLite store:
PDF (pdftotext shows the case number and the masked ID, never the raw one), print view, 文书编号, roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from station.db import write_transaction
from station.models import CaseRecord, EventLog, NodeState
from station.services import cases as case_service
from station.services.documents import available_documents, issued_documents
from station.services.reference import today
from tests.printing.support import pdf_pages_to_png, pdf_text

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, citizen_id, intake_data

RAW_ID = citizen_id()
MASKED_ID = RAW_ID[:4] + "*" * 10 + RAW_ID[-4:]
NUMBER = re.compile(r"(\S+?)〔(\d{4})〕(\d{4})号")


def intake(client, token: str, decision: str = "receive", **overrides) -> CaseRecord:
    """File an application through the intake form, as a clerk does."""
    path = f"/cases/new/{LOW_INCOME}"
    data = {**intake_data(token, decision=decision, **overrides), "csrf_token": csrf_token(client, path)}
    response = client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return CaseRecord.get(CaseRecord.id == response.headers["Location"].rsplit("/", 1)[1])


def record_events(case_id: str, steps: list[tuple[str, dict]], actor: str = "township") -> None:
    """Later acts of the case, appended through the station's one event service and projected, one transaction."""
    who = case_service.Actor(actor, "township_clerk")
    with write_transaction():
        for n, (local_type, payload) in enumerate(steps):
            case_service._append(
                who, case_service.CASE, case_id, local_type, payload, f"{case_id[:8]}-{local_type}-{n}"
            )
        case_service.project_case(case_id)


def kinds(case: CaseRecord) -> list[str]:
    return [d.kind for d in available_documents(case.id)]


def pdf_of(client, case: CaseRecord, kind: str) -> bytes:
    response = client.get(f"/cases/{case.id}/documents/{kind}.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[-1500:]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="{kind}-{case.number}.pdf"'
    assert disposition.isascii() and "张三" not in disposition and RAW_ID not in disposition
    return response.data


def assert_renders_everywhere(
    client, case: CaseRecord, tmp_path, with_applicant: bool = True
) -> dict[str, str]:
    """Each available document as PDF and print view: case number, masked ID, never the raw ID. Returns PDF texts."""
    texts = {}
    for kind in kinds(case):
        # pdftotext breaks lines where the page does: compare the text without them.
        text = pdf_text(pdf_of(client, case, kind), tmp_path, layout=False).replace("\n", "")
        view = client.get(f"/cases/{case.id}/documents/{kind}")
        assert view.status_code == 200
        html = view.get_data(as_text=True)
        assert "window.print()" in html and f"/documents/{kind}.pdf" in html
        for shown in (text, html):
            assert case.number in shown, kind
            assert RAW_ID not in shown, kind
            if kind != "rating_card":  # the 评价卡 names the staff member, not the applicant
                assert MASKED_ID in shown, kind
        texts[kind] = text
    return texts


def test_township_acceptance_offers_its_documents_and_each_prints(township_app, tmp_path):
    client = township_app.test_client()
    login(client, "township")
    case = intake(client, "acc1", decision="accept", material_school_enrolment_proof="promised")
    assert kinds(case) == ["materials_receipt", "acceptance_notice", "proof_commitment", "rating_card"]
    texts = assert_renders_everywhere(client, case, tmp_path)
    assert "受理通知书" in texts["acceptance_notice"] and "在校证明" in texts["proof_commitment"]
    assert "本凭证不作为受理依据" not in texts["materials_receipt"]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/documents/acceptance_notice.pdf" in page and "受理通知书" in page


def test_gap_acceptance_prints_notice_and_commitment_with_the_supply_dates(township_app, tmp_path):
    client = township_app.test_client()
    login(client, "township")
    case = intake(client, "gap1", decision="accept_with_gaps", defer=True)
    assert kinds(case) == ["materials_receipt", "gap_acceptance_notice", "gap_commitment", "rating_card"]
    texts = assert_renders_everywhere(client, case, tmp_path)
    view = case_service.case_view(case.id)
    supply_by = min(gap.supply_by for gap in view.gaps.values())
    assert f"{supply_by.year}年{supply_by.month}月{supply_by.day}日" in texts["gap_commitment"]
    assert "在校证明" in texts["gap_acceptance_notice"]


def test_correction_then_refusal_to_accept(township_app, tmp_path):
    client = township_app.test_client()
    login(client, "township")
    case = intake(client, "cor1")
    on = today().isoformat()
    correction = {"material": "family_ids", "problem": "缺少户主页", "how_to_fix": "补交户主页复印件"}
    record_events(case.id, [("correction_requested", {"from": "received", "to": "correction_requested",
                                                        "notice_on": on, "corrections": [correction]})])  # fmt: skip
    assert kinds(case) == ["materials_receipt", "correction_notice", "rating_card"]
    texts = assert_renders_everywhere(client, case, tmp_path)
    assert "缺少户主页" in texts["correction_notice"] and "补交户主页复印件" in texts["correction_notice"]
    record_events(case.id, [("not_accepted", {"from": "correction_requested", "to": "not_accepted",
                                              "decided_on": on, "reason_code": "other",
                                              "reason": "逾期未补正材料"})])  # fmt: skip
    texts = assert_renders_everywhere(client, case, tmp_path)
    assert "不予受理" in texts["rejection_notice"] and "逾期未补正材料" in texts["rejection_notice"]
    assert "行政复议" in texts["rejection_notice"]


def test_pause_extension_refusal_result_and_delivery(township_app, tmp_path):
    client = township_app.test_client()
    login(client, "township")
    case = intake(client, "life1", decision="accept")
    on = today().isoformat()
    same = {"from": "accepted", "to": "accepted"}
    record_events(case.id, [
        ("paused", {**same, "procedure": "publicity", "started_on": on, "expected_days": 7,
                    "counts_toward_limit": False, "reason": "低保审核确认需在申请人所在村公示"}),
        ("resumed", {**same, "resumed_on": on}),
        ("extended", {**same, "extended_on": on, "days": 15, "approver": "镇长 陈立新", "reason": "需联合入户核查"}),
        ("decided", {"from": "accepted", "to": "decided_refused", "decided_on": on, "outcome": "refused",
                     "reasons": ["家庭人均收入高于当地低保标准"], "document_no": "青民低〔2026〕第0231号"}),
        ("result_ready", {"from": "decided_refused", "to": "result_ready", "ready_on": on, "notice_sent": True,
                          "pickup": "agent"}),
        ("delivered", {"from": "result_ready", "to": "delivered", "delivered_on": on, "method": "agent",
                       "signed_by": "张丽华", "relationship": "配偶"}),
    ])  # fmt: skip
    assert kinds(case) == [
        "materials_receipt", "acceptance_notice", "special_procedure_notice", "extension_notice",
        "result_ready_notice", "refusal_decision", "delivery_receipt", "rating_card",
    ]  # fmt: skip
    texts = assert_renders_everywhere(client, case, tmp_path)
    assert "公示" in texts["special_procedure_notice"] and "镇长 陈立新" in texts["extension_notice"]
    assert (
        "家庭人均收入高于当地低保标准" in texts["refusal_decision"]
        and "不予给付" in texts["refusal_decision"]
    )
    assert "青民低〔2026〕第0231号" in texts["result_ready_notice"]
    assert "张丽华" in texts["delivery_receipt"] and "配偶" in texts["delivery_receipt"]
    assert "办结" in texts["rating_card"]


def test_village_prints_a_receipt_and_never_an_acceptance_notice(client, tmp_path):
    login(client, "village")
    case = intake(client, "vil1")
    assert kinds(case) == ["materials_receipt", "rating_card"]
    texts = assert_renders_everywhere(client, case, tmp_path)
    assert "本凭证不作为受理依据" in texts["materials_receipt"]
    for kind in ("acceptance_notice", "rejection_notice", "gap_acceptance_notice", "refusal_decision"):
        assert client.get(f"/cases/{case.id}/documents/{kind}.pdf").status_code == 404
        assert client.get(f"/cases/{case.id}/documents/{kind}").status_code == 404
    listing = client.get(f"/cases/{case.id}/documents").get_data(as_text=True)
    assert "材料接收凭证" in listing and "受理通知书由受理机关出具" in listing
    assert "documents/acceptance_notice" not in listing


def test_numbers_are_given_once_per_act_and_count_per_kind_and_year(township_app):
    client = township_app.test_client()
    login(client, "township")
    first = intake(client, "num1", decision="accept")
    second = intake(client, "num2", decision="accept", id_number=citizen_id("99010119900202123"))
    views = [
        client.get(f"/cases/{first.id}/documents/acceptance_notice").get_data(as_text=True) for _ in range(2)
    ]
    pdf_of(client, first, "acceptance_notice")
    client.get(f"/cases/{second.id}/documents/acceptance_notice")
    client.get(f"/cases/{first.id}/documents/materials_receipt")
    year = today().year
    (first_number,) = [d.doc_number for d in issued_documents(first.id) if d.kind == "acceptance_notice"]
    (second_number,) = [d.doc_number for d in issued_documents(second.id) if d.kind == "acceptance_notice"]
    (receipt_number,) = [d.doc_number for d in issued_documents(first.id) if d.kind == "materials_receipt"]
    assert first_number == f"测试便民受〔{year}〕0001号" and second_number == f"测试便民受〔{year}〕0002号"
    assert receipt_number == f"测试便民收〔{year}〕0001号"
    assert all(first_number in view for view in views)
    issued_events = EventLog.select().where(EventLog.event_type == "document.issued")
    assert issued_events.count() == 3 and {e.aggregate_kind for e in issued_events} == {"document"}
    assert NodeState.read(f"document_sequence:acceptance_notice:{year}") == 2
    assert first_number in client.get(f"/cases/{first.id}/documents").get_data(as_text=True)
    # The rating card carries no number and records nothing.
    client.get(f"/cases/{first.id}/documents/rating_card.pdf")
    assert EventLog.select().where(EventLog.event_type == "document.issued").count() == 3


@pytest.mark.parametrize(("user", "status"), [("agent", 403), ("auditor", 403), ("village", 200)])
def test_only_station_staff_print_case_documents(client, user, status):
    login(client, "village")
    case = intake(client, "role1")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, user)
    for path in ("", "/materials_receipt", "/materials_receipt.pdf"):
        assert client.get(f"/cases/{case.id}/documents{path}").status_code == status


def test_service_guide_prints_offline_for_any_catalog_item(client, tmp_path):
    login(client, "auditor")
    view = client.get(f"/items/{LOW_INCOME}/guide")
    assert view.status_code == 200 and "办事指南" in view.get_data(as_text=True)
    response = client.get(f"/items/{LOW_INCOME}/guide.pdf")
    assert response.status_code == 200 and response.headers["Content-Disposition"].isascii()
    text = pdf_text(response.data, tmp_path, layout=False)
    assert "办事指南" in text and LOW_INCOME in text and "在校证明" in text
    assert client.get("/items/NOSUCHITEM/guide.pdf").status_code == 404


def test_daily_sheet_lists_open_cases_with_masked_names(client, tmp_path):
    login(client, "village")
    case = intake(client, "day1")
    day = today().isoformat()
    html = client.get(f"/daily-sheet?date={day}").get_data(as_text=True)
    assert case.number in html and "张*" in html and "张三" not in html
    response = client.get(f"/daily-sheet.pdf?date={day}")
    text = pdf_text(response.data, tmp_path, layout=False)
    assert case.number in text.replace("\n", "") and "张三" not in text
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="daily_sheet-990101101201-{day}.pdf"'
    )
    earlier = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    assert client.get(f"/daily-sheet?date={earlier}").status_code == 200
    assert client.get("/daily-sheet?date=not-a-date").status_code == 400


def test_receipt_pages_are_saved_as_artifacts(client):
    login(client, "village")
    case = intake(client, "art1")
    pages = pdf_pages_to_png(pdf_of(client, case, "materials_receipt"), "station-materials-receipt")
    assert len(pages) == 2  # 递交人联 and 存根联


@pytest.mark.parametrize(
    ("name", "level", "short", "organ"),
    [
        ("青山镇便民服务中心", "township", "青山便民", "青山镇人民政府"),
        ("青山镇石桥村便民服务站", "village", "石桥", "青山镇石桥村民委员会"),
        ("示范村便民服务站", "village", "示范", "示范村民委员会"),
        ("青山县政务服务中心", "county", "青山便民", "青山县人民政府"),
        ("城南街道便民服务中心", "township", "城南便民", "城南街道人民政府"),
    ],
)
def test_station_short_code_and_organ_come_from_its_name(name, level, short, organ):
    from station.models import StationIdentity
    from station.services.document_builders import organ_name
    from station.services.documents import short_code

    identity = StationIdentity(station_code="990101101000", name=name, level=level)
    assert short_code(identity) == short and organ_name(identity) == organ


def test_configured_font_is_embedded(instance, tmp_path):
    import subprocess

    from station import create_app

    uming = "/usr/share/fonts/truetype/arphic/uming.ttc"
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "PRINT_FONT_PATH": uming})
    client = app.test_client()
    login(client, "village")
    case = intake(client, "font1")
    source = tmp_path / "receipt.pdf"
    source.write_bytes(pdf_of(client, case, "materials_receipt"))
    fonts = subprocess.run(["pdffonts", str(source)], capture_output=True, text=True, check=True).stdout
    assert "UMing" in fonts and "WenQuanYi" not in fonts


def test_a_pc_without_chinese_fonts_gets_a_clear_message_and_the_print_view(client, monkeypatch):
    import functools

    from printing import FontConfig
    from station.views import documents as document_views

    monkeypatch.setattr(document_views, "FontConfig", functools.partial(FontConfig, search_dirs=()))
    login(client, "village")
    case = intake(client, "font2")
    response = client.get(f"/cases/{case.id}/documents/materials_receipt.pdf")
    assert response.status_code == 503
    assert "fonts-wqy-microhei" in response.get_data(as_text=True) and "中文字体" in response.get_data(
        as_text=True
    )
    assert client.get(f"/cases/{case.id}/documents/materials_receipt").status_code == 200
