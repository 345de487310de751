"""代办 route, step 1 (issue 6, item 4), on real nodes: central served by waitress on 127.0.0.1, a village and its
township enrolled over HTTP and syncing online. The village receives a 低保 case and sends the folder; the township
learns the case from central's downstream bundle (masked ID only, not in its own log), signs for the folder and
accepts (受理); the village learns the township's acceptance on its next sync and its case page shows it.
"""

from __future__ import annotations

import pytest

from central.models import CaseRecord as CentralCase
from central.services.stations import register_station
from station.models import Applicant, CaseRecord, CentralCaseEvent, EventLog
from station.services import cases as case_service
from station.services.actions import perform_action
from tests.e2e.nodes import COUNTY, ID_NUMBERS, TOWNSHIP, USERS, VILLAGE, Station, prepared_central
from tests.e2e.test_daiban_route import dispatch, type_label
from tests.station.test_custody import receive_case
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def route(tmp_path):
    central, codes = prepared_central(
        tmp_path / "central", (COUNTY, TOWNSHIP, VILLAGE), (VILLAGE[0], TOWNSHIP[0])
    )
    with serve_app(central) as url:
        village = Station(tmp_path, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=True)
        township = Station(tmp_path, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        village.sync()  # the first bundles: the registry and the calendar years central published
        township.sync()
        yield central, village, township


def case_page(station: Station, username: str, case_id: str) -> str:
    response = station.client(username).get(f"/cases/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_township_accepts_a_village_case_and_the_village_sees_it(route):
    central, village, township = route

    # The village receives a 低保 application (代收) and hands the folder to the agent; both reach central.
    case = receive_case(village.app, "张晓明", ID_NUMBERS[0])
    township.sync()  # the township learns the registry (the village's key) before it reads the label
    labels = dispatch(village, [case])
    village.sync()

    # The township's next bundle brings the case: a local case, the village's events kept apart from our log.
    township.sync()
    with township.bound():
        record = CaseRecord.get_by_id(case.id)
        assert (record.number, record.station_code, record.state) == (case.number, VILLAGE[0], "in_transit")
        assert record.applicant_id_masked == case.applicant_id_masked
        applicant = Applicant.get_by_id(record.applicant_id)
        assert bytes(applicant.id_cipher) == b"", "the full ID number stays sealed to central"
        assert EventLog.select().where(EventLog.aggregate_id == case.id).count() == 0, "not our events"
        assert CentralCaseEvent.select().where(CentralCaseEvent.case_id == case.id).count() >= 2
    page = case_page(township, "township", case.id)
    assert case.number in page and case.applicant_id_masked in page and ID_NUMBERS[0] not in page
    assert "一次性告知补正" not in page, "nothing to accept before the folder is signed for"

    # The township signs for the folder (签收) and accepts (受理) through the ordinary action service.
    assert "已签收卷宗" in type_label(township, labels[case.id])
    offered = case_page(township, "township", case.id)
    assert all(label in offered for label in ("受理", "一次性告知补正", "不予受理")), (
        "the organ's next actions"
    )
    clerk = township.actor("township", "township_clerk")
    with township.bound():
        accepted, problems = perform_action(clerk, case.id, "accept", {}, "route-accept-1")
        assert problems == {}, problems
        assert accepted.state == "accepted"
        ours = [e.event_type for e in EventLog.select().where(EventLog.aggregate_id == case.id)]
        assert ours == ["case.custody_received", "case.accepted"]
    township.sync()

    # Central folds both stations' events into one case, accepted, now handled by the township.
    with central.app_context():
        folded = CentralCase.get_by_id(case.id)
        assert (folded.state, folded.origin_station) == ("accepted", VILLAGE[0])

    # The village's next bundle carries the township's acceptance back; its case page shows it.
    village.sync()
    with village.bound():
        record = CaseRecord.get_by_id(case.id)
        assert record.state == "accepted" and record.accepted_on is not None
        view = case_service.case_view(case.id)
        assert view.timeline[-1].station == TOWNSHIP[0]
    page = case_page(village, "village", case.id)
    assert "已受理" in page


def test_a_case_of_another_township_does_not_reach_this_one(route):
    """Routing stays within the area served: the village's case is not sent to a township outside it."""
    central, village, township = route
    with central.app_context():
        register_station("990101103000", "第三镇便民服务中心", "township", COUNTY[0], "admin")
    case = receive_case(village.app, "李秀兰", ID_NUMBERS[1])
    village.sync()
    township.sync()
    with township.bound():
        assert CaseRecord.get_or_none(CaseRecord.id == case.id) is not None
    with central.app_context():
        from central.services.bundles import events_part

        part = events_part("990101103000")
    assert part is None
