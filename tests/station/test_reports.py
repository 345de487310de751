"""The station's own report, offline: KPIs from cases made by the real intake service, against a hand-made table."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from casework.events import validate_payload
from casework.kpi import Period
from station.db import write_transaction
from station.models import AuditLog, CaseRecord
from station.services.cases import Actor, IntakeForm, project_case, receive_application, wire_type
from station.services.log import append_event
from station.services.reports import build_report, parse_period

from .conftest import TOWNSHIP_CODE, login
from .helpers import citizen_id, intake_data

MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
ON = dt.date(2026, 4, 15)
CLERK = Actor("township", "township_clerk")


def intake(
    app, token: str, item_code: str, decision: str, on: str, *, defer: bool = False, body17: str
) -> str:
    data = intake_data(
        token, item_code=item_code, decision=decision, defer=defer, id_number=citizen_id(body17)
    )
    form = IntakeForm(
        token=token,
        item_code=item_code,
        applicant_name=data["applicant_name"],
        id_number=data["id_number"],
        phone=data["phone"],
        address=data["address"],
        materials={k[len("material_") :]: v for k, v in data.items() if k.startswith("material_")},
        decision=decision,
    )
    cipher = app.extensions["station"].keys.field_cipher
    return receive_application(cipher, CLERK, form, on=dt.date.fromisoformat(on)).id


def record(case_id: str, local_type: str, key: str, **payload) -> None:
    """Append a later event through the station's log service and re-project, as the window's actions do."""
    validate_payload(local_type, payload)
    with write_transaction():
        append_event(
            actor=CLERK.username,
            event_type=wire_type(local_type),
            aggregate_kind="case",
            aggregate_id=case_id,
            payload=payload,
            idempotency_key=key,
        )
        project_case(case_id)


def hand_over(case_id: str, on: str, frm: str, key: str) -> None:
    record(case_id, "result_ready", f"{key}.ready", **{"from": frm, "to": "result_ready", "ready_on": on,
                                                        "notice_sent": True, "pickup": "window"})  # fmt: skip
    record(case_id, "delivered", f"{key}.delivered", **{"from": "result_ready", "to": "delivered",
                                                        "delivered_on": on, "method": "window", "signed_by": "张三"})  # fmt: skip


def rate(case_id: str, level: int, on: str, key: str) -> None:
    record(case_id, "rated", key, rating_id=key, level=level, stage="completion", channel="paper_card",
           rated_on=on, rater="applicant")  # fmt: skip


@pytest.fixture
def worked(township_app):
    app = township_app
    # 1. 临时救助 (10 days) accepted 2 March, result collected at the window on the 5th: two trips. Rated 5.
    c1 = intake(app, "t1", "GF00203000", "accept", "2026-03-02", body17="99010119800101123")
    hand_over(c1, "2026-03-05", "accepted", "t1")
    rate(c1, 5, "2026-03-05", "t1.rating")
    # 2. 老年人优待证 (即办件) handed over on the spot: one trip. Rated 2 (差评), not followed up yet.
    c2 = intake(app, "t2", "GG00302000", "accept", "2026-03-03", body17="99010119800202124")
    hand_over(c2, "2026-03-03", "accepted", "t2")
    rate(c2, 2, "2026-03-03", "t2.rating")
    # 3. 临时救助 容缺受理 on 4 March and still open: deadline 18 March passed by the end of the month.
    intake(app, "t3", "GF00203000", "accept_with_gaps", "2026-03-04", defer=True, body17="99010119800303125")
    # 4. 低保 (promised 25, legal 30) received 10 March, no 补正 notice and no decision: deemed accepted (§32).
    intake(app, "t4", "GF00201000", "receive", "2026-03-10", body17="99010119800404126")
    # 5. received in April: outside March.
    intake(app, "t5", "GG00302000", "accept", "2026-04-01", body17="99010119800505127")
    assert CaseRecord.select().count() == 5
    return app


# Hand-computed for March: materials 4, 2, 4 (two 容缺 count as handed in later), 6 → 16 / 4.
# Trips 2, 1, 1, 1 → 5 / 4. Compression: only 低保 has a legal limit: 1 − 25/30.
EXPECTED = [
    ["站点代码", "站点", "受理量", "办结率", "按时办结率", "超期件数", "即办件比例", "容缺受理件数", "代办件数",
     "平均办理环节", "平均申报材料", "平均跑动次数", "时限压缩率", "满意率", "差评率", "差评整改率", "不出村办结占比",
     "代办跑动次数", "平均村站滞留天数", "平均每段在途天数"],
    [TOWNSHIP_CODE, "测试镇便民服务中心", "4", "50.00%", "100.00%", "1", "25.00%", "1", "0",
     "1.00", "4.00", "1.25", "16.67%", "50.00%", "50.00%", "0.00%", "0.00%", "0", "", ""],
    ["", "合计", "4", "50.00%", "100.00%", "1", "25.00%", "1", "0",
     "1.00", "4.00", "1.25", "16.67%", "50.00%", "50.00%", "0.00%", "0.00%", "0", "", ""],
]  # fmt: skip


def test_csv_matches_the_hand_computed_table_and_opens_in_excel(worked):
    client = worked.test_client()
    login(client, "township")
    response = client.get("/reports/export.csv?kind=month&value=2026-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in response.data
    assert list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")))) == EXPECTED
    assert 'filename="kpi-20260301-20260331.csv"' in response.headers["Content-Disposition"]
    exported = AuditLog.select().where(AuditLog.action == "export").get()
    assert exported.actor == "township" and '"kind": "report"' in exported.detail


def test_deemed_acceptance_counts_from_receipt_only_once_five_working_days_passed(worked):
    assert build_report(MARCH, on=ON).total.accepted == 4
    # On 12 March the 低保 case was two working days old: not yet deemed accepted.
    assert build_report(MARCH, on=dt.date(2026, 3, 12)).total.accepted == 3


def test_trend_and_lights(worked):
    report = build_report(MARCH, on=ON)
    assert [(p.month, p.accepted, p.completed) for p in report.trend if p.accepted] == [("2026-03", 4, 2)]
    assert report.trend[-1].month == "2026-03" and len(report.trend) == 12
    lights = {row.code: sum(row.counts.values()) for row in report.lights}
    assert lights == {TOWNSHIP_CODE: 3}  # cases 3, 4 and April's; the handed-over ones are closed
    april = build_report(parse_period("month", "2026-04"), on=ON)
    assert april.total.accepted == 1 and april.total.immediate_share == 1


def test_report_page_is_chinese_with_two_charts(worked):
    client = worked.test_client()
    login(client, "township")
    page = client.get("/reports/?kind=quarter&value=2026-Q1").get_data(as_text=True)
    assert "报表" in page and "按时办结率" in page and "16.67%" in page
    assert page.count("<svg") == 2 and "每月受理与办结" in page
    assert "/reports/" in client.get("/").get_data(as_text=True)  # the nav link


def test_a_village_with_nothing_accepted_yet_says_so(client):
    login(client, "village")
    page = client.get("/reports/?kind=year&value=2026").get_data(as_text=True)
    assert "该时段内没有受理的办件" in page


def test_a_bad_period_is_a_form_message(client):
    login(client, "village")
    response = client.get("/reports/?kind=custom&start=2026-03-09&end=2026-03-01")
    assert response.status_code == 422 and "2026-Q1" in response.get_data(as_text=True)
    assert client.get("/reports/export.csv?kind=quarter&value=2026-Q0").status_code == 422


@pytest.mark.parametrize(("user", "status"), [("village", 200), ("auditor", 200), ("agent", 403)])
def test_who_may_open_the_report(client, user, status):
    login(client, user)
    assert client.get("/reports/").status_code == status
    assert client.get("/reports/export.csv").status_code == status


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "expected"),
    [
        ("month", "2026-02", "", "", (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        ("quarter", "2026-q4", "", "", (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ("year", "2025", "", "", (dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
        ("custom", "", "2026-03-05", "2026-03-05", (dt.date(2026, 3, 5), dt.date(2026, 3, 5))),
        ("month", "2026-13", "", "", None),
        ("quarter", "2026-Q0", "", "", None),
        ("custom", "", "2026-03-05", "", None),
        ("week", "2026-10", "", "", None),
    ],
)
def test_periods_are_read_from_the_form(kind, value, start, end, expected):
    period = parse_period(kind, value, start, end)
    assert (None if period is None else (period.start, period.end)) == expected


def test_a_duplicate_merged_into_another_case_is_not_counted(worked):
    first = CaseRecord.get(CaseRecord.number.contains("-0001")).id
    duplicate = intake(worked, "t6", "GG00302000", "accept", "2026-03-20", body17="99010119800606128")
    assert build_report(MARCH, on=ON).total.accepted == 5
    record(duplicate, "duplicate_merged", "t6.merge", into_case=first, reason="同一申请录入两次")
    assert build_report(MARCH, on=ON).total.accepted == 4
