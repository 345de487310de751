"""A deadline the station cannot compute (its year's working-day calendar is missing) is printed as 待定 with the
reason — in the PDF and the print view — and never as a date."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from printing import DateToBeConfirmed, render, render_html
from printing.model import format_date
from printing.samples import sample_documents

from .support import pdf_text

SAMPLES = sample_documents()
PENDING = DateToBeConfirmed("2027 年工作日历未发布")
CHINESE_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")


def line_with(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if label in line)


@pytest.mark.parametrize("kind", ["acceptance_notice", "gap_acceptance_notice"])
def test_promised_date_to_be_confirmed_is_printed_with_its_reason(kind: str, tmp_path: Path):
    document = dataclasses.replace(SAMPLES[kind], promised_deadline=PENDING)
    text = pdf_text(render(document), tmp_path)
    promised = line_with(text, "承诺办结日期")
    assert "待定：2027 年工作日历未发布" in promised
    assert not CHINESE_DATE.search(promised), promised
    assert "待定：2027 年工作日历未发布" in render_html(document)


def test_extension_with_deadlines_to_be_confirmed_names_no_date(tmp_path: Path):
    document = dataclasses.replace(
        SAMPLES["extension_notice"], original_deadline=PENDING, new_deadline=PENDING
    )
    text = pdf_text(render(document), tmp_path, layout=False)
    squeezed = "".join(text.split())
    assert "不能在原办结期限内作出决定" in squeezed
    assert "延长后的办结期限待定（2027年工作日历未发布）" in squeezed
    assert "原办结期限待定：2027年工作日历未发布" in squeezed
    assert set(CHINESE_DATE.findall(text)) == {format_date(document.issued_on)}, (
        "the only date is the issue date"
    )


def test_a_reasonless_date_to_be_confirmed_still_says_so():
    document = dataclasses.replace(SAMPLES["acceptance_notice"], promised_deadline=DateToBeConfirmed(""))
    assert "待定" in render_html(document)
