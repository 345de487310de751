"""Every document renders to an A4 PDF whose Chinese text extracts exactly, with every font embedded, no raw
ID or mobile number on paper, and byte-identical output for identical input."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from printing import DOCUMENT_KINDS, compose, render
from printing.samples import sample_documents

from .support import pdf_fonts, pdf_info, pdf_pages_to_png, pdf_text

SAMPLES = sample_documents()
MASKED_ID = "3301**********1236"
RAW_NUMBERS = ("330110198503121236", "13800138000", "33011020000229004X", "13912345678", "513434196001010813")

EXPECTED: dict[str, tuple[str, ...]] = {
    "materials_receipt": (
        "本凭证不作为受理依据",
        "2026年11月23日 09:05",
        "（收件凭证）",
        "张晓明",
        MASKED_ID,
    ),
    "acceptance_notice": (
        "决定予以受理",
        "2026年12月30日",
        "（行政审批专用章）",
        "张晓明",
        MASKED_ID,
        "138****8000",
    ),
    "correction_notice": ("补正要求", "缺少配偶签字", "本申请尚未受理", "2026年12月1日", MASKED_ID),
    "rejection_notice": ("决定不予受理", "六十日", "六个月", "青山县人民法院", MASKED_ID),
    "gap_acceptance_notice": ("容缺受理", "在校证明", "2026年12月2日", MASKED_ID),
    "gap_commitment": ("承诺人（签字并按指印）", "在校证明", "青山县青山镇人民政府：", MASKED_ID),
    "proof_commitment": ("不实承诺", "在校证明", "民发〔2021〕57号", MASKED_ID),
    "special_procedure_notice": ("公示", "不计入", "2026年12月14日", MASKED_ID),
    "extension_notice": ("2026年12月21日", "陈立新", "延长后办结期限", MASKED_ID),
    "result_ready_notice": ("青民低〔2026〕第0231号", "扫码评价", "最低生活保障证", MASKED_ID),
    "refusal_decision": ("不予许可决定书", "六十日", "六个月", "决定不予许可", MASKED_ID),
    "delivery_receipt": ("代办员送达", "2026年12月29日 15:30", "张晓明（3301**********1236）"),
    "proxy_authorization": ("委托权限（仅限下列各项）", "代为补交容缺材料", "受托人不得转委托", MASKED_ID),
    "handover_manifest": (
        "张*明",
        "王*兰",
        "刘*平",
        "JJ-V01-20261123-02",
        "李秀英（工号 V01-007）",
        "5134**********0813",
    ),
    "service_guide": ("最低生活保障申请办事指南", "可容缺", "公示7天（不计入办理时限）", "承诺件"),
    "rating_card": ("非常不满意", "不得代为评价", "王建国（工号 T01-003）"),
    "daily_sheet": ("红灯（超时）", "黄灯（预警）", "张*明", "今日收件"),
}


def test_every_registered_kind_has_a_sample_and_an_expectation():
    assert set(SAMPLES) == set(DOCUMENT_KINDS) == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_document_text_extracts_exactly(kind: str, tmp_path: Path):
    document = SAMPLES[kind]
    pdf = render(document)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    layout = compose(document)
    assert layout.title in text
    assert layout.doc_number in text
    for expected in EXPECTED[kind]:
        assert expected in text, f"{expected!r} missing from {kind}"
    squeezed = "".join(text.split())
    assert "第1页/共1页" in squeezed or "第1页/共2页" in squeezed
    for raw in RAW_NUMBERS:
        assert raw not in squeezed, f"raw number {raw} printed on {kind}"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_font_is_embedded(kind: str, tmp_path: Path):
    fonts = pdf_fonts(render(SAMPLES[kind]), tmp_path)
    assert fonts, "pdffonts found no font"
    for row in fonts:
        name, emb = row[0], row[-5]
        assert emb == "yes", f"{name} is not embedded in {kind}"
        assert "Helvetica" not in name and "STSong" not in name


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_pages_render_to_png_artifacts(kind: str):
    pages = pdf_pages_to_png(render(SAMPLES[kind]), kind)
    assert pages
    for page in pages:
        header = page.read_bytes()[:24]
        assert header.startswith(b"\x89PNG")
        width = int.from_bytes(header[16:20], "big")
        height = int.from_bytes(header[20:24], "big")
        assert abs(width / height - 210 / 297) < 0.01  # A4 portrait


def test_output_is_byte_stable_within_a_process():
    document = SAMPLES["materials_receipt"]
    assert render(document) == render(document)


def test_output_is_byte_stable_across_processes():
    code = (
        "import hashlib, sys; from printing import render; from printing.samples import sample_documents; "
        "sys.stdout.write(hashlib.sha256(render(sample_documents()['handover_manifest'])).hexdigest())"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=120).stdout
        for _ in range(2)
    }
    assert len(digests) == 1
    assert digests == {hashlib.sha256(render(SAMPLES["handover_manifest"])).hexdigest().encode()}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_documents_are_a4(kind: str, tmp_path: Path):
    assert pdf_info(render(SAMPLES[kind]), tmp_path)["Page size"].endswith("(A4)")
