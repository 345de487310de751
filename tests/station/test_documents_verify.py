"""The signed QR on a printed receipt decodes (pdftoppm + zxing-cpp) to a payload the station's /verify page and
`yiciban-station verify-qr` accept offline; tampered, foreign and malformed payloads are refused in Chinese."""

from __future__ import annotations

import json
import subprocess
import tempfile
import uuid
from pathlib import Path

import zxingcpp
from click.testing import CliRunner
from PIL import Image

from station.cli import main
from sync_protocol.canonical import canonical_bytes
from sync_protocol.keys import SigningKey
from sync_protocol.receipts import b64url_decode, b64url_encode, sign_qr_payload

from .conftest import login
from .test_documents import intake, pdf_of


def qr_payloads(pdf: bytes) -> list[str]:
    """Every QR code on the first page of a PDF, as scanned from a 150-dpi rendering (in a private folder, so
    parallel test workers never read each other's pages)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(source), str(Path(folder) / "page")],
            check=True,
            timeout=120,
        )
        (first_page,) = Path(folder).glob("page-*.png")
        with Image.open(first_page) as image:
            return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def printed_receipt_payload(client, case) -> str:
    (payload,) = qr_payloads(pdf_of(client, case, "materials_receipt"))
    return payload


def with_changed_case_number(payload: str, case_number: str) -> str:
    """The same signature over different fields: what a forger who edits the printed text would produce."""
    prefix, kind, body, signature = payload.split(".")
    fields = json.loads(b64url_decode(body, "fields"))
    fields[1] = case_number
    return ".".join((prefix, kind, b64url_encode(canonical_bytes(fields)), signature))


def verify_page(client, payload: str, lang: str = ""):
    query = {"payload": payload, **({"lang": lang} if lang else {})}
    return client.get("/verify", query_string=query)


def test_printed_receipt_qr_verifies_on_the_station(client):
    login(client, "village")
    case = intake(client, "qr1")
    payload = printed_receipt_payload(client, case)
    assert payload.startswith("YCB1.r.")
    response = verify_page(client, payload)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "核验通过" in html and "990101101201" in html
    assert case.number in html and "材料接收凭证" in html and f"/cases/{case.id}" in html


def test_tampered_payload_is_refused_in_chinese_and_english(client):
    login(client, "village")
    case = intake(client, "qr2")
    forged = with_changed_case_number(printed_receipt_payload(client, case), case.number[:-1] + "9")
    response = verify_page(client, forged)
    assert response.status_code == 422
    assert "签名无效" in response.get_data(as_text=True) and "核验通过" not in response.get_data(as_text=True)
    english = verify_page(client, forged, lang="en").get_data(as_text=True)
    assert "the signature is invalid" in english


def test_unknown_key_other_station_and_garbage_are_refused(client, app):
    login(client, "village")
    case = intake(client, "qr3")
    fields = {
        "case_id": case.id, "case_number": case.number, "item_code": case.number.rsplit("-", 3)[0],
        "station_id": "990101101201", "issued_on": "2026-11-23", "doc_type": "materials_receipt",
    }  # fmt: skip
    stranger = SigningKey.generate()
    unknown = sign_qr_payload("r", fields, stranger.private_bytes(), stranger.key_id)
    assert "不在本站的站点名录" in verify_page(client, unknown).get_data(as_text=True)
    own = app.extensions["station"].keys.signing_key
    claims_other = sign_qr_payload(
        "r", {**fields, "station_id": "990101101202"}, own.private_bytes(), own.key_id
    )
    text = verify_page(client, claims_other).get_data(as_text=True)
    assert "与凭证所载站点 990101101202 不符" in text
    for garbage in ("hello", "YCB1.r.abc.def", str(uuid.uuid4())):
        response = verify_page(client, garbage)
        assert response.status_code == 422 and "不是有效的一次办二维码" in response.get_data(as_text=True)
    assert verify_page(client, "").status_code == 200  # the empty form


def test_auditor_and_agent_may_verify(client):
    login(client, "village")
    payload = printed_receipt_payload(client, intake(client, "qr4"))
    for user in ("auditor", "agent"):
        other = client.application.test_client()
        login(other, user)
        assert "核验通过" in verify_page(other, payload).get_data(as_text=True)


def test_cli_verify_qr(client, instance):
    login(client, "village")
    case = intake(client, "qr5")
    payload = printed_receipt_payload(client, case)
    runner = CliRunner()
    result = runner.invoke(main, ["verify-qr", "--instance", str(instance), payload])
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output and f"case_number: {case.number}" in result.output
    forged = with_changed_case_number(payload, case.number[:-1] + "9")
    refused = runner.invoke(main, ["verify-qr", "--instance", str(instance), forged])
    assert refused.exit_code == 2 and "签名无效" in refused.output


def test_a_folder_label_verifies_as_a_custody_label(client, app):
    login(client, "village")
    case = intake(client, "qr6")
    own = app.extensions["station"].keys.signing_key
    fields = {
        "case_id": case.id, "case_number": case.number, "item_code": case.number.rsplit("-", 3)[0],
        "sending_station": "990101101201", "masked_applicant": "张*", "material_count": 6, "manifest_id": "M-0001",
    }  # fmt: skip
    label = sign_qr_payload("c", fields, own.private_bytes(), own.key_id)
    html = verify_page(client, label).get_data(as_text=True)
    assert "核验通过" in html and "卷宗标签" in html and "M-0001" in html and "张*" in html


def test_item_page_links_the_printable_guide(client):
    login(client, "village")
    page = client.get("/items/GF00201000").get_data(as_text=True)
    assert "/items/GF00201000/guide.pdf" in page and "办事指南（打印版）" in page
