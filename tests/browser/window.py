"""What the browser tests of the window share: the running demo, logging in like a person, fresh applicants,
and the checks a page must pass on any screen."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import secrets
import time
from dataclasses import dataclass

from casework.identifiers import citizen_id_check_char, mask_id_number

PASSWORD = "demo1234"
VILLAGE_CODE = "990101101201"
TOWNSHIP_CODE = "990101101000"
# Case number (办件编号): 实施编码 + date + per-station device prefix + daily sequence.
CASE_NUMBER = re.compile(r"\b\d{12}-[A-Z]{2}\d{8}-\d{8}-[A-Z]\d{6}-\d{4}\b")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_serial = itertools.count(1)


@dataclass(frozen=True)
class Demo:
    """Base URLs of the three nodes `yiciban-central demo` started (``central``, ``township``, ``village``)."""

    central: str
    township: str
    village: str


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)


def new_person(name: str) -> Person:
    """A person no station has seen: a valid 身份证号 (GB 11643 check digit) with a birth date and sequence drawn
    at random, so a second run of the suite against the same demo would still find nobody."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=secrets.randbelow(365 * 50))
    sequence = f"{secrets.randbelow(999) + 1:03d}"
    body = f"330110{birth:%Y%m%d}{sequence}"
    phone = f"139{next(_serial):02d}{secrets.randbelow(10**6):06d}"
    return Person(name, body + citizen_id_check_char(body), phone)


def wrong_check_digit(id_number: str) -> str:
    """The same number with its last character mistyped, as a clerk's slip would."""
    return id_number[:-1] + ("1" if id_number[-1] != "1" else "2")


def log_in(page, base: str, username: str, labels: tuple[str, str, str] = ("用户名", "密码", "登录")) -> None:
    """Log in through the form by its visible labels (Chinese unless told otherwise) and land on the home page."""
    user_label, password_label, button = labels
    page.goto(f"{base}/login")
    page.get_by_label(user_label, exact=True).fill(username)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(re.compile(re.escape(base) + r"/(\?.*)?$"))


def wait_for_text(page, url: str, text: str, timeout: float = 60.0, interval: float = 1.0) -> None:
    """Reload ``url`` until ``text`` shows in its main content (central applies batches in a background task)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if text in page.inner_text("main"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} did not appear on {url} within {timeout:.0f} s")
        time.sleep(interval)


def horizontal_overflow(page) -> tuple[int, int]:
    """(scrollWidth of the document, innerWidth of the window): the page scrolls sideways when the first is larger."""
    return page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")


def find_item(page, query: str) -> None:
    """Search the catalog from the 新办件 screen like a clerk, and wait for the results page."""
    page.get_by_role("navigation").get_by_role("link", name="新办件").click()
    page.get_by_label("名称、拼音首字母或编码").fill(query)
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()


def sync_field(page, heading: str) -> str:
    """A value of the sync page's table (e.g. 最近联系, 待中心确认的事件), or "" when the row is absent."""
    row = page.locator("main table tr", has=page.locator("th", has_text=heading))
    return row.locator("td").inner_text().strip() if row.count() else ""


def sync_time(page, heading: str) -> dt.datetime | None:
    """The exact moment (to the second, UTC) in a time row of the sync page (最近联系, 最近一次尝试), or None.

    The row's words give people the minute and how long ago — they change when the minute turns, not when a
    sync ends — so a test reads the ``<time datetime>`` the row carries."""
    row = page.locator("main table tr", has=page.locator("th", has_text=heading))
    moment = row.locator("time") if row.count() else None
    if moment is None or moment.count() == 0:
        return None
    return dt.datetime.fromisoformat(moment.get_attribute("datetime"))


def press_sync_now(page, timeout: float = 90.0) -> None:
    """On the station's sync page: press 立即同步 and wait until a sync that STARTED after the press has finished,
    without an error.

    The button queues the sync for the station's task consumer and returns at once (the page then refreshes itself
    while the sync runs); the demo's stations also sync on their own every minute, and one of those may be running
    or finish meanwhile — it does not count: the press is over when nothing runs and the last attempt (the start
    of the newest finished sync) is not before the press; that sync's error, if any, fails the test."""
    pressed = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the page's times are to the second
    page.get_by_role("button", name="立即同步").click()
    told = page.get_by_role("status").first.inner_text()
    assert told == "同步已开始。" or told.startswith("同步完成"), told
    deadline = time.monotonic() + timeout
    while True:
        attempt = sync_time(page, "最近一次尝试")
        if "正在同步" not in page.inner_text("main") and attempt is not None and attempt >= pressed:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"the sync did not finish within {timeout:.0f} s: {page.inner_text('main')}")
        time.sleep(0.5)
        page.reload()
    assert not sync_field(page, "最近错误"), f"the sync failed: {sync_field(page, '最近错误')}"
