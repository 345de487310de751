"""Custody issues appear and clear without anyone opening /custody/: after each ingest that carried custody events,
and on huey's schedule (working-day limits pass while no batch arrives). The CUSTODY_* settings come from
config.toml; a folded receipt moves the version of the stations' custody part."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from central import create_app
from central.services import custody
from central.tasks import huey, refresh_custody_task
from sync_protocol.canonical import parse_canonical

from .conftest import TOWNSHIP, VILLAGE, login, make_instance
from .test_custody import dispatch, enrolled, other_township, push, receive

pytestmark = pytest.mark.usefixtures("stations")
CHINA = dt.timezone(dt.timedelta(hours=8))


__all__ = ["other_township"]  # a fixture this module uses


@pytest.fixture
def township(client, stations, central_info):
    return enrolled(client, stations, TOWNSHIP, central_info)


def open_issues(app) -> dict[str, custody.CustodyIssue]:
    with app.app_context():
        return {i.kind: i for i in custody.list_issues("open")}


def test_an_ingest_with_custody_events_raises_and_clears_issues_by_itself(
    app, client, village, township, central_info
):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(client, township, central_info)  # the receipt arrives first: nobody opens /custody/
    assert "receipt_without_dispatch" in open_issues(app)
    push(client, village, central_info)  # the dispatch arrives: the pair closes, the issue clears
    assert "receipt_without_dispatch" not in open_issues(app)
    with app.app_context():
        assert custody.CustodyPair.get(custody.CustodyPair.case_id == case_id).status == "closed"


def test_an_ingest_without_custody_events_leaves_the_custody_tables_alone(app, client, central_info):
    from .test_custody import enrolled as enroll

    with app.app_context():
        before = custody.CustodyCursor.get_or_none(custody.CustodyCursor.id == 1)
    assert before is None
    station = enroll(client, app, TOWNSHIP, central_info)  # only its epoch opening: no case, no custody
    push(client, station, central_info)
    with app.app_context():
        assert custody.CustodyCursor.get_or_none(custody.CustodyCursor.id == 1) is None


def test_the_periodic_task_raises_issues_as_working_days_pass(app, client, village, central_info):
    case_id = village.receive_case()
    dispatch(village, case_id, at=dt.datetime.now(CHINA).isoformat(timespec="seconds"))
    push(client, village, central_info)
    assert "transit_overdue" not in open_issues(app)
    later = dt.datetime.now(CHINA) + dt.timedelta(days=21)  # well past three working days
    with app.app_context():
        refresh_custody_task.call_local(later.date().isoformat())
    issue = open_issues(app)["transit_overdue"]
    assert issue.case_id == case_id
    for minute in range(60):  # scheduled every quarter of an hour, and at no other minute
        due = {t.name for t in huey.read_periodic(dt.datetime(2026, 3, 2, 9, minute))}
        assert (refresh_custody_task.name in due) == (minute % 15 == 0)


def test_a_receipt_moves_the_custody_part_version_and_the_sender_hears_of_it(
    app, client, village, township, central_info
):
    now = dt.datetime.now(CHINA)
    case_id = village.receive_case()
    dispatch(village, case_id, at=(now - dt.timedelta(hours=2)).isoformat(timespec="seconds"))
    push(client, village, central_info)
    with app.app_context():
        before, _ = custody.custody_issues_part(VILLAGE)
    receive(township, case_id, at=now.isoformat(timespec="seconds"))
    push(client, township, central_info)  # matched: no issue changes, yet the village must hear of it
    with app.app_context():
        after, body = custody.custody_issues_part(VILLAGE)
    assert after > before
    assert [r["case_id"] for r in parse_canonical(body)["received"]] == [case_id]


def test_custody_limits_come_from_the_config_file(tmp_path):
    config = make_instance(tmp_path / "configured")
    with (tmp_path / "configured" / "config.toml").open("a", encoding="utf-8") as file:  # init wrote the rest
        file.write('\nCUSTODY_TRANSIT_DAYS = 9\nCUSTODY_HOP_DAYS = "village>township=6; township>county=5"\n')
    app = create_app(config)
    assert app.config["CUSTODY_TRANSIT_DAYS"] == 9
    with app.app_context():
        from central.tasks import custody_limits

        limits = custody_limits()
    assert limits.default_transit_days == 9
    assert limits.hop_days[("village", "township")] == 6 and limits.hop_days[("township", "county")] == 5


def test_a_receipt_arriving_after_the_pair_closed_reopens_it(
    app, client, village, township, other_township, central_info
):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(client, village, central_info)
    push(client, township, central_info)
    with app.app_context():
        assert custody.CustodyPair.get(custody.CustodyPair.case_id == case_id).status == "closed"
    receive(other_township, case_id, at="2026-03-04T10:00:00+08:00")  # the same folder, somewhere else too
    push(client, other_township, central_info)
    assert {"double_receipt", "wrong_station"} <= set(open_issues(app))
    with app.app_context():
        assert custody.CustodyPair.get(custody.CustodyPair.case_id == case_id).status == "disputed"


def test_the_station_health_page_counts_open_custody_issues(app, client, village, township, central_info):
    case_id = village.receive_case()
    dispatch(village, case_id)
    receive(township, case_id)
    push(client, township, central_info)  # a receipt without its dispatch: one issue for both stations
    login(client, "auditor")
    for code in (VILLAGE, TOWNSHIP):
        page = client.get(f"/stations/{code}").get_data(as_text=True)
        assert re.search(rf'交接异常</dt><dd><a href="/custody/\?station={code}">1</a>', page), page
    listing = client.get("/stations/").get_data(as_text=True)
    for code in (VILLAGE, TOWNSHIP):
        assert f'<td class="custody"><a href="/custody/?station={code}">1</a></td>' in listing
    push(client, village, central_info)  # the dispatch arrives: the issue clears, the count follows
    page = client.get(f"/stations/{VILLAGE}").get_data(as_text=True)
    assert "交接异常</dt><dd>0</dd>" in page
