"""End to end against a real central (its own CLI, `serve` on 127.0.0.1) and this station's real code:
enroll → intake at the village → sync (button) → central acknowledges → the station's queue is empty and central
lists the case."""

import re
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar

import pytest
from click.testing import CliRunner

from station import create_app
from station import db as dbmod
from station.cli import main
from station.models import CaseRecord
from station.services.sync import sync_summary
from tests.support.servers import NodeProcess

from .conftest import PASSWORD, csrf_token, login
from .helpers import intake_data

pytestmark = pytest.mark.slow
NETWORK = "test-e2e"
VILLAGE = ("990101101201", "示范村便民服务站", "village", "990101101000")
TOWNSHIP = ("990101101000", "示范镇便民服务中心", "township", "990101000000")
COUNTY = ("990101000000", "示范县政务服务中心", "county", "")


def _central(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "central", *args], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def central(tmp_path):
    instance = str(tmp_path / "central")
    _central("init", "--instance", instance, "--network", NETWORK)
    _central("migrate", "--instance", instance)
    for code, name, level, parent in (COUNTY, TOWNSHIP, VILLAGE):
        extra = ["--parent", parent] if parent else []
        _central(
            "register-station",
            "--instance",
            instance,
            "--code",
            code,
            "--name",
            name,
            "--level",
            level,
            *extra,
        )
    _central("create-user", "--instance", instance, "--username", "admin", "--role", "central_admin",
             "--password", PASSWORD)  # fmt: skip
    _central("publish", "--instance", instance, "--shipped")
    output = _central("enrollment-code", "--instance", instance, "--station", VILLAGE[0])
    code = re.search(r"enrollment code for \d+: (\S+)", output).group(1)
    node = NodeProcess([sys.executable, "-m", "central", "serve", "--instance", instance, "--port", "0"])
    try:
        yield node.url(), code
    except BaseException:
        print("\n".join(node.lines[-80:]))
        raise
    finally:
        node.stop()
        node._reader.join(timeout=5)
        node.proc.stdout.close()


