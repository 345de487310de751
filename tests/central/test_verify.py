"""A receipt printed by a real, enrolled station verifies at central (page and `yiciban-central verify-qr`) and at
another station offline through the registry it received at enrollment; forged paper is refused in Chinese."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from central.cli import cli as central_cli
from station import create_app as create_station_app
from station import db as station_db
from station.services.enrollment import build_request, install_enrollment
from station.services.usb import export_batches
from tests.station.conftest import build_instance
from tests.station.conftest import login as station_login
from tests.station.test_documents import intake
from tests.station.test_documents_verify import printed_receipt_payload, with_changed_case_number

from .conftest import TOWNSHIP, VILLAGE, issue, login

COUNTY = "990101000000"


@pytest.fixture(scope="module")
def station_templates(tmp_path_factory) -> dict[str, Path]:
    # Real init + six argon2 logins take seconds: build each station once and copy it per test.
    root = tmp_path_factory.mktemp("verify-stations")
    return {
        TOWNSHIP: build_instance(root / TOWNSHIP, code=TOWNSHIP, level="township", parent=COUNTY),
        VILLAGE: build_instance(root / VILLAGE, code=VILLAGE, level="village", parent=TOWNSHIP),
    }


def enrolled_station(tmp_path: Path, templates: dict[str, Path], central, central_client, code: str):
    """A station instance built by the real init, enrolled at central through POST /api/v1/enroll."""
    instance = Path(shutil.copytree(templates[code], tmp_path / code))
    app = create_station_app({"INSTANCE_PATH": str(instance), "TESTING": True, "HUEY_IMMEDIATE": True})
    node = app.extensions["station"]
    with station_db.bound(node.database):
        request_bytes = build_request(node.keys, "test-net", code, issue(central, station=code))
        reply = central_client.post("/api/v1/enroll", data=request_bytes)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        install_enrollment(node.keys, request_bytes, reply.get_json())
    return app


@pytest.fixture
def township(tmp_path, stations, station_templates):
    return enrolled_station(tmp_path, station_templates, stations, stations.test_client(), TOWNSHIP)


def township_receipt(township_app, token: str = "c1"):
    client = township_app.test_client()
    with station_db.bound(township_app.extensions["station"].database):
        station_login(client, "township")
        case = intake(client, token, decision="accept")
        return case, printed_receipt_payload(client, case)


def test_receipt_of_an_enrolled_station_verifies_at_central(stations, client, township):
    case, payload = township_receipt(township)
    login(client, "auditor")
    response = client.get("/verify", query_string={"payload": payload})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "核验通过" in html and "示范镇便民服务中心" in html and case.number in html
    assert "材料接收凭证" in html and "尚未同步到中心" in html


def test_forged_and_unknown_payloads_are_refused_at_central(
    stations, client, township, station_templates, tmp_path
):
    case, payload = township_receipt(township)
    login(client, "clerk")
    forged = with_changed_case_number(payload, case.number[:-1] + "8")
    response = client.get("/verify", query_string={"payload": forged})
    assert response.status_code == 422 and "签名无效" in response.get_data(as_text=True)
    # A station that never enrolled: its signature is sound, but central has no such key.
    stray_instance = shutil.copytree(station_templates[VILLAGE], tmp_path / "stray")
    stray = create_station_app({"INSTANCE_PATH": str(stray_instance), "TESTING": True})
    with station_db.bound(stray.extensions["station"].database):
        stray_client = stray.test_client()
        station_login(stray_client, "village")
        stray_payload = printed_receipt_payload(stray_client, intake(stray_client, "s1"))
    text = client.get("/verify", query_string={"payload": stray_payload}).get_data(as_text=True)
    assert "未在中心登记" in text
    garbage = client.get("/verify", query_string={"payload": "YCB1.r.AAAA.BBBB"})
    assert garbage.status_code == 422 and "不是有效的一次办二维码" in garbage.get_data(as_text=True)


def test_central_shows_the_document_number_once_the_station_synced(stations, client, township, tmp_path):
    case, payload = township_receipt(township)
    stick = tmp_path / "stick"
    stick.mkdir()
    with station_db.bound(township.extensions["station"].database):
        assert export_batches(township.extensions["station"], stick)
    imported = CliRunner().invoke(
        central_cli, ["import", "--instance", stations.config["INSTANCE_PATH"], str(stick)]
    )
    assert imported.exit_code == 0 and "applied" in imported.output, imported.output
    login(client, "admin")
    html = client.get("/verify", query_string={"payload": payload}).get_data(as_text=True)
    assert "测试便民收〔" in html and "尚未同步到中心" not in html


def test_central_cli_verify_qr(stations, township):
    case, payload = township_receipt(township)
    runner = CliRunner()
    instance = stations.config["INSTANCE_PATH"]
    result = runner.invoke(central_cli, ["verify-qr", "--instance", instance, payload])
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output and "示范镇便民服务中心" in result.output
    assert f"case_number: {case.number}" in result.output
    forged = with_changed_case_number(payload, case.number[:-1] + "8")
    refused = runner.invoke(central_cli, ["verify-qr", "--instance", instance, forged])
    assert refused.exit_code == 2 and "签名无效" in refused.output


def test_another_station_verifies_offline_through_its_registry(
    stations, client, township, station_templates, tmp_path
):
    village = enrolled_station(tmp_path, station_templates, stations, client, VILLAGE)
    _case, payload = township_receipt(township)
    village_client = village.test_client()
    with station_db.bound(village.extensions["station"].database):
        station_login(village_client, "village")
        response = village_client.get("/verify", query_string={"payload": payload})
    assert response.status_code == 200
    assert "核验通过" in response.get_data(as_text=True) and TOWNSHIP in response.get_data(as_text=True)
