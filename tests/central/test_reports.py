"""Reports at central: KPIs of SPEC §3.10 from real ingested batches, checked against a hand-computed table."""

from __future__ import annotations

import csv
import datetime as dt
import io
from fractions import Fraction

import pytest

from casework.catalog import demo_catalog
from casework.kpi import Period
from central.models import AuditEntry, CaseRecord
from central.services.reports import (
    KpiCaseSummary,
    ReportQuery,
    build_report,
    parse_period,
    refresh_summaries,
)
from sync_protocol.events import new_uuid7

from .builders import WALL, SimStation
from .conftest import TOWNSHIP, VILLAGE, issue, login

pytestmark = pytest.mark.usefixtures("stations")

COUNTY = "990101000000"
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
TODAY = dt.date(2026, 4, 15)


class Window:
    """One simulated station writing case events the way a station does."""

    def __init__(self, sim: SimStation) -> None:
        self.sim = sim

    def receive(self, item_code: str, on: str, *, village: bool = False, statuses: dict | None = None) -> str:
        item = demo_catalog().item(item_code)
        case_id = new_uuid7(WALL)
        self.sim.append(
            "received",
            case_id,
            {
                "from": None,
                "to": "village_received" if village else "received",
                "case_no": f"{self.sim.code}-{on}-{len(self.sim.events):04d}",
                "item_code": item.code,
                "item_version": item.version,
                "applicant_id": new_uuid7(WALL),
                "station": self.sim.code,
                "received_on": on,
                "channel": "village" if village else "window",
                "materials": [
                    {"key": m.key, "status": (statuses or {}).get(m.key, "received")} for m in item.materials
                ],
            },
        )
        return case_id

    def event(self, case_id: str, event_type: str, **payload) -> None:
        self.sim.append(event_type, case_id, payload)

    def accept(self, case_id: str, on: str, frm: str = "received") -> None:
        self.event(case_id, "accepted", **{"from": frm, "to": "accepted", "accepted_on": on})

    def finish(self, case_id: str, ready_on: str, pickup: str, frm: str = "decided_granted") -> None:
        self.event(
            case_id,
            "result_ready",
            **{
                "from": frm,
                "to": "result_ready",
                "ready_on": ready_on,
                "notice_sent": True,
                "pickup": pickup,
            },
        )

    def deliver(self, case_id: str, on: str, method: str) -> None:
        self.event(
            case_id,
            "delivered",
            **{
                "from": "result_ready",
                "to": "delivered",
                "delivered_on": on,
                "method": method,
                "signed_by": "张三",
            },
        )

    def carry(self, case_id: str, manifest: str, to: str, at: str, direction: str = "up") -> None:
        """移交: the folder leaves with the agent (up from the village, or the result back down)."""
        frm, state = (
            ("village_received", "in_transit") if direction == "up" else ("result_ready", "result_ready")
        )
        self.event(case_id, "custody_dispatched", **{"from": frm, "to": state, "manifest_id": manifest,
                                                     "carrier": "agent", "to_station": to, "at": at,
                                                     "direction": direction})  # fmt: skip

    def sign_for(self, case_id: str, manifest: str, at: str, direction: str = "up") -> None:
        """签收: the receiving station registers the folder."""
        frm, state = ("in_transit", "received") if direction == "up" else ("result_ready", "result_ready")
        self.event(case_id, "custody_received", **{"from": frm, "to": state, "manifest_id": manifest,
                                                   "received_by": "clerk", "at": at,
                                                   "direction": direction})  # fmt: skip

    def decide(self, case_id: str, on: str, frm: str = "accepted") -> None:
        self.event(
            case_id,
            "decided",
            **{"from": frm, "to": "decided_granted", "decided_on": on, "outcome": "granted", "reasons": []},
        )

    def rate(self, case_id: str, level: int, on: str) -> str:
        rating_id = new_uuid7(WALL)
        self.event(
            case_id,
            "rated",
            rating_id=rating_id,
            level=level,
            stage="completion",
            channel="paper_card",
            rated_on=on,
            rater="applicant",
        )
        return rating_id


@pytest.fixture
def central_info(client):
    return client.get("/api/v1/info").get_json()


def enrolled(stations, client, central_info, code: str) -> Window:
    sim = SimStation(code, central_info["network"])
    response = client.post("/api/v1/enroll", data=sim.enrollment_request(issue(stations, code)))
    assert response.status_code == 200
    sim.open_epoch()
    return Window(sim)


