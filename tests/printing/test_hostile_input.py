"""Whatever text a form lets through, printing either renders it cleanly or raises a PrintingError."""

from __future__ import annotations

import dataclasses

import html5lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from printing import DocumentError, MaterialLine, Person, render, render_html
from printing.samples import VILLAGE, sample_documents

from .support import pdf_page_count, pdf_text

RECEIPT = sample_documents()["materials_receipt"]


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(min_size=1, max_size=30),
    material=st.text(min_size=1, max_size=60),
    note=st.text(max_size=20),
)
def test_any_text_renders_to_pdf_and_strict_html(name: str, material: str, note: str):
    document = dataclasses.replace(
        RECEIPT,
        applicant=Person(name, "330110198503121236", "13800138000"),
        materials=(MaterialLine(material, note=note),),
    )
    assert render(document, copies=()).startswith(b"%PDF-")
    html5lib.HTMLParser(strict=True).parse(render_html(document, copies=()))


def test_control_characters_never_reach_the_page():
    document = dataclasses.replace(RECEIPT, applicant=Person("张\x00晓\x1b明\ud800", "330110198503121236"))
    markup = render_html(document, copies=())
    assert "\x00" not in markup and "\x1b" not in markup
    assert "张晓明\ufffd" in markup


@pytest.mark.parametrize("payload", ["", "x" * 5000])
def test_unencodable_qr_content_is_a_document_error(payload: str):
    document = dataclasses.replace(RECEIPT, case_number="", qr_payload=payload)
    with pytest.raises(DocumentError):
        render(document, copies=())


@pytest.mark.parametrize(
    "change",
    [
        {"materials": (MaterialLine("很长的材料名称" * 400),)},
        {"forward_to": "镇" * 3000},
        {"applicant": Person("名" * 2000, "330110198503121236")},
    ],
)
def test_values_longer_than_a_page_split_across_pages(change: dict, tmp_path):
    pdf = render(dataclasses.replace(RECEIPT, **change), copies=())
    assert pdf_page_count(pdf, tmp_path) >= 2


def test_a_long_station_name_keeps_the_whole_footer_on_the_page(tmp_path):
    station = "青山县青山镇石桥村第三村民小组联合便民服务代办点（临时）"
    issuer = dataclasses.replace(VILLAGE, station=station, consult_phone="0579-86120101转8001")
    pdf = render(dataclasses.replace(RECEIPT, issuer=issuer), copies=())
    text = "".join(pdf_text(pdf, tmp_path).split())
    assert f"{station}咨询电话：0579-86120101转8001监督电话：12345办件编号：{RECEIPT.case_number}" in text
