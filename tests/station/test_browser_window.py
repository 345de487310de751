"""The clerk's whole window journey in Chromium, in Chinese, on a real waitress server: find the item, type the
applicant, mark one material 容缺, accept with gaps, open the printable receipt, see the case on the home list."""

import pytest

from station import create_app
from tests.support.browser import chromium_page, screenshot
from tests.support.calendars import import_at_station
from tests.support.servers import serve_app

from .conftest import PASSWORD
from .helpers import LOW_INCOME, citizen_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_township_window_journey_in_chinese(township_instance):
    app = create_app({"INSTANCE_PATH": str(township_instance)})
    import_at_station(
        app
    )  # today's deadlines may fall in a year casework does not ship: imported as central would
    with serve_app(app) as url, chromium_page() as page:
        page.goto(url + "/")
        page.fill("input[name=username]", "township")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        assert "最近办件" in page.content()
        page.click("text=新办件")
        page.fill("input[name=q]", "低保")
        page.click("main button[type=submit]")
        screenshot(page, "station-01-find-item")
        page.click(f"a[href='/cases/new/{LOW_INCOME}']")
        page.fill("form[method=post] input[name=applicant_name]", "张三")
        mistyped = citizen_id()[:-1] + ("0" if citizen_id()[-1] != "0" else "1")
        page.fill("form[method=post] input[name=id_number]", mistyped)
        page.fill("input[name=phone]", "13800138000")
        selects = page.locator("select[name^=material_]")
        for index in range(selects.count()):
            selects.nth(index).select_option("received")
        deferrable = page.locator("select[name^=material_]:has(option[value=deferred])").first
        deferrable.select_option("deferred")
        page.check("input[name=decision][value=accept_with_gaps]")
        page.click("form button[type=submit]:has-text('保存')")
        assert "校验位" in page.content()  # a mistyped ID number: told in Chinese, nothing lost
        assert page.input_value("form[method=post] input[name=applicant_name]") == "张三"
        screenshot(page, "station-02-intake-error")
        page.fill("form[method=post] input[name=id_number]", citizen_id())
        page.click("form button[type=submit]:has-text('保存')")
        assert "已保存" in page.content() and "容缺受理" in page.content()
        assert "工作日历未导入" not in page.content() and "工作日历尚未导入" not in page.content()
        number = page.locator("main p strong").first.inner_text()
        screenshot(page, "station-03-case-page")
        page.locator("a:has-text('打印预览')").first.click()
        assert number in page.content()
        screenshot(page, "station-04-receipt-print-view")
        page.goto(url + "/")
        assert number in page.content()
        row = page.locator(f"tr:has-text('{number}')").first
        assert row.is_visible()
        screenshot(page, "station-05-home")


@pytest.mark.parametrize("viewport", [(360, 740), (1024, 768)])
def test_window_pages_fit_a_phone_and_an_old_pc_screen(instance, viewport):
    app = create_app({"INSTANCE_PATH": str(instance)})
    with serve_app(app) as url, chromium_page(viewport=viewport) as page:
        page.goto(url + "/login")
        page.fill("input[name=username]", "village")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        for path in ("/", "/items/?q=低保", f"/cases/new/{LOW_INCOME}", "/sync/", "/search?q=张"):
            page.goto(url + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, viewport, overflow)
        screenshot(page, f"station-search-{viewport[0]}")
