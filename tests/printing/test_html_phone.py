"""The print view read on a 360-px phone before printing: the A4 sheet is zoomed to the screen's width (no sideways
scrolling), while a wide screen and the printed page keep the sheet at its real size."""

from __future__ import annotations

from pathlib import Path

import pytest

from printing import render_html
from printing.samples import sample_documents
from tests.support.browser import chromium_page

pytestmark = pytest.mark.browser

MEASURE = """() => [document.scrollingElement.scrollWidth, window.innerWidth,
    parseFloat(getComputedStyle(document.querySelector('.sheet')).zoom)]"""


def test_every_print_view_fits_a_phone_and_keeps_a4_on_a_wide_screen(tmp_path: Path):
    views = {}
    for kind, document in sorted(sample_documents().items()):
        views[kind] = tmp_path / f"{kind}.html"
        views[kind].write_text(render_html(document), encoding="utf-8")
    with chromium_page(viewport=(360, 740)) as page:
        for kind, view in views.items():
            page.goto(view.as_uri())
            scroll_width, inner_width, zoom = page.evaluate(MEASURE)
            assert scroll_width <= inner_width, f"{kind} scrolls sideways: {scroll_width} > {inner_width}"
            assert 0.4 < zoom < 0.5, (kind, zoom)  # 360 px of a 210 mm (794 px) sheet
            page.emulate_media(media="print")
            assert page.evaluate(MEASURE)[2] == 1, f"{kind} is zoomed when printed"
            page.emulate_media(media="screen")
    with chromium_page(viewport=(1200, 900)) as page:
        page.goto(views["acceptance_notice"].as_uri())
        assert page.evaluate(MEASURE)[2] == 1
        assert page.evaluate("() => document.querySelector('.sheet').getBoundingClientRect().width") == (
            pytest.approx(210 / 25.4 * 96, abs=1)
        )
