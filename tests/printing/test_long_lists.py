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
    pdf = render(document)
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
    short = render(dataclasses.replace(RECEIPT, materials=long_material_list(5)))
    long = render(dataclasses.replace(RECEIPT, materials=long_material_list(150)))
    assert pdf_page_count(short, tmp_path) == 1
    assert pdf_page_count(long, tmp_path) > 3
