"""The walking skeleton with real pieces: `yiciban-central demo` starts central, a township and a village station
as real waitress servers on 127.0.0.1; a village clerk receives an application; a sync (the button, then the
background task) carries it as a signed, chained, sealed batch to central, which verifies it, stores it and shows
it in its batch list and its case list. (That Ctrl-C stops every process: tests/central/test_demo.py.)"""

from __future__ import annotations

import re
import signal
import time

import pytest

from tests.support.http import WebClient
from tests.support.servers import NodeProcess, console_script

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

URLS = re.compile(r"^(central|township|village)\s+(http://127\.0\.0\.1:\d+)/login")
ITEM = "GF00201000"  # 最低生活保障申请 (低保): a village receives and forwards it.


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    # The background sync must run within the test's patience; everything else keeps its default.
    args = [console_script("yiciban-central"), "demo", "--dir", str(folder / "data"), "--sync-interval", "3"]
    process = NodeProcess(args)
    process.wait_for("press Ctrl-C", timeout=120)
    urls = {}
    for line in process.lines:
        match = URLS.match(line.strip())
        if match:
            urls[match.group(1)] = match.group(2)
    assert set(urls) == {"central", "township", "village"}, process.lines
    yield process, urls
    process.stop(signal.SIGINT, timeout=30)


def wait_until(check, timeout: float = 45.0, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def receive_application(clerk: WebClient, name: str, id_number: str) -> str:
    """Fill the intake form for the demo item like a clerk and return the new case number."""
    page = clerk.get(f"/cases/new/{ITEM}")
    assert page.status == 200
    materials = {m: "received" for m in re.findall(r'name="(material_[^"]+)"', page.text)}
    assert materials, "the item's materials checklist is on the form"
    reply = clerk.post(
        f"/cases/new/{ITEM}",
        {
            **clerk.form_fields(page, f"/cases/new/{ITEM}"),
            "applicant_name": name,
            "id_number": id_number,
            "phone": "13800138000",
            "address": "示范村一组",
            "decision": "receive",
            **materials,
        },
    )
    assert reply.status == 200 and "/cases/" in reply.url, reply.text[:2000]
    number = re.search(r"\b\d{12}-[A-Z]{2}\d{8}-\d{8}-[A-Z]\d{6}-\d{4}\b", reply.text)
    assert number, "the saved case page shows its number"
    return number.group(0)


def test_village_case_reaches_central_by_button_and_by_background_sync(demo):
    process, urls = demo
    clerk = WebClient(urls["village"])
    clerk.login("village", "demo1234")

    first = receive_application(clerk, "王秀兰", "330110198503121236")
    home = clerk.get("/")
    assert first in home.text, "the new case is on the station's home list"

    reply = clerk.submit("/sync/", {}, form_action="/sync/now")
    assert reply.status == 200

    admin = WebClient(urls["central"])
    admin.login("admin", "demo1234")
    wait_until(lambda: first in admin.get("/cases/").text)
    batches = admin.get("/batches/?station=990101101201")
    assert "990101101201" in batches.text
    assert "已应用" in batches.text or "applied" in batches.text.lower()

    # The second case travels without anyone pressing the button: the station's periodic task (huey checks once
    # a minute whether a sync is due) syncs it.
    second = receive_application(clerk, "李建国", "513434196001010813")
    wait_until(lambda: second in admin.get("/cases/").text, timeout=110, interval=2)

    assert "330110198503121236" not in admin.get("/cases/").text, "central never shows a raw ID number"
