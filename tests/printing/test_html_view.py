"""The browser print view: strict HTML5, A4 @page, no external resource, autoescaped, same content as the PDF."""

from __future__ import annotations

import dataclasses
import re

import html5lib
import pytest

from printing import Person, compose, render_html
from printing.samples import sample_documents

SAMPLES = sample_documents()
RAW_NUMBERS = ("330110198503121236", "13800138000", "33011020000229004X", "513434196001010813")


def parse_strict(markup: str):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(markup)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_print_view_is_strict_html5_without_external_resources(kind: str):
    markup = render_html(SAMPLES[kind])
    tree = parse_strict(markup)
    for element in tree.iter():
        for attribute in ("src", "href", "action", "data"):
            value = element.get(attribute)
            assert value is None or not re.match(r"\s*(https?:)?//", value), f"external {attribute}={value}"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", markup)
    assert "@import" not in markup and "url(" not in markup
    assert "<script" not in markup


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_print_view_says_what_the_pdf_says(kind: str):
    document = SAMPLES[kind]
    markup = render_html(document)
    layout = compose(document)
    assert f"<h1>{layout.title}</h1>" in markup.replace("&#34;", '"')
    assert layout.doc_number in markup
    for raw in RAW_NUMBERS:
        assert raw not in markup
    if layout.header_qr is not None:
        assert "<svg" in markup


def test_print_view_is_a4_with_chinese_fonts():
    markup = render_html(SAMPLES["acceptance_notice"])
    assert "@page { size: A4;" in markup
    assert '"WenQuanYi Micro Hei"' in markup and '"AR PL UMing CN"' in markup
    assert 'lang="zh-CN"' in markup
    assert "3301**********1236" in markup


def test_print_view_escapes_user_text():
    hostile = Person('<script>alert("x")</script>', "330110198503121236", "13800138000")
    document = dataclasses.replace(SAMPLES["acceptance_notice"], applicant=hostile)
    markup = render_html(document)
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    parse_strict(markup)


def test_long_tables_repeat_their_header_when_printed():
    markup = render_html(SAMPLES["materials_receipt"])
    assert "thead { display: table-header-group; }" in markup
    assert "<thead>" in markup


def test_print_view_repeats_the_sheet_for_each_copy():
    markup = render_html(SAMPLES["acceptance_notice"])
    assert markup.count('<main class="sheet">') == 2
    assert "（申请人联）" in markup and "（存档联）" in markup
    assert "break-before: page" in markup
    single = render_html(SAMPLES["acceptance_notice"], copies=())
    assert single.count('<main class="sheet">') == 1 and "联）" not in single


def test_daily_sheet_rows_are_tinted_by_light():
    markup = render_html(SAMPLES["daily_sheet"])
    assert 'class="tone-red"' in markup and 'class="tone-yellow"' in markup
