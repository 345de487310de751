"""代办 route: the township asks for corrections (一次性告知) or refuses to accept (不予受理) a case a village received
(issue 6, item 4), on real nodes — central, a village and its township served by waitress on 127.0.0.1 and driven
over HTTP by their clerks (forms with CSRF), syncing when the clerk presses the button.

The township numbers its notice with the act; the village sees the outcome after its next sync and prints the
township's notice for the villager who filed there — under the township's name and number, not a village one.
"""

from __future__ import annotations

import html
import re

import pytest

from central.models import CaseRecord as CentralCase
from station.models import CaseRecord, EventLog
from tests.e2e.nodes import (
    COUNTY,
    ID_NUMBERS,
    TOWNSHIP,
    USERS,
    VILLAGE,
    Clerk,
    ServedStation,
    prepared_central,
    served,
)
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]
LOW_INCOME = "GF00201000"  # 最低生活保障申请: received at the village, accepted (or not) by the township
ORGAN = "示范镇人民政府"  # the township's organ, as its notices name it
VILLAGE_ORGAN = "示范村民委员会"


@pytest.fixture(scope="module")
def route(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("route-corrects")
    central, codes = prepared_central(tmp / "central", (COUNTY, TOWNSHIP, VILLAGE), (VILLAGE[0], TOWNSHIP[0]))
    with serve_app(central) as url:
        village = ServedStation(tmp, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=True)
        township = ServedStation(tmp, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        with served(village, township):
            township.web("township").sync_now()  # the registry (the village's key) before any label is read
            village.web("village").sync_now()  # and the calendar years central published
            yield central, village, township


def carried_to_the_township(
    village: ServedStation, township: ServedStation, name: str, id_number: str
) -> str:
    """The village receives (代收) and sends the folder; the township syncs and signs for it. Returns the case id."""
    clerk_v, clerk_t = village.web("village"), township.web("township")
    case_id = clerk_v.receive_application(LOW_INCOME, name, id_number)
    [label] = clerk_v.dispatch(clerk_v.draft_manifest(TOWNSHIP[0], [case_id])).values()
    clerk_v.sync_now()
    clerk_t.sync_now()
    assert "尚未同步到本站" not in clerk_t.sign_for(label).text
    return case_id


def state_at(station: ServedStation, case_id: str) -> str:
    with station.bound():
        return CaseRecord.get_by_id(case_id).state


def printed(clerk: Clerk, case_id: str, kind: str) -> str:
    page = clerk.ok(clerk.get(f"/cases/{case_id}/documents/{kind}"))
    pdf = clerk.get(f"/cases/{case_id}/documents/{kind}.pdf")
    assert pdf.status == 200 and pdf.text.startswith("%PDF"), pdf.text[:300]
    return html.unescape(page.text)


def doc_number(text: str, code: str) -> str:
    match = re.search(rf"示范便民{code}〔\d{{4}}〕\d{{4}}号", text)
    assert match, text[:3000]
    return match.group(0)


def village_documents_issued(village: ServedStation) -> int:
    with village.bound():
        return EventLog.select().where(EventLog.event_type == "document.issued").count()


def test_the_township_asks_for_corrections_and_the_village_prints_its_one_time_notice(route):
    central, village, township = route
    case_id = carried_to_the_township(village, township, "王秀英", ID_NUMBERS[0])
    clerk_t = township.web("township")
    clerk_t.act(
        case_id,
        "request_correction",
        fix_family_ids="1",
        problem_family_ids="户口簿缺少户主页",
        how_family_ids="补交户口簿户主页复印件",
        fix_income_property_declaration="1",
        problem_income_property_declaration="申报表未签字",
    )
    assert state_at(township, case_id) == "correction_requested"
    at_township = printed(clerk_t, case_id, "correction_notice")
    number = doc_number(at_township, "补")
    assert ORGAN in at_township and "户口簿缺少户主页" in at_township
    clerk_t.sync_now()
    with central.app_context():
        assert CentralCase.get_by_id(case_id).state == "correction_requested"

    clerk_v = village.web("village")
    before = village_documents_issued(village)
    clerk_v.sync_now()
    assert state_at(village, case_id) == "correction_requested"
    page = clerk_v.ok(clerk_v.get(f"/cases/{case_id}")).text
    assert "待补正" in page and "一次性告知书" in page, (
        "the outcome and the notice to print are on the case page"
    )
    at_village = printed(clerk_v, case_id, "correction_notice")
    assert doc_number(at_village, "补") == number, "the township's number, not a village one"
    assert ORGAN in at_village and VILLAGE_ORGAN not in at_village
    for problem in ("户口簿缺少户主页", "补交户口簿户主页复印件", "申报表未签字", "户口簿及家庭成员身份证"):
        assert problem in at_village, problem
    assert ID_NUMBERS[0] not in at_village and "王秀英" in at_village
    assert village_documents_issued(village) == before, "printing the organ's notice numbers nothing here"


def test_the_township_refuses_to_accept_and_the_village_prints_the_notice_of_non_acceptance(route):
    central, village, township = route
    case_id = carried_to_the_township(village, township, "陈建华", ID_NUMBERS[1])
    clerk_t = township.web("township")
    offered = clerk_t.ok(clerk_t.get(f"/cases/{case_id}")).text
    assert f"/cases/{case_id}/act/refuse_acceptance" in offered
    clerk_t.act(
        case_id,
        "refuse_acceptance",
        reason_code="not_competent",
        reason="申请人户籍不在本镇，应向户籍所在地乡镇人民政府申请",
        competent_organ="户籍所在地乡镇人民政府",
    )
    assert state_at(township, case_id) == "not_accepted"
    number = doc_number(printed(clerk_t, case_id, "rejection_notice"), "不受")
    clerk_t.sync_now()

    clerk_v = village.web("village")
    clerk_v.sync_now()
    assert state_at(village, case_id) == "not_accepted"
    page = clerk_v.ok(clerk_v.get(f"/cases/{case_id}")).text
    assert "不予受理" in page and "不予受理通知书" in page
    at_village = printed(clerk_v, case_id, "rejection_notice")
    assert doc_number(at_village, "不受") == number
    assert ORGAN in at_village and "应向户籍所在地乡镇人民政府申请" in at_village
    assert "行政复议" in at_village, "the remedies are printed for the villager"
    # A village never issues what only the organ may: it has no 受理通知书 of its own to print.
    assert clerk_v.get(f"/cases/{case_id}/documents/acceptance_notice").status == 404
