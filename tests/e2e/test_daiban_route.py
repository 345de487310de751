"""代办 across real nodes (issue 6, items 3 and 6): central served by waitress on 127.0.0.1, a village, a township and a
second township station enrolled with it over HTTP. The village is offline: its agent carries the folders and the
village's sealed batch on a USB stick; the township registers the folders by typing their labels and relays the
sealed file to central unread. Central pairs dispatch and receipt across stations and raises each custody anomaly
as a class-D issue, which clears by itself when the missing half arrives and is routed to every station concerned.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from casework.catalog import demo_catalog
from central.services import custody as central_custody
from station.services import cases as case_service
from station.services import custody as station_custody
from station.services.actions import perform_action
from station.services.usb import export_batches, import_from
from tests.e2e.nodes import (
    COUNTY,
    ID_NUMBERS,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    USERS,
    VILLAGE,
    Station,
    prepared_central,
)
from tests.station.test_custody import receive_case
from tests.support.calendars import calendar_with_stand_ins
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def network(tmp_path):
    central, codes = prepared_central(
        tmp_path / "central",
        (COUNTY, TOWNSHIP, OTHER_TOWNSHIP, VILLAGE),
        (VILLAGE[0], TOWNSHIP[0], OTHER_TOWNSHIP[0]),
    )
    with serve_app(central) as url:
        village = Station(tmp_path, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=False)
        township = Station(tmp_path, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        other = Station(
            tmp_path, OTHER_TOWNSHIP, url, codes[OTHER_TOWNSHIP[0]], USERS["township"], online=True
        )
        yield central, village, township, other, tmp_path / "stick"


def central_issues(central, today: dt.date) -> dict[tuple[str, str], central_custody.CustodyIssue]:
    with central.app_context():
        central_custody.refresh_custody(today)
        return {(i.kind, i.case_id): i for i in central_custody.list_issues("open")}


def dispatch(village: Station, cases) -> dict[str, str]:
    """The village clerk drafts a 交接单 for the township and the agent takes the folders; returns the labels."""
    actor = village.actor("village", "village_staff")
    with village.bound():
        manifest = station_custody.create_manifest(
            village.node.keys.signing_key, actor, [c.id for c in cases], TOWNSHIP[0], "agent"
        )
        station_custody.dispatch_manifest(actor, manifest.id)
        return {f.case_id: f.label for f in station_custody.manifest_folders(manifest.id)}


def type_label(station: Station, label: str) -> str:
    client = station.client("township")
    page = client.get("/custody/receive").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/custody/receive", data={"label": label, "csrf_token": token}).get_data(as_text=True)


def test_usb_trip_custody_pairing_and_every_anomaly(network):
    central, village, township, other, stick = network
    stick.mkdir()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    calendar = calendar_with_stand_ins()

    # The village receives four applications; three folders go on one manifest, one stays behind.
    carried = [
        receive_case(village.app, name, number)
        for name, number in zip(("张晓明", "李秀兰", "王建国"), ID_NUMBERS, strict=False)
    ]
    kept = receive_case(village.app, "赵四", ID_NUMBERS[3])
    labels = dispatch(village, carried)
    normal, misrouted, lost = carried
    with village.bound():
        assert export_batches(village.node, stick) != []  # the village's sealed batch goes on the stick

    # Both townships learn the registry (and with it the village's key) from central.
    township.sync()
    other.sync()

    # At the township, before the stick is relayed: the folder is registered from its typed label alone.
    page = type_label(township, labels[normal.id])
    assert f"已签收卷宗 {normal.number}" in page and "尚未同步到本站" in page
    township.sync()
    issues = central_issues(central, today)
    assert ("receipt_without_dispatch", normal.id) in issues, "central saw the receipt before the dispatch"

    # The township relays the village's sealed file to central unread; the dispatch arrives and the pair closes.
    with township.bound():
        assert import_from(township.node, stick).relayed >= 1
    issues = central_issues(central, today)
    assert ("receipt_without_dispatch", normal.id) not in issues, "the matched pair closed by itself"
    with central.app_context():
        pair = central_custody.CustodyPair.get(central_custody.CustodyPair.case_id == normal.id)
        assert pair.status == "closed"

    # A folder carried to the wrong township, then also received at the right one: both anomalies, routed to all.
    assert "已签收卷宗" in type_label(other, labels[misrouted.id])
    other.sync()
    type_label(township, labels[misrouted.id])
    township.sync()
    issues = central_issues(central, today)
    wrong = issues[("wrong_station", misrouted.id)]
    double = issues[("double_receipt", misrouted.id)]
    assert set(double.station_codes) == {VILLAGE[0], TOWNSHIP[0], OTHER_TOWNSHIP[0]}
    assert OTHER_TOWNSHIP[0] in wrong.description_zh and "却由" in wrong.description_zh

    # A folder nobody receives is overdue after three working days; the folder kept at the village is late too.
    later = calendar.add_working_days(today, 4)
    issues = central_issues(central, later)
    assert ("transit_overdue", lost.id) in issues
    assert ("village_holding_overdue", kept.id) in issues
    assert ("transit_overdue", normal.id) not in issues

    # Issues travel back to each station concerned: the village sees them on its home page.
    with central.app_context():
        _version, part = central_custody.custody_issues_part(VILLAGE[0])
    with village.bound():
        station_custody.apply_custody_part(part)
        shown = {i.key for i in station_custody.station_issues(later)}
        carried_now = {f.case_id for f in station_custody.carried_by("agent", later)}
    assert wrong.key in shown and double.key in shown
    assert normal.id not in carried_now and lost.id in carried_now, (
        "central told the village which folders arrived"
    )
    home = village.client("village").get("/").get_data(as_text=True)
    assert "交接异常" in home


def test_result_held_at_the_township_without_delivery(network):
    central, _village, township, _other, _stick = network
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    clerk = township.actor("township", "township_clerk")
    relief = "GF00203000"  # 临时救助: the township accepts and decides it
    form = case_service.IntakeForm(
        token="e2e-township-intake", item_code=relief, applicant_name="钱七", id_number=ID_NUMBERS[0],
        phone="13800138000", materials={m.key: "received" for m in demo_catalog().item(relief).materials},
        decision="accept",
    )  # fmt: skip
    with township.bound():
        case = case_service.receive_application(township.node.keys.field_cipher, clerk, form)
        for step, fields in (("decide_grant", {}), ("mark_result_ready", {"pickup": "window"})):
            _record, problems = perform_action(clerk, case.id, step, fields, f"e2e-{step}", today)
            assert problems == {}, problems
    township.sync()
    later = calendar_with_stand_ins().add_working_days(today, 6)
    issues = central_issues(central, later)
    assert ("result_not_delivered", case.id) in issues
    assert issues[("result_not_delivered", case.id)].station_codes == [TOWNSHIP[0]]