def push(client, window: Window, central_info) -> None:
    batch = window.sim.batch(window.sim.events, central_info)
    assert client.put(f"/api/v1/files/{batch.name}", data=batch.data).status_code in (200, 202)


@pytest.fixture
def worked(stations, client, central_info):
    """The small month of work the hand-computed table below describes (ingested through the real API)."""
    township = enrolled(stations, client, central_info, TOWNSHIP)
    village = enrolled(stations, client, central_info, VILLAGE)
    # 1. 林木采伐许可 (promised 5, legal 20; the township accepts and decides it) at the township window: one
    #    review note, decided, collected at the window.
    c1 = township.receive("XK00502000", "2026-03-02")
    township.accept(c1, "2026-03-02")
    township.event(
        c1, "review_note", **{"from": "accepted", "to": "accepted", "step": "审查", "opinion": "同意"}
    )
    township.decide(c1, "2026-03-04")
    township.finish(c1, "2026-03-05", "window")
    township.deliver(c1, "2026-03-06", "window")
    township.rate(c1, 5, "2026-03-06")
    # 2. 老年人优待证 (即办件) handed over on the spot; rated 非常不满意, followed up and rectified.
    c2 = township.receive("GG00302000", "2026-03-03")
    township.accept(c2, "2026-03-03")
    township.finish(c2, "2026-03-03", "window", frm="accepted")
    township.deliver(c2, "2026-03-03", "window")
    bad = township.rate(c2, 1, "2026-03-03")
    township.event(
        c2, "followup_opened", followup_id="f1", rating_id=bad, opened_on="2026-03-04", due_on="2026-03-25"
    )
    township.event(
        c2, "followup_rectified", followup_id="f1", rectified_on="2026-03-10", measures="窗口增设引导"
    )
    township.event(
        c2, "followup_closed", followup_id="f1", closed_on="2026-03-11", rater_satisfaction="satisfied"
    )
    # 5. 低保 accepted in February, finished in March (trend only).
    c5 = township.receive("GF00201000", "2026-02-26")
    township.accept(c5, "2026-02-27")
    township.finish(c5, "2026-03-20", "window", frm="accepted")
    # 6. refused at acceptance: never in a cohort.
    c6 = township.receive("GG00302000", "2026-03-05")
    township.event(c6, "not_accepted", **{"from": "received", "to": "not_accepted", "decided_on": "2026-03-06",
                                          "reason_code": "not_competent", "reason": "非本机关职责"})  # fmt: skip
    # 7. accepted on 14 April: open with a green light on the 15th, outside March.
    c7 = township.receive("GF00201000", "2026-04-14")
    township.accept(c7, "2026-04-14")
    # 3. 高龄津贴 received in the village (代办), 容缺受理 at the township, still open after its deadline.
    c3 = village.receive(
        "GF00301000", "2026-03-02", village=True, statuses={"social_security_card": "deferred"}
    )
    village.rate(c3, 2, "2026-03-02")
    # 4. 临时救助 received in the village, result carried back by the agent; one material by 告知承诺.
    c4 = village.receive("GF00203000", "2026-03-09", village=True, statuses={"bank_account": "promised"})
    # The agent carries both folders up: c3 held one working day, c4 none; each leg takes one working day.
    village.carry(c3, "V-M1", TOWNSHIP, "2026-03-03T09:00:00+08:00")
    village.carry(c4, "V-M2", TOWNSHIP, "2026-03-09T16:00:00+08:00")
    push(client, village, central_info)
    township.sign_for(c3, "V-M1", "2026-03-04T10:00:00+08:00")
    township.sign_for(c4, "V-M2", "2026-03-10T09:30:00+08:00")
    township.event(
        c3,
        "accepted_with_gaps",
        **{"from": "received", "to": "accepted_with_gaps", "accepted_on": "2026-03-04",
           "gaps": [{"material": "social_security_card", "supply_by": "2026-03-11"}]},
    )  # fmt: skip
    township.accept(c4, "2026-03-10")
    township.decide(c4, "2026-03-11")
    township.finish(c4, "2026-03-12", "agent")
    # The result goes back on Thursday afternoon and is signed for at the village on Monday: two working days.
    township.carry(c4, "T-M1", VILLAGE, "2026-03-12T15:00:00+08:00", direction="down")
    push(client, township, central_info)
    village.sign_for(c4, "T-M1", "2026-03-16T09:00:00+08:00", direction="down")
    village.deliver(c4, "2026-03-16", "agent")
    village.rate(c4, 4, "2026-03-16")
    push(client, village, central_info)
    assert CaseRecord.select().count() == 7
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "township": township}


