"""Long material lists break across pages, repeat the table header and number every page."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from printing import render
from printing.samples import long_material_list, sample_documents

from .support import pdf_page_count, pdf_pages_to_png, pdf_text

RECEIPT = sample_documents()["materials_receipt"]


def test_sixty_materials_make_a_valid_multi_page_pdf(tmp_path: Path):
    document = dataclasses.replace(RECEIPT, materials=long_material_list(60))
    pdf = render(document, copies=())
    pages = pdf_page_count(pdf, tmp_path)
    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(pdf, tmp_path, page=page)
        squeezed = "".join(text.split())
        assert f"第{page}页/共{pages}页" in squeezed
        assert "材料名称" in text, f"table header not repeated on page {page}"
    everything = pdf_text(pdf, tmp_path)
    assert "第1项佐证材料" in everything
    assert "第60项佐证材料" in everything
    assert "本凭证不作为受理依据" in "".join(everything.split())
    assert len(pdf_pages_to_png(pdf, "materials_receipt_60")) == pages


def test_page_count_grows_with_the_list(tmp_path: Path):
    short = render(dataclasses.replace(RECEIPT, materials=long_material_list(5)), copies=())
    long = render(dataclasses.replace(RECEIPT, materials=long_material_list(150)), copies=())
    assert pdf_page_count(short, tmp_path) == 1
    assert pdf_page_count(long, tmp_path) > 3


def test_two_part_print_numbers_each_copy_from_one(tmp_path: Path):
    """一式两份: each labelled copy starts on a new page and counts its own pages."""
    document = dataclasses.replace(RECEIPT, materials=long_material_list(60))
    single = pdf_page_count(render(document, copies=()), tmp_path)
    pdf = render(document)
    assert pdf_page_count(pdf, tmp_path) == 2 * single
    first = "".join(pdf_text(pdf, tmp_path, page=1).split())
    second = "".join(pdf_text(pdf, tmp_path, page=single + 1).split())
    assert "（递交人联）" in first and f"第1页/共{single}页" in first
    assert "（存根联）" in second and f"第1页/共{single}页" in second
    last = "".join(pdf_text(pdf, tmp_path, page=2 * single).split())
    assert f"第{single}页/共{single}页" in last


def test_explicit_copy_labels_override_the_default(tmp_path: Path):
    pdf = render(RECEIPT, copies=("申请人联", "村站存档联", "镇中心联"))
    assert pdf_page_count(pdf, tmp_path) == 3
    assert "（镇中心联）" in "".join(pdf_text(pdf, tmp_path, page=3).split())
