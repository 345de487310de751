"""The township window's whole journey in Chinese (issue 4), in Chromium against `yiciban-central demo`: find the
item by pinyin initials → search-before-create by ID finds nobody → a mistyped 身份证 is refused in Chinese with
everything typed kept → applicant and materials with exactly one 容缺 material → 容缺受理 → the 容缺受理通知书 in
its print view and as a PDF → the case on the home list with its deadline and light."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from urllib.parse import urljoin

import pytest

from tests.support.browser import chromium_page, screenshot

from .window import CASE_NUMBER, DATE, find_item, log_in, new_person, wrong_check_digit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser-demo")]

# 临时救助申请: accepted by the township, 10 working days promised, 银行账户 may follow under 容缺.
ITEM_CODE = "GF00203000"
ITEM_NAME = "临时救助申请"
ITEM_INITIALS = "lsjz"
DEFERRED_MATERIAL = "银行账户（一卡通）"
# 最低生活保障申请: 25 working days, so a deadline that may fall in a year whose calendar is not loaded yet.
LONG_ITEM_CODE = "GF00201000"
LONG_LIMIT_DAYS = 25
CHINESE_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")


def search_by_id(page, base: str, id_number: str) -> str:
    """What the window's search shows for an ID number (looked up by its keyed hash)."""
    page.get_by_role("navigation").get_by_role("link", name="查询").click()
    page.get_by_label("办件编号、申请人姓名、拼音、事项或身份证号").fill(id_number)
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    return page.inner_text("main")


def fill_applicant(page, name: str, id_number: str, phone: str) -> None:
    box = page.get_by_role("group", name="申请人")
    box.get_by_label("姓名", exact=True).fill(name)
    box.get_by_label("身份证号码", exact=True).fill(id_number)
    box.get_by_label("联系电话", exact=True).fill(phone)


def mark_materials(page, deferred: str | None) -> None:
    """Every material received, except ``deferred`` which the applicant will supply later under 容缺."""
    for material in page.get_by_role("group", name="申请材料").get_by_role("combobox").all():
        name = material.get_attribute("aria-label")
        material.select_option(label="容缺后补" if name == deferred else "已收取")


def case_deadline(page) -> str:
    """The 办结期限 cell of the case page: a date, or — when it cannot be computed."""
    return page.locator("tr", has_text="办结期限").locator("td").inner_text().strip()


def promised_date(notice_text: str) -> dt.date | None:
    line = next(line for line in notice_text.splitlines() if "承诺办结日期" in line)
    match = CHINESE_DATE.search(line)
    return dt.date(*map(int, match.groups())) if match else None


def open_notice(page, title: str) -> str:
    """Open the print view of the case document called ``title`` from the case page; returns its text."""
    page.locator("section.case-documents li", has_text=title).get_by_role("link", name="打印预览").click()
    # The applicant's copy (申请人联) and the file copy (存档联) of the same document.
    assert set(page.get_by_role("heading", level=1).all_inner_texts()) == {title}
    return page.inner_text("main")


