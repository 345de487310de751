"""Language and screen size, in Chromium against `yiciban-central demo`: the language switch turns the home, intake
and sync screens English (and keeps it for the session); every page a 代办 agent can reach from the station's home
page renders on a 360×740 phone without sideways scrolling."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from casework.catalog import demo_catalog
from tests.support.browser import chromium_page, screenshot

from .window import find_item, horizontal_overflow, log_in, new_person, press_sync_now, wrong_check_digit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser-demo")]

ITEM_CODE = "GF00201000"  # 最低生活保障申请
ENGLISH_LOGIN = ("Username", "Password", "Log in")
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
PHONE = (360, 740)
# One visit per screen: ids, item codes and queries vary, the screen (route) does not.
VARYING = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[A-Z]{2}\d{8}"
)
PICTURED = {"/", "/cases/*", "/cases/new/*", "/custody/", "/sync/"}
NOT_A_SCREEN = re.compile(r"\.(pdf|csv|png|jpe?g)$|/attachments/")


def visible_chrome(page) -> str:
    """Text of the interface itself — section headings, labels, legends, buttons, table headers, navigation —
    without the data (the station's name in the page title, applicants, item and material names) that shows in the
    language it was recorded in."""
    return "\n".join(page.locator("h2, legend, label, button, th, nav a, summary, .card").all_inner_texts())


def chrome_without_terms(page) -> str:
    """The interface text with the Chinese terms of art English labels keep in parentheses, e.g. "(收件)"."""
    return re.sub(r"[（(][^()（）]*[)）]", "", visible_chrome(page))


def test_english_labels_on_home_intake_and_sync(demo):
    with chromium_page(locale="en-US") as page:
        log_in(
            page, demo.village, "village"
        )  # Chinese until the clerk asks otherwise, whatever the browser says
        assert "最近办件" in page.inner_text("main")
        page.get_by_role("link", name="English", exact=True).click()
        assert page.locator("html").get_attribute("lang") == "en"
        nav = page.get_by_role("navigation")
        for label in ("Home", "New application", "Search", "Sync"):
            expect(nav.get_by_role("link", name=label, exact=True), label).to_be_visible()
        main = page.inner_text("main")
        assert "Recent cases" in main and "due today" in main and "overdue" in main
        assert not CJK.search(chrome_without_terms(page)), visible_chrome(page)
        screenshot(page, "language-01-home-en")

        nav.get_by_role("link", name="New application", exact=True).click()
        page.get_by_label("Name, pinyin initials or code").fill("zdshbz")
        with page.expect_navigation():
            page.get_by_role("button", name="Search", exact=True).click()
        row = page.locator("main table tbody tr").filter(has_text="Minimum living allowance")
        assert row.count() == 1, page.inner_text("main")
        row.get_by_role("link", name="Start an application").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("New application: Minimum living")
        applicant = page.get_by_role("group", name="Applicant")
        for label in ("Name", "ID number (身份证)", "Phone", "Address / village"):
            expect(applicant.get_by_label(label, exact=True), label).to_be_visible()
        expect(page.get_by_role("group", name="Materials")).to_be_visible()
        assert (
            page.get_by_role("group", name="Decision").get_by_label("Receive and forward (收件)").is_checked()
        )
        assert not CJK.search(chrome_without_terms(page)), visible_chrome(page)

        person = new_person("孙丽")
        applicant.get_by_label("Name", exact=True).fill(person.name)
        applicant.get_by_label("ID number (身份证)").fill(wrong_check_digit(person.id_number))
        applicant.get_by_label("Phone", exact=True).fill(person.phone)
        page.get_by_role("button", name="Save", exact=True).click()
        assert (
            page.get_by_role("alert").inner_text()
            == "Please correct the marked fields. Nothing was saved yet."
        )
        problem = page.locator("#err-id_number").inner_text()
        assert "check" in problem.lower() and not CJK.search(problem), problem
        assert applicant.get_by_label("Name", exact=True).input_value() == person.name
        screenshot(page, "language-02-intake-en-refused")

        page.get_by_role("navigation").get_by_role("link", name="Sync", exact=True).click()
        expect(page.get_by_role("heading", name="Sync with central")).to_be_visible()
        expect(page.get_by_role("button", name="Sync now")).to_be_visible()
        main = page.inner_text("main")
        assert "Events waiting for central" in main and "Last contact" in main
        assert not CJK.search(chrome_without_terms(page)), visible_chrome(page)
        screenshot(page, "language-03-sync-en")

        page.get_by_role("link", name="中文", exact=True).click()
        expect(page.get_by_role("heading", name="与中心同步")).to_be_visible()


def test_english_intake_names_the_materials_in_english(demo):
    """The catalog carries an English name for every material; the English checklist should use it."""
    item = demo_catalog().item(ITEM_CODE)
    with chromium_page() as page:
        log_in(page, demo.village, "village")
        page.goto(f"{demo.village}/cases/new/{ITEM_CODE}?lang=en")
        checklist = page.get_by_role("group", name="Materials")
        shown = [row.locator("td").first.inner_text() for row in checklist.locator("tbody tr").all()]
        expected = [m.name_en for m in item.materials]
        assert [s.split(" (optional)")[0] for s in shown] == expected


def test_sync_progress_is_told_in_the_clerks_language(demo):
    """After a sync the page shows its progress; in Chinese the phase is a Chinese word, not an internal code."""
    with chromium_page() as page:
        log_in(page, demo.village, "village")
        page.get_by_role("navigation").get_by_role("link", name="同步").click()
        progress = page.locator("main p", has=page.locator("progress"))
        if progress.count() == 0:  # the demo's first sync at start-up normally left its progress here already
            press_sync_now(page)
        assert progress.count() == 1, "the finished sync shows its progress"
        screenshot(page, "language-04-sync-progress-zh")
        assert not LATIN_WORD.search(progress.inner_text()), progress.inner_text()


@dataclass(frozen=True)
class Visit:
    station: str
    url: str
    status: int
    scroll_width: int
    inner_width: int
    printable: bool  # an A4 document's print view (its print toolbar), not a screen of the window

    @property
    def fits(self) -> bool:
        return self.scroll_width <= self.inner_width


def receive_on_the_phone(page, base: str) -> None:
    """The agent receives an application on the phone, so the agent's case screens exist to be visited."""
    person = new_person("周建华")
    find_item(page, "zdshbz")
    page.locator("main table tbody tr").filter(has_text="最低生活保障申请").get_by_role(
        "link", name="开始受理"
    ).click()
    box = page.get_by_role("group", name="申请人")
    box.get_by_label("姓名", exact=True).fill(person.name)
    box.get_by_label("身份证号码", exact=True).fill(person.id_number)
    box.get_by_label("联系电话", exact=True).fill(person.phone)
    for material in page.get_by_role("group", name="申请材料").get_by_role("combobox").all():
        material.select_option(label="已收取")
    page.get_by_role("button", name="保存").click()
    assert page.get_by_role("status").first.inner_text().startswith("已保存")


def crawl(page, station: str, base: str, limit: int = 60) -> list[Visit]:
    """Follow every same-site link from the home page, once per screen, as the logged-in user."""
    host = urlsplit(base).netloc
    queue, seen, visits = [f"{base}/"], set(), []
    while queue and len(visits) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        screen = VARYING.sub("*", parts.path)
        if screen in seen:
            continue
        seen.add(screen)
        reply = page.goto(url)
        width, inner = horizontal_overflow(page)
        printable = page.locator(".print-toolbar").count() > 0
        visit = Visit(station, url, reply.status, width, inner, printable)
        visits.append(visit)
        if (
            screen in PICTURED or not visit.fits
        ):  # a few screens for the record, and every one that is too wide
            slug = re.sub(r"[^a-z0-9]+", "-", screen.replace("*", "id").lower()).strip("-") or "home"
            screenshot(page, f"phone-{station}-{slug}")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(url, href))
            if target.netloc != host or "lang=" in target.query or NOT_A_SCREEN.search(target.path):
                continue
            queue.append(target._replace(fragment="").geturl())
    return visits


