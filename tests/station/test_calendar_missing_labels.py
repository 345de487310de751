"""A case whose deadline falls in a year with no working-day calendar (DOMAIN.md §2.3) is labelled as such on the
home page and the case page — never 即将到期, which would be a guess — and its 受理通知书 prints 待定, not a date."""

from __future__ import annotations

import re

from casework.catalog import demo_catalog
from casework.catalog_format import dump_catalog
from station.models import CaseRecord, NodeState
from station.services.reference import CATALOG_KEY

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, intake_data

INTAKE = f"/cases/new/{LOW_INCOME}"
LABEL = "期限待定：工作日历未导入"
YEAR_LONG = 365  # working days: the deadline of a case accepted today lies beyond every shipped calendar year


def publish_a_year_long_item() -> None:
    """The catalog the station holds, with the 低保 item promised in a year of working days."""
    document = dump_catalog(demo_catalog())
    for item in document["items"]:
        if item["code"] == LOW_INCOME:
            item["promised_limit_days"] = item["legal_limit_days"] = YEAR_LONG
            for material in item["materials"]:
                material.pop("supply_days", None)
    NodeState.write(CATALOG_KEY, document)


def accept(client) -> CaseRecord:
    data = {**intake_data("tok-cal", decision="accept"), "csrf_token": csrf_token(client, INTAKE)}
    assert client.post(INTAKE, data=data).status_code == 302
    return CaseRecord.get()


def test_calendar_missing_is_said_on_home_and_case_page_and_the_notice(township_app):
    publish_a_year_long_item()
    client = township_app.test_client()
    login(client, "township")
    case = accept(client)
    assert case.light == "yellow" and case.deadline is None

    home = client.get("/").get_data(as_text=True)
    assert "期限待定：所在年度的工作日历尚未导入" in home, "the case has its own home list"
    row = next(r for r in re.findall(r"<tr>.*?</tr>", home, re.S) if case.number in r)
    assert LABEL in row and "即将到期" not in row
    assert re.search(r'<span class="light yellow">0</span>\s*即将到期', home), "not counted as due soon"

    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert LABEL in page and "工作日历尚未导入" in page
    links = re.findall(rf'href="(/cases/{case.id}/documents/[^"]+)"', page)
    notice = next(link for link in links if "acceptance_notice" in link and not link.endswith(".pdf"))
    sheet = client.get(notice).get_data(as_text=True)
    promised = re.search(r"承诺办结日期</td><td[^>]*>([^<]*)</td>", sheet)
    assert promised and promised.group(1).startswith("待定：") and "工作日历未发布" in promised.group(1)
