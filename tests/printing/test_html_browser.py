"""The print view in real Chromium: A4 pages when printed, Chinese text in the printed PDF, QR codes that scan."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from printing import render_html
from printing.samples import CASE, sample_documents
from sync_protocol.receipts import sign_qr_payload, verify_qr_payload
from tests.support.browser import chromium_page

from .support import ARTIFACTS, StationKey, pdf_info, pdf_text

pytestmark = pytest.mark.browser

STATION = StationKey(b"qingshan-township")


def signed_receipt():
    fields = {
        "case_id": str(uuid.UUID(int=42)),
        "case_number": CASE,
        "item_code": "990101101000-GF00201000",
        "station_id": "990101101000",
        "issued_on": "2026-11-25",
        "doc_type": "an",
    }
    payload = sign_qr_payload("r", fields, STATION.private_raw, STATION.key_id)
    return payload, dataclasses.replace(sample_documents()["acceptance_notice"], qr_payload=payload)


def test_print_view_prints_as_a4_with_text_and_a_scannable_qr(tmp_path: Path):
    payload, document = signed_receipt()
    view = tmp_path / "view.html"
    view.write_text(render_html(document), encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "html_acceptance_notice.png"
    with chromium_page(viewport=(900, 1300)) as page:
        page.goto(view.as_uri())
        page.screenshot(path=str(shot), full_page=True)
        page.emulate_media(media="print")
        printed = page.pdf(prefer_css_page_size=True)
    with Image.open(shot) as image:
        scanned = [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]
    assert scanned == [payload, payload]  # 申请人联 and 存档联
    assert verify_qr_payload(scanned[0], STATION.lookup)["case_number"] == CASE
    text = "".join(pdf_text(printed, tmp_path).split())
    assert "受理通知书" in text and "3301**********1236" in text
    assert "（申请人联）" in text and "（存档联）" in text
    assert pdf_info(printed, tmp_path)["Page size"].endswith("(A4)")
