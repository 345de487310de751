"""The walking skeleton's browser part (issue 2 item 7), in Chromium against `yiciban-central demo`: the village
clerk logs in to a Chinese screen, finds 最低生活保障申请 by its pinyin initials, receives an application with its
materials (收件, to forward to the township), sees it on the home list, presses 立即同步; then, in the same browser,
the central admin finds the case number in central's case list and the village's batch marked 已应用."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page, screenshot

from .window import (
    CASE_NUMBER,
    VILLAGE_CODE,
    find_item,
    log_in,
    new_person,
    press_sync_now,
    sync_field,
    wait_for_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser-demo")]

ITEM_NAME = "最低生活保障申请"
ITEM_INITIALS = "zdshbz"  # 最低生活保障 — what a clerk types instead of the characters


def test_village_clerk_receives_syncs_and_central_shows_the_case(demo):
    applicant = new_person("王秀兰")
    with chromium_page() as page:
        page.goto(f"{demo.village}/login")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        expect(page.get_by_role("heading", name="登录")).to_be_visible()
        screenshot(page, "skeleton-01-login")
        log_in(page, demo.village, "village")
        main = page.inner_text("main")
        assert "最近办件" in main and "今日到期" in main, "the home page speaks Chinese by default"
        screenshot(page, "skeleton-02-home-before")

        find_item(page, ITEM_INITIALS)
        expect(page.get_by_role("heading", name="查找事项")).to_be_visible()
        rows = page.locator("main table tbody tr")
        assert rows.count() >= 1
        item_row = rows.filter(has_text=ITEM_NAME)
        assert item_row.count() == 1, f"{ITEM_INITIALS} finds {ITEM_NAME}: {page.inner_text('main')}"
        screenshot(page, "skeleton-03-find-item")
        item_row.get_by_role("link", name="开始受理").click()

        assert ITEM_NAME in page.get_by_role("heading", level=1).inner_text()
        applicant_box = page.get_by_role("group", name="申请人")
        applicant_box.get_by_label("姓名", exact=True).fill(applicant.name)
        applicant_box.get_by_label("身份证号码", exact=True).fill(applicant.id_number)
        applicant_box.get_by_label("联系电话", exact=True).fill(applicant.phone)
        applicant_box.get_by_label("住址 / 所在村组").fill("示范村一组")
        checklist = page.get_by_role("group", name="申请材料").get_by_role("combobox")
        assert checklist.count() >= 3, "the item's materials checklist is generated on the form"
        for material in checklist.all():
            material.select_option(label="已收取")
        receive = page.get_by_role("group", name="办理方式").get_by_label("收件并报送")
        receive.check()
        assert receive.is_checked()
        screenshot(page, "skeleton-04-intake-filled")
        page.get_by_role("button", name="保存").click()

        saved = page.get_by_role("status").first.inner_text()
        assert saved.startswith("已保存"), saved
        number = CASE_NUMBER.search(saved).group(0)
        # 实施编码 of the accepting township, then the receiving village's own prefix: unique without central.
        assert f"-V{VILLAGE_CODE[-6:]}-" in number, number
        case_page = page.inner_text("main")
        assert applicant.masked_id in case_page and applicant.id_number not in case_page
        screenshot(page, "skeleton-05-case-saved")

        page.get_by_role("navigation").get_by_role("link", name="首页").click()
        recent = page.get_by_role("heading", name="最近办件").locator("xpath=following-sibling::table[1]")
        row = recent.locator("tbody tr").filter(has_text=number)
        assert row.count() == 1, "the new case is on the station's home list of recent cases, once"
        assert ITEM_NAME in row.inner_text() and applicant.name in row.inner_text()
        screenshot(page, "skeleton-06-home-with-case")

        page.get_by_role("navigation").get_by_role("link", name="同步").click()
        expect(page.get_by_role("heading", name="与中心同步")).to_be_visible()
        waiting = sync_field(page, "待中心确认的事件")
        assert not waiting.startswith("0 /"), f"the new case's events wait for central: {waiting}"
        press_sync_now(page)
        screenshot(page, "skeleton-07-synced")

        central = page.context.new_page()
        log_in(central, demo.central, "admin")
        central.get_by_role("navigation").get_by_role("link", name="办件").click()
        wait_for_text(central, central.url, number)  # central applies the batch in its background task
        case_row = central.locator("main table tbody tr").filter(has_text=number)
        assert case_row.count() == 1
        assert VILLAGE_CODE in case_row.inner_text()
        assert applicant.id_number not in central.content(), "central never shows a raw ID number"
        screenshot(central, "skeleton-08-central-cases")

        central.get_by_role("navigation").get_by_role("link", name="批次").click()
        central.get_by_label("站点").fill(VILLAGE_CODE)
        with central.expect_navigation():
            central.get_by_role("button", name="筛选").click()
        batches = central.locator("main table tbody tr")
        newest = batches.first.inner_text()  # newest first: the batch our sync pushed, which carried the case
        assert VILLAGE_CODE in newest and "已应用" in newest, newest
        assert not any("已隔离" in row or "已拒收" in row for row in batches.all_inner_texts())
        screenshot(central, "skeleton-09-central-batches")

        # Central acknowledges only after it has applied the batch; the next sync brings the signed ack home.
        page.bring_to_front()
        press_sync_now(page)
        waiting = sync_field(page, "待中心确认的事件")
        assert re.fullmatch(r"0 / [1-9]\d*", waiting), f"central acknowledged everything: {waiting}"
        screenshot(page, "skeleton-10-acknowledged")


def test_one_browser_keeps_the_village_and_the_township_logged_in(demo):
    """The demo runs both stations on 127.0.0.1, and browsers share cookies across ports: someone trying the demo
    in two tabs of one browser must stay logged in at the village after logging in at the township (otherwise the
    village tab's form is refused on save and what was typed is lost)."""
    with chromium_page() as page:
        log_in(page, demo.village, "village")
        township = page.context.new_page()
        log_in(township, demo.township, "township")
        page.goto(f"{demo.village}/")
        assert "/login" not in page.url, "logging in at the township logged the village clerk out"
        expect(page.get_by_role("heading", name="示范村便民服务站")).to_be_visible()
