"""代办 route to the county and back, end to end (issue 6, items 4 and 6), on real nodes: central and three stations
— a village, its township and their county — each served by waitress on 127.0.0.1 and driven over HTTP by its
clerks (forms with CSRF). A 低保 application (accepted by the township, decided by the county):

- the village receives it while offline; the agent carries the folder and the village's sealed batch on a USB
  stick, and the township relays the batch to central unread and signs for the folder by typing its label;
- the township accepts (受理), examines and forwards (上报) it, and sends the folder up to the county on a 交接单;
- central routes the case to the county station, which signs for the folder and decides (准予);
- the decision comes back by sync, the paper result by agent: county → township → village, signed for by label at
  each hop; the village, still offline, reads central's replies from the stick the township wrote them on, makes
  the result ready, hands it over (送达), the applicant rates it at completion, and the bad rating's return visit
  (回访) runs to its close; the stick takes all that back through the township.

At every hop: the case's state at each station and at central; at the end, every hand-over a closed pair at
central, no custody issue ever raised, nothing left in any agent's hands, the case delivered and rated everywhere.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from central.models import CaseRecord as CentralCase
from central.models import CustodyIssue, CustodyPair, LogEvent
from central.services import custody as central_custody
from station.models import CaseRecord
from station.services import custody as station_custody
from station.services.sync import sync_summary
from tests.central.conftest import PASSWORD as CENTRAL_PASSWORD
from tests.e2e.nodes import (
    COUNTY,
    ID_NUMBERS,
    TOWNSHIP,
    USERS,
    VILLAGE,
    ServedStation,
    prepared_central,
    served,
)
from tests.support.calendars import import_at_station
from tests.support.http import WebClient
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]
LOW_INCOME = "GF00201000"  # 最低生活保障申请: township accepts, county decides
APPLICANT = "张晓明"
OTHER_COUNTY = ("990102000000", "邻县政务服务中心", "county", None)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("route-county")
    central, codes = prepared_central(
        tmp / "central", (COUNTY, TOWNSHIP, VILLAGE, OTHER_COUNTY), (VILLAGE[0], TOWNSHIP[0], COUNTY[0])
    )
    with serve_app(central) as url:
        village = ServedStation(tmp, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=False)
        township = ServedStation(tmp, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        county = ServedStation(tmp, COUNTY, url, codes[COUNTY[0]], USERS["county"], online=True)
        with served(village, township, county):
            import_at_station(village.app)  # offline: the calendar as its bundle from a stick would bring it
            township.web("township").sync_now()
            county.web("county").sync_now()
            yield central, url, village, township, county, tmp / "stick"


def state_at(station: ServedStation, case_id: str) -> str | None:
    with station.bound():
        record = CaseRecord.get_or_none(CaseRecord.id == case_id)
        return None if record is None else record.state


def at_central(central, case_id: str) -> CentralCase:
    with central.app_context():
        return CentralCase.get_by_id(case_id)


def test_a_county_decided_case_goes_up_and_its_result_comes_back_to_the_village(network):
    central, central_url, village, township, county, stick = network
    stick.mkdir()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    # The township and the county learn the registry (every station's key) before they read any label.
    township.web("township").sync_now()
    county.web("county").sync_now()

    # --- outward leg 1: village (offline) → township, the batch on the stick --------------------------------
    clerk_v = village.web("village")
    case_id = clerk_v.receive_application(LOW_INCOME, APPLICANT, ID_NUMBERS[0])
    assert state_at(village, case_id) == "village_received"
    assert clerk_v.destinations() == {TOWNSHIP[0]: [case_id]}
    m1 = clerk_v.draft_manifest(TOWNSHIP[0], [case_id])
    [label] = clerk_v.dispatch(m1).values()
    assert state_at(village, case_id) == "in_transit"
    assert re.search(
        r"已向 U 盘写入 [1-9]\d* 个加密文件", clerk_v.export_to(stick).text
    )  # the sealed batch goes on the stick with the agent

    clerk_t = township.web("township")
    assert re.search(r"已转交 [1-9]\d* 个文件", clerk_t.import_from(stick).text), (
        "the township relays the batch"
    )
    assert at_central(central, case_id).state == "in_transit", "central has the village's batch, relayed"
    page = clerk_t.sign_for(label)
    assert "尚未同步到本站" in page.text, "registered from the label alone, before the case data arrived"
    clerk_t.sync_now()
    assert state_at(township, case_id) == "received", "the case data came with the bundle: 收件 by the organ"
    assert at_central(central, case_id).owner_station == TOWNSHIP[0]

    # --- the township accepts, examines and forwards; outward leg 2: township → county ------------------------
    clerk_t.act(case_id, "accept")
    clerk_t.act(
        case_id, "forward", opinion="经入户调查，家庭人均收入低于当地低保标准，初审同意，报县民政局审批。"
    )
    assert state_at(township, case_id) == "forwarded"
    assert clerk_t.destinations() == {COUNTY[0]: [case_id]}, "forwarded: the folder goes up, nowhere else"
    m2 = clerk_t.draft_manifest(COUNTY[0], [case_id])
    [label] = clerk_t.dispatch(m2).values()
    clerk_t.sync_now()
    assert at_central(central, case_id).state == "forwarded"

    # Central routes the case to the county that must decide: it arrives with the county's next sync.
    clerk_c = county.web("county")
    clerk_c.sync_now()
    assert state_at(county, case_id) == "forwarded"
    page = clerk_c.sign_for(label)
    assert "尚未同步到本站" not in page.text
    offered = _actions_offered(clerk_c.get(f"/cases/{case_id}").text)
    assert {"decide_grant", "decide_refuse"} <= offered and "accept" not in offered, "the county decides"
    clerk_c.act(case_id, "decide_grant", reasons="符合低保条件", document_no="示民低保〔2026〕12号")
    assert state_at(county, case_id) == "decided_granted"
    assert clerk_c.destinations() == {TOWNSHIP[0]: [case_id]}, "the result goes back the way it came"
    assert f"结果送回 {TOWNSHIP[0]}" in clerk_c.get("/custody/").text

    # --- return leg 1: county → township; the decision by sync, the certificate by agent -----------------------
    m3 = clerk_c.draft_manifest(TOWNSHIP[0], [case_id])
    [label] = clerk_c.dispatch(m3).values()
    clerk_c.sync_now()
    central_case = at_central(central, case_id)
    assert (central_case.state, central_case.owner_station) == ("decided_granted", TOWNSHIP[0])
    clerk_t.sync_now()
    assert state_at(township, case_id) == "decided_granted", "the county's decision reached the township"
    clerk_t.sign_for(label)
    assert clerk_t.destinations() == {VILLAGE[0]: [case_id]}, "on down to the village, never back up"

    # --- return leg 2: township → village, the village still offline: its replies ride the stick too -----------
    m4 = clerk_t.draft_manifest(VILLAGE[0], [case_id])
    [label] = clerk_t.dispatch(m4).values()
    clerk_t.sync_now()
    brought = clerk_t.import_from(stick).text
    assert re.search(r"已为 U 盘上的其他站点带回中心的 [1-9]\d* 个文件", brought), (
        "the village's ack and bundle"
    )
    read = clerk_v.import_from(stick).text
    assert re.search(r"已读取 1 份回执和 [1-9]\d* 个下行包", read), (
        "the village reads central's replies offline"
    )
    assert state_at(village, case_id) == "decided_granted", (
        "the decision came down by sync, through the stick"
    )
    clerk_v.sign_for(label)
    assert clerk_v.destinations() == {}, "the result is home"

    # --- at the village: result ready, 送达, rating at completion, the return visit ---------------------------
    clerk_v.act(case_id, "mark_result_ready", pickup="window")
    clerk_v.act(case_id, "deliver", method="window", signed_by=APPLICANT)
    assert state_at(village, case_id) == "delivered"
    clerk_v.rate(case_id, level="2", stage="completion", channel="village_tablet", named="1",
                 comment="县里审批等了很久")  # fmt: skip
    clerk_v.follow_up(case_id, step="visited", note="电话回访申请人，了解等待情况")
    clerk_v.follow_up(
        case_id, step="verdict", verdict="partly_reasonable", note="县级审批在时限内，但未告知进度"
    )
    clerk_v.follow_up(case_id, step="rectified", measures="代办件每周电话告知申请人办理进度")
    clerk_v.follow_up(case_id, step="closed", rater_satisfaction="satisfied")
    # The agent carries the village's new batch to the township, which relays it; everyone syncs.
    assert re.search(r"已向 U 盘写入 [1-9]\d* 个加密文件", clerk_v.export_to(stick).text)
    assert re.search(r"已转交 [1-9]\d* 个文件", clerk_t.import_from(stick).text)
    clerk_t.sync_now()
    clerk_c.sync_now()
    clerk_v.import_from(stick)  # the agent's next visit: the ack of the delivery, the custody news
    with village.bound():
        assert sync_summary()["unacked"] == 0, "all the village's work acknowledged, never online"

    # --- everywhere: delivered and rated; custody closed in pairs; no issue; nobody carries anything -----------
    for station in (village, township, county):
        assert state_at(station, case_id) == "delivered", station.code
    final = at_central(central, case_id)
    assert (final.state, final.origin_station, final.owner_station) == ("delivered", VILLAGE[0], VILLAGE[0])
    with village.bound():
        from station.services.cases import case_view

        view = case_view(case_id)
        assert view.anomalies == [] and view.decision == "granted"
        assert [r["level"] for r in view.ratings] == [2]
        [followup] = view.followups.values()
        assert followup["status"] == "closed"
    with central.app_context():
        central_custody.refresh_custody(today)
        pairs = {
            p.manifest_id: (p.from_station, p.to_station, p.direction, p.status)
            for p in CustodyPair.select().where(CustodyPair.case_id == case_id)
        }
        assert pairs == {
            m1: (VILLAGE[0], TOWNSHIP[0], "up", "closed"),
            m2: (TOWNSHIP[0], COUNTY[0], "up", "closed"),
            m3: (COUNTY[0], TOWNSHIP[0], "down", "closed"),
            m4: (TOWNSHIP[0], VILLAGE[0], "down", "closed"),
        }
        assert list(CustodyIssue.select()) == [], "the normal route raises no custody issue, not even briefly"
        types = [e.event_type for e in LogEvent.select().where(LogEvent.aggregate_id == case_id)]
        assert types.count("case.custody_dispatched") == types.count("case.custody_received") == 4
        assert {"case.rated", "case.followup_closed", "case.delivered", "case.decided"} <= set(types)
    for station in (village, township, county):
        with station.bound():
            assert station_custody.carried_by("agent", today) == [], (
                f"{station.code}: the agent carries nothing"
            )
            assert station_custody.station_issues(today) == []

    # Routing stays within the area: the neighbouring county is sent nothing of this case.
    with central.app_context():
        from central.services.bundles import events_part

        assert events_part(OTHER_COUNTY[0]) is None
        assert case_id.encode() in events_part(COUNTY[0]).data

    # The case page at central shows the whole route to an admin.
    admin = WebClient(central_url)
    admin.login("admin", CENTRAL_PASSWORD)
    shown = admin.get(f"/cases/{case_id}").text
    assert all(code in shown for code in (VILLAGE[0], TOWNSHIP[0], COUNTY[0]))


def _actions_offered(page: str) -> set[str]:
    """The actions the case page's forms offer (the timeline also names past actions)."""
    return set(re.findall(r'<form method="post" action="/cases/[^"/]+/act/([a-z_]+)"', page))