# The hand-computed table (see the comments in `worked`):
# T: cases 1, 2 · V: cases 3, 4. Steps 3, 1 | 1, 2. Materials 5, 2 | 4, 3 (告知承诺 not handed in).
# Trips 2 (file + collect), 1 (即办, same day) | 0, 0 (代办). Ratings 5, 1 (rectified) | 2, 4.
# Compression: only 林木采伐许可 has a legal limit: 1 − 5/20 = 75.00 %.
# 代办 route (V only): trips 1 (c3 up) + 2 (c4 up and back) = 3; held at the village 1, 0 → 0.50;
# legs 1 (c3), 1 + 2 (c4) → 4 / 3 = 1.33 working days.
HEADER = [
    "代码", "名称", "受理量", "办结率", "按时办结率", "超期件数", "即办件比例", "容缺受理件数", "代办件数",
    "平均办理环节", "平均申报材料", "平均跑动次数", "时限压缩率", "满意率", "差评率", "差评整改率", "不出村办结占比",
    "代办跑动次数", "平均村站滞留天数", "平均每段在途天数",
]  # fmt: skip
EXPECTED_BY_STATION = [
    [TOWNSHIP, "示范镇便民服务中心", "2", "100.00%", "100.00%", "0", "50.00%", "0", "0",
     "2.00", "3.50", "1.50", "75.00%", "50.00%", "50.00%", "100.00%", "0.00%", "0", "", ""],
    [VILLAGE, "示范村便民服务站", "2", "50.00%", "100.00%", "1", "0.00%", "1", "2",
     "1.50", "3.50", "0.00", "", "50.00%", "50.00%", "0.00%", "100.00%", "3", "0.50", "1.33"],
    ["", "合计", "4", "75.00%", "100.00%", "1", "25.00%", "1", "2",
     "1.75", "3.50", "0.75", "75.00%", "50.00%", "50.00%", "50.00%", "33.33%", "3", "0.50", "1.33"],
]  # fmt: skip


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese as UTF-8
    assert b"\r\n" in response.data
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_report_numbers_match_the_hand_computed_table(app, client, worked, monkeypatch):
    monkeypatch.setattr("central.services.reports.china_today", lambda: TODAY)
    login(client, "auditor")
    rows = csv_rows(client.get("/reports/export.csv?kind=month&value=2026-03&group=station"))
    assert rows[0] == HEADER
    assert rows[1:] == EXPECTED_BY_STATION


def test_grouping_by_township_and_county_adds_the_villages_to_their_township(app, worked):
    with app.app_context():
        by_township = build_report(ReportQuery(MARCH, "township"), today=TODAY)
        by_county = build_report(ReportQuery(MARCH, "county"), today=TODAY)
        village_only = build_report(ReportQuery(MARCH, "station", VILLAGE), today=TODAY)
    assert [(r.code, r.kpis.accepted, r.kpis.overdue) for r in by_township.rows] == [(TOWNSHIP, 4, 1)]
    assert [(r.code, r.name, r.kpis.accepted) for r in by_county.rows] == [(COUNTY, "示范县政务服务中心", 4)]
    assert by_township.total == by_county.total
    # The village's hops count in its township's and county's figures: 3 trips, held 1/2, legs 4/3.
    for row in (*by_township.rows, *by_county.rows):
        assert (row.kpis.agent_trips, row.kpis.average_village_hold_days, row.kpis.average_transit_days) == (
            3,
            Fraction(1, 2),
            Fraction(4, 3),
        )
    assert [r.code for r in village_only.rows] == [VILLAGE]
    assert (village_only.total.accepted, village_only.total.via_proxy, village_only.total.with_gaps) == (
        2,
        2,
        1,
    )


