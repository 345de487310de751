"""Custody issues travel in downstream bundles (issue 6): an issue central raises for a village reaches the
village's home page through a real sync (a sealed bundle with a ``custody`` part), and leaves it when central
clears it. Central is served by waitress on 127.0.0.1; the village is set up by its own CLI and enrolled over HTTP.
Also: the CUSTODY_* settings of the station read from config.toml, the case page's custody box, and the custody
PDFs' font (PRINT_FONT_PATH)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from casework.custody import CustodyLimits
from central import create_app as create_central
from central.runtime import current_runtime
from central.services import custody as central_custody
from central.services.stations import issue_enrollment_code, register_station
from station import create_app as create_station
from station.models import DownstreamPart
from station.services import custody as station_custody
from tests.central.conftest import add_user, make_instance
from tests.e2e.test_daiban_route import COUNTY, TOWNSHIP, USERS, VILLAGE, Station
from tests.station.test_custody import receive_case
from tests.station.test_custody_views import dispatched_label, logged_in, post
from tests.support.calendars import calendar_with_stand_ins, publish_at_central
from tests.support.servers import serve_app

CHINA = dt.timezone(dt.timedelta(hours=8))
__all__ = ["dispatched_label"]  # a fixture this module uses


@pytest.fixture
def network(tmp_path):
    central = create_central(make_instance(tmp_path / "central"))
    with central.app_context():
        for code, name, level, parent in (COUNTY, TOWNSHIP, VILLAGE):
            register_station(code, name, level, parent, "admin")
        add_user("admin", "central_admin")
        code = issue_enrollment_code(VILLAGE[0], "admin", current_runtime().cipher, 72).code
    publish_at_central(central)  # the years around today that casework does not ship, as an operator would
    with serve_app(central) as url:
        # Online this time: the village syncs with central over HTTP.
        yield central, Station(tmp_path, VILLAGE, url, code, USERS["village"], online=True)


def applied_custody_parts(village: Station) -> list[DownstreamPart]:
    with village.bound():
        return list(DownstreamPart.select().where(DownstreamPart.part_type == "custody"))


def test_an_issue_raised_at_central_reaches_the_home_page_by_sync_and_clears_there(network):
    central, village = network
    case = receive_case(village.app, "张晓明")
    village.sync()  # central learns of the case the village holds
    today = dt.datetime.now(CHINA).date()
    later = calendar_with_stand_ins().add_working_days(today, 10)
    with central.app_context():
        central_custody.refresh_custody(later)  # the village has held the folder too long
        [issue] = central_custody.list_issues("open", VILLAGE[0])
    assert issue.kind == "village_holding_overdue" and issue.case_id == case.id
    home = village.client("village")
    assert issue.description_zh not in home.get("/").get_data(as_text=True)

    village.sync()
    parts = applied_custody_parts(village)
    assert [p.applied for p in parts] == [True], "the bundle carried the custody part and it was applied"
    page = home.get("/").get_data(as_text=True)
    assert issue.description_zh in page, "central's issue is on the village's home page"

    with central.app_context():
        central_custody.resolve_issue(issue.key, "admin", "卷宗在村站档案柜，已核实")
    village.sync()
    assert len(applied_custody_parts(village)) == 2
    page = home.get("/").get_data(as_text=True)
    assert issue.description_zh not in page, "the issue central cleared left the home page"
    with village.bound():
        assert station_custody.CustodyIssue.get_by_id(issue.key).status == "resolved"


def test_no_custody_part_before_central_has_any_custody_issue(network):
    _central, village = network
    receive_case(village.app, "李秀兰")
    village.sync()
    village.sync()
    assert applied_custody_parts(village) == []


def test_custody_limits_come_from_the_station_config_file(tmp_path, village_template):
    plain = Path(shutil.copytree(village_template, tmp_path / "plain"))
    instance = Path(shutil.copytree(village_template, tmp_path / "configured"))
    (instance / "config.toml").write_text(
        'CUSTODY_TRANSIT_DAYS = 7\nCUSTODY_HOP_DAYS = "village>township=2"\nCUSTODY_RESULT_HOLD_DAYS = 9\n'
        "CUSTODY_VILLAGE_HOLD_DAYS = 4\nCUSTODY_RECEIPT_GRACE_DAYS = 1\n",
        "utf-8",
    )
    app = create_station({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True})
    limits = CustodyLimits.from_settings(app.config)
    assert limits.default_transit_days == 7
    assert limits.hop_days[("village", "township")] == 2
    assert (limits.result_hold_days, limits.village_hold_days, limits.receipt_grace_days) == (9, 4, 1)
    defaults = CustodyLimits.from_settings(
        create_station({"INSTANCE_PATH": str(plain), "HUEY_IMMEDIATE": True}).config
    )
    assert defaults == CustodyLimits()


def test_the_case_page_shows_custody_and_links_the_authorization(app, dispatched_label):
    case, _label = dispatched_label
    page = logged_in(app, "village").get(f"/cases/{case.id}").get_data(as_text=True)
    assert "代办委托书" in page and f"/custody/cases/{case.id}/authorization" in page
    assert "已交接" in page, "the hand-over of the folder is on the case page"


UMING = "/usr/share/fonts/truetype/arphic/uming.ttc"  # not the font the search finds first (WenQuanYi)


def fonts_in(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "custody.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(source)], capture_output=True, text=True, check=True).stdout


def test_custody_pdfs_embed_the_configured_font(app, dispatched_label, tmp_path):
    case, _label = dispatched_label
    app.config["PRINT_FONT_PATH"] = UMING
    client = logged_in(app, "village")
    [manifest_id] = re.findall(
        r"/custody/manifests/([^/\"]+)\"", client.get(f"/cases/{case.id}").get_data(True)
    )
    manifest = client.get(f"/custody/manifests/{manifest_id}/pdf")
    assert manifest.status_code == 200 and "UMing" in fonts_in(manifest.data, tmp_path)
    path = f"/custody/cases/{case.id}/authorization"
    token = re.search(r'name="token" value="([0-9a-f]{32})"', client.get(path).get_data(True)).group(1)
    data = {"token": token, "agent": "agent", "signed_on": "2026-11-16", "power": ["submit_materials"]}
    event_id = post(client, path, data, path).headers["Location"].rsplit("recorded=", 1)[1]
    authorization = client.get(f"{path}/{event_id}/pdf")
    fonts = fonts_in(authorization.data, tmp_path)
    assert authorization.status_code == 200 and "UMing" in fonts and "WenQuanYi" not in fonts


def test_a_custody_pdf_without_a_chinese_font_is_a_clear_message(app, dispatched_label, monkeypatch):
    import functools

    from printing import FontConfig
    from station.views import documents as document_views

    monkeypatch.setattr(document_views, "FontConfig", functools.partial(FontConfig, search_dirs=()))
    case, _label = dispatched_label
    client = logged_in(app, "village")
    [manifest_id] = re.findall(
        r"/custody/manifests/([^/\"]+)\"", client.get(f"/cases/{case.id}").get_data(True)
    )
    response = client.get(f"/custody/manifests/{manifest_id}/pdf")
    assert response.status_code == 503 and "fonts-wqy-microhei" in response.get_data(as_text=True)