def test_township_window_journey_accept_with_gaps_and_print(demo, tmp_path):
    applicant = new_person("赵春梅")
    with chromium_page() as page:
        log_in(page, demo.township, "township")
        assert "最近办件" in page.inner_text("main")

        # Search before create: nobody with this ID number is known at this station yet.
        found = search_by_id(page, demo.township, applicant.id_number)
        assert "没有找到办件。" in found
        screenshot(page, "window-01-search-before-create")

        find_item(page, ITEM_INITIALS)
        item_row = page.locator("main table tbody tr").filter(has_text=ITEM_NAME)
        assert item_row.count() == 1, page.inner_text("main")
        assert "10 个工作日" in item_row.inner_text()
        screenshot(page, "window-02-find-item")
        item_row.get_by_role("link", name="开始受理").click()
        assert page.url.endswith(f"/cases/new/{ITEM_CODE}")

        # A slip in the check digit: refused in Chinese, nothing lost.
        mistyped = wrong_check_digit(applicant.id_number)
        fill_applicant(page, applicant.name, mistyped, applicant.phone)
        mark_materials(page, deferred=DEFERRED_MATERIAL)
        decision = page.get_by_role("group", name="办理方式")
        decision.get_by_label("容缺受理").check()
        page.get_by_role("button", name="保存").click()
        assert page.get_by_role("alert").inner_text() == "请更正标出的内容。尚未保存。"
        assert "校验位" in page.locator("#err-id_number").inner_text()
        box = page.get_by_role("group", name="申请人")
        assert box.get_by_label("姓名", exact=True).input_value() == applicant.name
        assert box.get_by_label("身份证号码", exact=True).input_value() == mistyped
        assert box.get_by_label("联系电话", exact=True).input_value() == applicant.phone
        assert page.get_by_label(DEFERRED_MATERIAL).input_value() == "deferred"
        received = page.get_by_role("group", name="申请材料").get_by_role("combobox")
        assert sorted(m.input_value() for m in received.all()).count("received") == received.count() - 1
        assert decision.get_by_label("容缺受理").is_checked()
        screenshot(page, "window-03-intake-refused-check-digit")

        box.get_by_label("身份证号码", exact=True).fill(applicant.id_number)
        page.get_by_role("button", name="保存").click()
        saved = page.get_by_role("status").first.inner_text()
        assert saved.startswith("已保存"), saved
        number = CASE_NUMBER.search(saved).group(0)
        summary = page.locator("main p:has(strong)", has_text=number).inner_text()
        assert "容缺受理" in summary
        gaps = page.get_by_role("heading", name="容缺待补材料").locator("xpath=following-sibling::ul[1]")
        assert gaps.locator("li").count() == 1 and DEFERRED_MATERIAL in gaps.inner_text()
        deadline = case_deadline(page)
        assert DATE.fullmatch(deadline.split(" ")[0]), f"the case page shows a deadline date: {deadline!r}"
        deadline_date = dt.date.fromisoformat(deadline.split(" ")[0])
        screenshot(page, "window-04-case-accepted-with-gaps")

        notice = open_notice(page, "容缺受理通知书")
        assert number in notice
        assert applicant.masked_id in notice and applicant.id_number not in notice
        assert DEFERRED_MATERIAL in notice
        assert promised_date(notice) == deadline_date, "the notice promises the deadline the case page shows"
        screenshot(page, "window-05-notice-print-view")
        pdf_link = page.get_by_role("toolbar").get_by_role("link", name="下载 PDF")
        reply = page.request.get(urljoin(page.url, pdf_link.get_attribute("href")))  # with the clerk's cookie
        assert reply.status == 200 and reply.headers["content-type"] == "application/pdf"
        pdf = reply.body()
        assert pdf.startswith(b"%PDF")
        (tmp_path / "notice.pdf").write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "notice.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "容缺受理通知书" in text and number in text and applicant.masked_id in text
        assert applicant.id_number not in text

        page.goto(f"{demo.township}/")
        recent = page.get_by_role("heading", name="最近办件").locator("xpath=following-sibling::table[1]")
        row = recent.locator("tbody tr").filter(has_text=number)
        assert row.count() == 1, "the case is on the home list once"
        deadline_cell = row.locator("td").nth(4)
        assert deadline_date.isoformat() in deadline_cell.inner_text()
        light = deadline_cell.locator("span.light")
        assert light.get_attribute("class").split()[1] in {"green", "yellow", "red", "grey"}
        assert light.inner_text() in {"正常", "即将到期", "已超时", "暂停计时"}
        screenshot(page, "window-06-home-with-deadline")

        # The same ID number is now found by the search the next clerk does before creating.
        assert number in search_by_id(page, demo.township, applicant.id_number)


def test_notice_never_promises_a_date_the_station_could_not_compute(demo):
    """The 受理通知书 states the promised completion date the case clock computed. When the working-day calendar of
    the deadline's year is not loaded yet, the case page says so (DOMAIN.md §2.3: a visible warning, never a silent
    guess) — and the notice handed to the applicant must not print a made-up date in its place."""
    applicant = new_person("钱多多")
    with chromium_page() as page:
        log_in(page, demo.township, "township")
        page.goto(f"{demo.township}/cases/new/{LONG_ITEM_CODE}")
        fill_applicant(page, applicant.name, applicant.id_number, applicant.phone)
        mark_materials(page, deferred=None)
        page.get_by_role("group", name="办理方式").get_by_label("受理", exact=True).check()
        page.get_by_role("button", name="保存").click()
        assert page.get_by_role("status").first.inner_text().startswith("已保存")
        accepted_on = dt.date.fromisoformat(
            page.locator("tr", has_text="受理日期").locator("td").inner_text()
        )
        deadline = case_deadline(page).split(" ")[0]
        calendar_missing = not DATE.fullmatch(deadline)
        if calendar_missing:
            assert "工作日历尚未导入" in page.inner_text("main"), (
                "the case page says why there is no deadline"
            )
        screenshot(page, "window-07-long-item-case")
        notice = open_notice(page, "受理通知书")
        screenshot(page, "window-08-long-item-notice")
        promised = promised_date(notice)
        if not calendar_missing:
            assert promised == dt.date.fromisoformat(deadline)
        else:
            assert promised is None or promised >= accepted_on + dt.timedelta(days=LONG_LIMIT_DAYS), (
                f"受理通知书 promises completion on {promised} for a {LONG_LIMIT_DAYS}-working-day item accepted "
                f"on {accepted_on}, although the station could not compute the deadline"
            )


def test_item_guide_prints_in_chinese(demo):
    """The item's 办事指南, printable offline (issue 4 item 2): opened from the intake form, it names the item, and
    its text is Chinese — no internal code such as an enum value where the applicant reads who may apply."""
    with chromium_page() as page:
        log_in(page, demo.township, "township")
        page.goto(f"{demo.township}/cases/new/{ITEM_CODE}")
        page.get_by_role("link", name="办事指南").click()
        page.get_by_role("link", name="办事指南（打印版）").click()
        assert ITEM_NAME in page.get_by_role("heading", level=1).first.inner_text()
        sheet = page.inner_text("main")
        assert "申请材料" in sheet and DEFERRED_MATERIAL in sheet
        screenshot(page, "window-09-item-guide")
        reply = page.request.get(urljoin(page.url, f"/items/{ITEM_CODE}/guide.pdf"))
        assert reply.status == 200 and reply.body().startswith(b"%PDF")
        latin = set(re.findall(r"[A-Za-z_]{2,}", sheet.replace(ITEM_CODE, "")))
        assert latin == set(), f"words of code in the printed guide: {sorted(latin)}"
