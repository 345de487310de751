"""QR codes printed on paper decode to exactly the signed payload, and a tampered payload fails verification."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import zxingcpp
from PIL import Image

from printing import qr_png, qr_svg, render
from printing.samples import CASE, sample_documents
from sync_protocol.errors import SignatureError
from sync_protocol.receipts import parse_qr_payload, sign_qr_payload, verify_qr_payload

from .support import StationKey, pdf_pages_to_png

STATION = StationKey(b"qingshan-shiqiao-village")
SAMPLES = sample_documents()


def receipt_payload(case_id: uuid.UUID, doc_type: str = "mr") -> str:
    fields = {
        "case_id": str(case_id),
        "case_number": CASE,
        "item_code": "990101101000-GF00201000",
        "station_id": "990101101201",
        "issued_on": "2026-11-23",
        "doc_type": doc_type,
    }
    return sign_qr_payload("r", fields, STATION.private_raw, STATION.key_id)


def custody_payload(case_number: str, count: int) -> str:
    fields = {
        "case_id": str(uuid.uuid5(uuid.NAMESPACE_URL, case_number)),
        "case_number": case_number,
        "item_code": case_number.rsplit("-", 3)[0],
        "sending_station": "990101101201",
        "masked_applicant": "张*明",
        "material_count": count,
        "manifest_id": "JJ-V01-20261123-02",
    }
    return sign_qr_payload("c", fields, STATION.private_raw, STATION.key_id)


def decoded_texts(png_path) -> list[str]:
    with Image.open(png_path) as image:
        return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def test_receipt_qr_decodes_to_the_signed_payload_and_verifies():
    payload = receipt_payload(uuid.UUID("6f1c2a7e-3b9d-4c1e-9a8b-2d4e6f8a0b1c"))
    receipt = dataclasses.replace(SAMPLES["materials_receipt"], qr_payload=payload)
    (page,) = pdf_pages_to_png(render(receipt, copies=()), "qr_receipt", dpi=200)
    assert decoded_texts(page) == [payload]
    fields = verify_qr_payload(decoded_texts(page)[0], STATION.lookup, expected_kind="r")
    assert fields["case_number"] == CASE


def test_every_folder_qr_on_a_manifest_decodes():
    manifest = SAMPLES["handover_manifest"]
    folders = tuple(
        dataclasses.replace(folder, qr_payload=custody_payload(folder.case_number, folder.material_count))
        for folder in manifest.folders
    )
    signed = dataclasses.replace(manifest, folders=folders)
    pages = pdf_pages_to_png(render(signed), "qr_manifest", dpi=200)
    found = {text for page in pages for text in decoded_texts(page)}
    expected = {folder.qr_payload for folder in folders}
    assert expected <= found
    for text in expected:
        assert verify_qr_payload(text, STATION.lookup, expected_kind="c")["material_count"] in {3, 4, 6}


def test_tampered_receipt_payload_fails_verification():
    payload = receipt_payload(uuid.UUID("6f1c2a7e-3b9d-4c1e-9a8b-2d4e6f8a0b1c"))
    _kind, fields, _key, _sig = parse_qr_payload(payload)
    forged_fields = {**fields, "case_number": CASE.replace("0007", "0008")}
    forged = sign_qr_payload("r", forged_fields, StationKey(b"attacker").private_raw, STATION.key_id)
    receipt = dataclasses.replace(SAMPLES["materials_receipt"], qr_payload=forged)
    (page,) = pdf_pages_to_png(render(receipt, copies=()), "qr_receipt_forged", dpi=200)
    (scanned,) = decoded_texts(page)
    assert scanned == forged
    with pytest.raises(SignatureError):
        verify_qr_payload(scanned, STATION.lookup)


def test_case_number_is_encoded_when_no_payload_is_given():
    pages = pdf_pages_to_png(render(SAMPLES["acceptance_notice"]), "qr_case_number", dpi=150)
    assert [decoded_texts(page) for page in pages] == [[CASE], [CASE]]


def test_png_and_svg_forms_carry_the_same_content(tmp_path):
    content = receipt_payload(uuid.UUID(int=7))
    png = tmp_path / "code.png"
    png.write_bytes(qr_png(content))
    assert decoded_texts(png) == [content]
    svg = qr_svg(content, size_mm=30)
    assert svg.startswith("<svg") and 'width="30.0mm"' in svg
    assert "href" not in svg
