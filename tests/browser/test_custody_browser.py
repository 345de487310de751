"""Chromium drives the 代办 screens on real waitress servers: a village clerk drafts and dispatches a manifest, a
township clerk receives the folder by TYPING its label text, a forged label is refused in Chinese, and the agent's
view fits a 360-px phone screen."""

from __future__ import annotations

import pytest

from tests.station.conftest import TOWNSHIP_CODE, VILLAGE_CODE
from tests.station.test_custody import (
    COUNTY_CODE,
    _tampered,
    install_registry,
    make_app,
    receive_case,
    registry_for,
)
from tests.support.browser import chromium_page, screenshot
from tests.support.servers import serve_app

pytestmark = pytest.mark.browser


@pytest.fixture
def stations(tmp_path):
    village = make_app(tmp_path / "village", VILLAGE_CODE, "village", TOWNSHIP_CODE)
    township = make_app(tmp_path / "township", TOWNSHIP_CODE, "township", COUNTY_CODE)
    install_registry(
        township,
        registry_for(
            (village, VILLAGE_CODE, "village", TOWNSHIP_CODE),
            (township, TOWNSHIP_CODE, "township", COUNTY_CODE),
        ),
    )
    return village, township


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_dispatch_then_receive_by_typing_the_label(stations):
    village, township = stations
    case = receive_case(village)
    with serve_app(village) as village_url, serve_app(township) as township_url, chromium_page() as page:
        log_in(page, village_url, "village")
        page.goto(f"{village_url}/custody/")
        assert case.number in page.content()
        page.click("form.card button[type=submit]")  # 起草交接单 for the township, the folder ticked
        page.wait_for_url(f"{village_url}/custody/manifests/*")
        page.click("details summary")  # the clerk opens the label text to read it out or copy it
        label = page.inner_text("code.label-text")
        assert label.startswith("YCB1.c.")
        page.click("form[action$='/dispatch'] button")
        page.wait_for_selector("text=已交接")
        screenshot(page, "custody-manifest-dispatched")

        page.context.clear_cookies()
        log_in(page, township_url, "township")
        page.goto(f"{township_url}/custody/receive")
        page.fill("textarea[name=label]", _tampered(label))
        page.click("form.narrow button[type=submit]")
        assert "签名无效" in page.inner_text("[role=alert]")
        page.fill("textarea[name=label]", "")
        page.type("textarea[name=label]", label, delay=0)  # typed by hand, character by character
        page.click("form.narrow button[type=submit]")
        status = page.inner_text("div.flash[role=status]")
        assert f"已签收卷宗 {case.number}" in status and "张*明" in status
        screenshot(page, "custody-received-by-typing")


def test_agent_view_fits_a_360_px_phone(stations):
    village, _township = stations
    case = receive_case(village)
    with serve_app(village) as village_url, chromium_page(viewport=(360, 740)) as page:
        log_in(page, village_url, "village")
        page.goto(f"{village_url}/custody/")
        page.click("form.card button[type=submit]")
        page.wait_for_url(f"{village_url}/custody/manifests/*")
        page.click("form[action$='/dispatch'] button")
        page.context.clear_cookies()
        log_in(page, village_url, "agent")
        page.goto(f"{village_url}/custody/mine")
        assert case.number in page.content()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the agent's view scrolls sideways by {overflow}px on a phone"
        screenshot(page, "custody-agent-phone")