def test_trend_counts_each_month_and_lights_show_open_cases_by_station(app, worked):
    with app.app_context():
        report = build_report(ReportQuery(MARCH), today=TODAY)
    assert (
        len(report.trend) == 12 and report.trend[0].month == "2025-04" and report.trend[-1].month == "2026-03"
    )
    assert [(p.month, p.accepted, p.completed) for p in report.trend if p.accepted] == [
        ("2026-02", 1, 0),
        ("2026-03", 4, 3),
    ]
    lights = {row.code: {k: v for k, v in row.counts.items() if v} for row in report.lights}
    assert lights == {TOWNSHIP: {"green": 1}, VILLAGE: {"red": 1}}


def test_summaries_are_refolded_only_when_a_case_changes(app, client, worked, central_info):
    with app.app_context():
        assert refresh_summaries(today=TODAY) == 7
        assert refresh_summaries(today=TODAY) == 0  # nothing changed, and open clocks were evaluated today
        assert refresh_summaries(today=TODAY) == 0
        before = KpiCaseSummary.get_by_id(worked["c3"])
        assert (before.completed_on, before.light, before.clock_running) == (None, "red", True)
    township = worked["township"]
    township.event(
        worked["c3"],
        "gap_supplied",
        **{
            "from": "accepted_with_gaps",
            "to": "accepted",
            "material": "social_security_card",
            "supplied_on": "2026-04-16",
        },
    )
    township.finish(worked["c3"], "2026-04-16", "agent", frm="accepted")
    push(client, township, central_info)
    with app.app_context():
        assert refresh_summaries(today=TODAY) == 1
        after = KpiCaseSummary.get_by_id(worked["c3"])
        assert (after.completed_on, after.light, after.clock_running) == (dt.date(2026, 4, 16), "red", False)
        assert (
            refresh_summaries(today=TODAY + dt.timedelta(days=1)) == 1
        )  # only case 7's clock is still running


def test_pages_render_in_chinese_with_both_charts(app, client, worked, monkeypatch):
    monkeypatch.setattr("central.services.reports.china_today", lambda: TODAY)
    login(client, "admin")
    page = client.get("/reports/?kind=quarter&value=2026-Q1&group=station").get_data(as_text=True)
    assert "报表" in page and "按时办结率" in page and "示范村便民服务站" in page
    assert page.count("<svg") == 4 and "受理与办结" in page and "红灯" in page and "本时段受理与办结" in page
    assert "代办各段用时（工作日）" in page and "村站报送前滞留" in page, "the village's hop times are drawn"
    assert "代办跑动次数" in page and "平均每段在途天数" in page
    assert "80.00%" in page  # Q1: February's 低保 joins March's four, and it finished on 20 March
    english = client.get("/reports/?kind=year&value=2026&lang=en").get_data(as_text=True)
    assert "On-time completion rate" in english and "Average days in transit per leg" in english


def test_a_period_that_makes_no_sense_is_a_form_message_not_an_error(client, worked):
    login(client, "auditor")
    response = client.get("/reports/?kind=month&value=2026-13")
    assert response.status_code == 422
    assert "2026-Q1" in response.get_data(as_text=True)
    assert client.get("/reports/export.csv?kind=custom&start=2026-03-31&end=2026-03-01").status_code == 422