def _station_instance(tmp_path, central_url, code):
    instance = tmp_path / "village"
    runner = CliRunner()
    code_, name, level, parent = VILLAGE
    result = runner.invoke(main, ["init", "--instance", str(instance), "--station-code", code_, "--name", name,
                                  "--level", level, "--parent", parent])  # fmt: skip
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["enroll", "--instance", str(instance), "--central", central_url, "--code", code]
    )
    assert result.exit_code == 0, result.output
    assert f"network {NETWORK}" in result.output
    result = runner.invoke(
        main, ["create-user", "--instance", str(instance), "--username", "village", "--role", "village_staff"],
        env={"YICIBAN_STATION_NEW_PASSWORD": PASSWORD},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return instance


def test_enroll_receive_sync_and_central_acknowledges(tmp_path, central):
    central_url, code = central
    instance = _station_instance(tmp_path, central_url, code)
    assert (instance / "config.toml").read_text().strip() == f'CENTRAL_URL = "{central_url}"'
    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True})
    client = app.test_client()
    assert login(client, "village").status_code == 302
    path = "/cases/new/GF00201000"
    response = client.post(path, data={**intake_data("e2e-token-1"), "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    deadline = time.monotonic() + 90
    while True:
        token = csrf_token(client, "/sync/")
        page = client.post("/sync/now", data={"csrf_token": token}, follow_redirects=True).get_data(
            as_text=True
        )
        assert "同步完成" in page, page
        with dbmod.bound(app.extensions["station"].database):
            summary = sync_summary()
            case_id = CaseRecord.get().id
            number = CaseRecord.get().number
        if summary["unacked"] == 0 and summary["ack_version"] >= 1:
            break
        assert time.monotonic() < deadline, summary
        time.sleep(0.5)
    assert summary["last_error"] is None and summary["last_success"], summary
    # The downstream bundle brought the published catalog and calendars; the window still renders.
    assert summary["bundle_version"] >= 1
    with dbmod.bound(app.extensions["station"].database):
        from station.models import NodeState
        from station.services.reference import CALENDAR_YEARS_KEY, current_calendar

        assert NodeState.read(CALENDAR_YEARS_KEY) and 2026 in current_calendar().years
    assert client.get("/").status_code == 200
    assert client.get(f"/cases/{case_id}").status_code == 200
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(central_url + "/login").read().decode()
    central_token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    data = f"username=admin&password={PASSWORD}&csrf_token={central_token}".encode()
    opener.open(central_url + "/login", data=data).read()
    cases_page = ""
    while time.monotonic() < deadline:
        cases_page = opener.open(central_url + "/cases/").read().decode()
        if number in cases_page:
            break
        time.sleep(0.5)
    assert number in cases_page, cases_page[cases_page.find("<table") :][:3000]


def test_sync_without_a_reachable_central_records_the_error_in_words_and_backs_off(tmp_path, central):
    central_url, code = central
    instance = _station_instance(tmp_path, central_url, code)
    app = create_app(
        {"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True, "CENTRAL_URL": "http://127.0.0.1:9"}
    )
    client = app.test_client()
    login(client, "village")
    page = client.post("/sync/now", data={"csrf_token": csrf_token(client, "/sync/")}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "同步失败" in text and "not reachable" in text
    with dbmod.bound(app.extensions["station"].database):
        summary = sync_summary()
    assert summary["failures"] == 1 and summary["next_due_ms"] > time.time() * 1000


def test_usb_round_trip_through_central_import_and_export(tmp_path, central):
    central_url, code = central
    instance = _station_instance(tmp_path, central_url, code)
    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True, "CENTRAL_URL": ""})
    client = app.test_client()
    login(client, "village")
    path = "/cases/new/GF00201000"
    client.post(path, data={**intake_data("usb-token-1"), "csrf_token": csrf_token(client, path)})
    stick = tmp_path / "stick"
    stick.mkdir()
    runner = CliRunner()
    exported = runner.invoke(main, ["export", "--instance", str(instance), str(stick)])
    assert exported.exit_code == 0, exported.output
    files = sorted(p for p in stick.rglob("*") if p.is_file())
    assert files and all(re.fullmatch(r"[a-z0-9.-]+", p.name) for p in files)
    assert all("张三" not in p.name and "99010119800101" not in p.name for p in files)
    central_instance = str(tmp_path / "central")
    _central("import", "--instance", central_instance, str(stick))
    _central("export", "--instance", central_instance, str(stick))
    imported = runner.invoke(main, ["import", "--instance", str(instance), str(stick)])
    assert imported.exit_code == 0, imported.output
    with dbmod.bound(app.extensions["station"].database):
        summary = sync_summary()
    assert summary["ack_version"] >= 1 and summary["unacked"] == 0, (imported.output, summary)


def test_kill9_during_sync_then_sync_again_converges(tmp_path, central):
    import os
    import signal

    from station.services.cases import Actor, IntakeForm, receive_application
    from station.services.log import read_head, verify_tail
    from station.services.sync import stored_ack

    from .helpers import citizen_id

    central_url, code = central
    instance = _station_instance(tmp_path, central_url, code)
    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True})
    node = app.extensions["station"]
    with dbmod.bound(node.database):
        for n in range(60):
            data = intake_data(f"k9s-{n}")
            form = IntakeForm(
                token=f"k9s-{n}", item_code="GF00201000", applicant_name="赵六",
                id_number=citizen_id(f"99010119800101{n:03d}"), phone=data["phone"],
                materials={k[9:]: v for k, v in data.items() if k.startswith("material_")},
            )  # fmt: skip
            receive_application(node.keys.field_cipher, Actor("village", "village_staff"), form)
    env = {**os.environ, "YICIBAN_STATION_SYNC_BATCH_EVENTS": "10", "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "station", "sync", "--instance", str(instance)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    time.sleep(1.0)
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    deadline = time.monotonic() + 90
    while True:
        result = CliRunner().invoke(
            main, ["sync", "--instance", str(instance)], env={"YICIBAN_STATION_SYNC_BATCH_EVENTS": "10"}
        )
        assert result.exit_code == 0, result.output
        with dbmod.bound(node.database):
            summary = sync_summary()
            if summary["unacked"] == 0:
                head = read_head()
                assert stored_ack().for_epoch(head.epoch).through == head.seq
                assert verify_tail(10_000).seq == head.seq
                break
        assert time.monotonic() < deadline, summary
        time.sleep(0.5)


def test_an_online_station_relays_another_stations_sealed_files_unread(tmp_path, central):
    central_url, village_code = central
    central_instance = str(tmp_path / "central")
    output = _central("enrollment-code", "--instance", central_instance, "--station", TOWNSHIP[0])
    township_code = re.search(r"enrollment code for \d+: (\S+)", output).group(1)
    township = tmp_path / "township"
    runner = CliRunner()
    code_, name, level, parent = TOWNSHIP
    assert runner.invoke(main, ["init", "--instance", str(township), "--station-code", code_, "--name", name,
                                "--level", level, "--parent", parent]).exit_code == 0  # fmt: skip
    enrolled = runner.invoke(main, ["enroll", "--instance", str(township), "--central", central_url, "--code",
                                    township_code])  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    assert runner.invoke(main, ["create-user", "--instance", str(township), "--username", "township", "--role",
                                "township_clerk"], env={"YICIBAN_STATION_NEW_PASSWORD": PASSWORD}).exit_code == 0  # fmt: skip
    # The township is offline today: its work leaves on a stick that the (online) village relays.
    offline = create_app({"INSTANCE_PATH": str(township), "HUEY_IMMEDIATE": True, "CENTRAL_URL": ""})
    client = offline.test_client()
    login(client, "township")
    path = "/cases/new/GF00201000"
    client.post(path, data={**intake_data("relay-1"), "csrf_token": csrf_token(client, path)})
    stick = tmp_path / "stick"
    stick.mkdir()
    assert runner.invoke(main, ["export", "--instance", str(township), str(stick)]).exit_code == 0
    village = _station_instance(tmp_path, central_url, village_code)
    relayed = runner.invoke(main, ["import", "--instance", str(village), str(stick)])
    assert relayed.exit_code == 0, relayed.output
    assert "1 files relayed" in relayed.output
    online_again = create_app(
        {"INSTANCE_PATH": str(township), "HUEY_IMMEDIATE": True, "CENTRAL_URL": central_url}
    )
    deadline = time.monotonic() + 90
    with dbmod.bound(online_again.extensions["station"].database):
        from station.services.central_client import CentralClient
        from station.services.sync import pull_ack

        while pull_ack(CentralClient(central_url), TOWNSHIP[0]) < 1 or sync_summary()["unacked"]:
            assert time.monotonic() < deadline, sync_summary()
            time.sleep(0.5)


def test_enrollment_by_file_for_a_station_that_never_goes_online(tmp_path, central):
    central_url, code = central
    instance = tmp_path / "offline-village"
    runner = CliRunner()
    code_, name, level, parent = VILLAGE
    assert runner.invoke(main, ["init", "--instance", str(instance), "--station-code", code_, "--name", name,
                                "--level", level, "--parent", parent]).exit_code == 0  # fmt: skip
    request = tmp_path / "request.sig"
    made = runner.invoke(main, ["enroll-request", "--instance", str(instance), "--code", code, "--network", NETWORK,
                                "--out", str(request)])  # fmt: skip
    assert made.exit_code == 0, made.output
    reply = tmp_path / "reply.json"
    _central("enroll-file", "--instance", str(tmp_path / "central"), str(request), "--out", str(reply))
    installed = runner.invoke(main, ["enroll-reply", "--instance", str(instance), str(reply)])
    assert installed.exit_code == 0 and f"network {NETWORK}" in installed.output, installed.output
    again = runner.invoke(main, ["enroll-reply", "--instance", str(instance), str(reply)])
    assert again.exit_code == 1 and "enroll-request" in again.output


def test_walking_skeleton_over_real_waitress_servers(tmp_path, central):
    """Issue 2's journey with both nodes on real servers: village intake in the browser's way → sync button →
    central's batch list and case list show it."""
    from tests.support.http import WebClient
    from tests.support.servers import serve_app

    central_url, code = central
    instance = _station_instance(tmp_path, central_url, code)
    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True})
    with serve_app(app) as station_url:
        clerk = WebClient(station_url)
        clerk.login("village", PASSWORD)
        saved = clerk.submit(
            "/cases/new/GF00201000", {k: v for k, v in intake_data("skeleton-1").items() if k != "token"}
        )
        assert saved.status == 200 and "已保存" in saved.text
        number = re.search(r"990101101000-GF00201000-\d{8}-V101201-\d{4}", saved.text).group(0)
        assert number in clerk.get("/").text
        deadline = time.monotonic() + 90
        while True:
            synced = clerk.submit("/sync/", {}, form_action="/sync/now")
            assert "同步完成" in synced.text, synced.text[-2000:]
            if "待中心确认的事件</th><td>0 /" in synced.text:
                break
            assert time.monotonic() < deadline
            time.sleep(0.5)
    admin = WebClient(central_url)
    admin.login("admin", PASSWORD)
    while time.monotonic() < deadline and number not in admin.get("/cases/").text:
        time.sleep(0.5)
    assert number in admin.get("/cases/").text
    assert "990101101201" in admin.get("/batches/").text