@pytest.fixture(scope="module")
def agent_visits(demo) -> list[Visit]:
    visits = []
    for station, base in (("village", demo.village), ("township", demo.township)):
        with chromium_page(viewport=PHONE) as page:
            page.goto(f"{base}/login")
            visits.append(Visit(station, page.url, 200, *horizontal_overflow(page), printable=False))
            log_in(page, base, "agent")
            if station == "village":
                receive_on_the_phone(page, base)
            visits += crawl(page, station, base)
    return visits


def test_agent_screens_fit_a_360_px_phone(agent_visits):
    screens = [v for v in agent_visits if not v.printable]
    reached = {urlsplit(v.url).path.rstrip("/") for v in screens}
    assert {"", "/items", "/sync", "/custody", "/custody/mine"} <= reached, sorted(reached)
    assert any(re.fullmatch(r"/cases/[0-9a-f-]{36}", path) for path in reached), "a case page was visited"
    assert [v for v in screens if v.status != 200] == [], "every link the agent is shown opens"
    too_wide = [(v.url, v.scroll_width) for v in screens if not v.fits]
    assert too_wide == [], f"pages that scroll sideways on a {PHONE[0]}-px phone: {too_wide}"


def test_printable_views_an_agent_opens_fit_a_360_px_phone(agent_visits):
    """A print view (e.g. the 办事指南 of an item) is also read on the agent's phone before it is printed."""
    documents = [v for v in agent_visits if v.printable]
    assert documents, "the agent reaches at least one print view (the item's 办事指南)"
    too_wide = [(v.url, v.scroll_width) for v in documents if not v.fits]
    assert too_wide == [], f"print views that scroll sideways on a {PHONE[0]}-px phone: {too_wide}"