def test_csv_export_is_audited_and_names_the_period(client, worked):
    login(client, "admin")
    response = client.get(f"/reports/export.csv?kind=year&value=2026&group=county&scope={COUNTY}")
    assert (
        'filename="kpi-990101000000-county-20260101-20261231.csv"' in response.headers["Content-Disposition"]
    )
    entry = AuditEntry.select().where(AuditEntry.action == "export").get()
    assert (entry.actor, entry.target) == ("admin", "reports") and "2026-12-31" in entry.detail


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "expected"),
    [
        ("month", "2026-02", "", "", (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        ("month", "2024-12", "", "", (dt.date(2024, 12, 1), dt.date(2024, 12, 31))),
        ("quarter", "2026-q4", "", "", (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ("year", "2025", "", "", (dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
        ("custom", "", "2026-03-05", "2026-03-05", (dt.date(2026, 3, 5), dt.date(2026, 3, 5))),
        ("month", "2026-00", "", "", None),
        ("quarter", "2026-Q5", "", "", None),
        ("year", "二〇二六", "", "", None),
        ("custom", "", "2026-03-06", "2026-03-05", None),
        ("week", "2026-10", "", "", None),
    ],
)
def test_periods_are_read_from_the_form(kind, value, start, end, expected):
    period = parse_period(kind, value, start, end)
    assert (None if period is None else (period.start, period.end)) == expected


@pytest.mark.parametrize("user", ["auditor", "admin"])
def test_reviewers_may_open_reports_and_others_may_not(client, user, worked):
    login(client, user)
    assert client.get("/reports/").status_code == 200


def test_a_station_role_cannot_open_central_reports(client):
    login(client, "clerk")
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/export.csv").status_code == 403


def test_a_case_whose_item_is_not_in_the_catalog_is_reported_as_not_counted(
    app, client, stations, central_info
):
    township = enrolled(stations, client, central_info, TOWNSHIP)
    known = township.receive("GG00302000", "2026-03-03")
    township.accept(known, "2026-03-03")
    unknown = new_uuid7(WALL)
    township.sim.append(
        "received",
        unknown,
        {"from": None, "to": "received", "case_no": "X-1", "item_code": "ZZ99999000", "item_version": 3,
         "applicant_id": new_uuid7(WALL), "station": TOWNSHIP, "received_on": "2026-03-04", "channel": "window",
         "materials": []},
    )  # fmt: skip
    township.accept(unknown, "2026-03-04")
    push(client, township, central_info)
    with app.app_context():
        report = build_report(ReportQuery(MARCH), today=TODAY)
    assert (report.total.accepted, report.uncounted) == (1, 1)
    login(client, "auditor")
    page = client.get("/reports/?kind=month&value=2026-03").get_data(as_text=True)
    assert "有 1 件未计入" in page


def test_cases_sent_with_station_wire_names_are_counted(app, client, stations, central_info):
    """Stations name case events ``case.<type>`` on the wire; the report folds them under their casework names."""
    township = enrolled(stations, client, central_info, TOWNSHIP)
    case_id = township.receive("GG00302000", "2026-03-03")
    township.accept(case_id, "2026-03-03")
    plain = township.sim.events[1:]
    del township.sim.events[1:]
    for event in plain:
        township.sim.append(f"case.{event.type}", case_id, dict(event.payload))
    push(client, township, central_info)
    with app.app_context():
        report = build_report(ReportQuery(MARCH), today=TODAY)
    assert (report.total.accepted, report.total.immediate_share) == (1, 1)


def test_a_duplicate_merged_into_another_case_is_not_a_matter_of_its_own(app, client, stations, central_info):
    township = enrolled(stations, client, central_info, TOWNSHIP)
    kept = township.receive("GG00302000", "2026-03-03")
    township.accept(kept, "2026-03-03")
    duplicate = township.receive("GG00302000", "2026-03-03")
    township.accept(duplicate, "2026-03-03")
    township.event(duplicate, "duplicate_merged", into_case=kept, reason="同一申请录入两次")
    push(client, township, central_info)
    with app.app_context():
        report = build_report(ReportQuery(MARCH), today=TODAY)
        assert (report.total.accepted, report.uncounted) == (1, 0)
        assert KpiCaseSummary.get_by_id(duplicate).merged_into == kept


def test_summaries_of_cases_gone_from_the_projection_are_dropped(app, worked):
    with app.app_context():
        refresh_summaries(today=TODAY)
        CaseRecord.delete().where(CaseRecord.case_id == worked["c1"]).execute()
        refresh_summaries(today=TODAY)
        assert KpiCaseSummary.get_or_none(KpiCaseSummary.case_id == worked["c1"]) is None
        assert KpiCaseSummary.select().count() == CaseRecord.select().count() == 6


def test_areas_list_counties_and_townships_and_one_station_is_typed(client, worked, monkeypatch):
    monkeypatch.setattr("central.services.reports.china_today", lambda: TODAY)
    login(client, "auditor")
    page = client.get("/reports/?kind=month&value=2026-03").get_data(as_text=True)
    assert f'<option value="{COUNTY}"' in page and f'<option value="{TOWNSHIP}"' in page
    assert f'<option value="{VILLAGE}"' not in page
    rows = csv_rows(client.get(f"/reports/export.csv?kind=month&value=2026-03&station={VILLAGE}"))
    assert [row[0] for row in rows[1:]] == [
        VILLAGE,
        VILLAGE,
    ]  # the station's row, then the total for its scope
    typed = client.get(f"/reports/?kind=month&value=2026-03&station={VILLAGE}").get_data(as_text=True)
    assert f'<option value="{VILLAGE}" selected' in typed
    assert (
        client.get("/reports/?kind=month&value=2026-03&station=12345").status_code == 200
    )  # ignored, not an error
