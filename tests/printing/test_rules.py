"""What the paper may and may not say: village receipts are not acceptances, no blanket powers, no raw IDs."""

from __future__ import annotations

import dataclasses

import pytest

from printing import (
    DOCUMENT_KINDS,
    DocumentError,
    UnknownDocumentKindError,
    compose,
    format_doc_number,
    kind_of,
    render,
)
from printing.documents import Correction
from printing.layout import Fields, Paragraph, Seal
from printing.model import LICENSING_CORRECTION_BASIS
from printing.samples import TOWNSHIP, VILLAGE, sample_documents

SAMPLES = sample_documents()
ISSUE_8_TITLES = {
    "材料接收凭证",
    "受理通知书",
    "一次性告知书",
    "不予受理通知书",
    "容缺受理通知书",
    "容缺受理承诺书",
    "证明事项告知承诺书",
    "特别程序告知书",
    "延期办理告知书",
    "办结（领取）通知书",
    "不予许可决定书",
    "送达回证",
    "代办委托书",
    "代办交接单",
    "办事指南",
    "政务服务“好差评”评价卡",
    "便民服务站点工作日报表",
}


def test_registry_covers_every_document_of_issue_8_with_titles():
    assert {kind.title_zh for kind in DOCUMENT_KINDS.values()} == ISSUE_8_TITLES
    for key, kind in DOCUMENT_KINDS.items():
        assert kind.key == key and kind.title_en
        assert kind_of(SAMPLES[key]) is kind


@pytest.mark.parametrize(
    "kind",
    [
        "acceptance_notice",
        "rejection_notice",
        "gap_acceptance_notice",
        "special_procedure_notice",
        "extension_notice",
        "refusal_decision",
    ],
)
def test_a_village_station_cannot_issue_a_legal_act(kind: str):
    document = dataclasses.replace(SAMPLES[kind], issuer=VILLAGE)
    with pytest.raises(DocumentError, match="village"):
        render(document)


def test_village_receipt_says_it_is_not_an_acceptance_and_has_no_legal_seal():
    layout = compose(SAMPLES["materials_receipt"])
    notices = [b.text for b in layout.blocks if isinstance(b, Paragraph) and b.style == "notice"]
    assert any(text.startswith("本凭证不作为受理依据") for text in notices)
    (seal,) = [b for b in layout.blocks if isinstance(b, Seal)]
    assert seal.seal_label == "（收件凭证）"
    assert "专用章" not in seal.seal_label


def test_township_receipt_carries_the_seal_area_and_no_village_disclaimer():
    layout = compose(dataclasses.replace(SAMPLES["materials_receipt"], issuer=TOWNSHIP))
    (seal,) = [b for b in layout.blocks if isinstance(b, Seal)]
    assert seal.seal_label == "（行政审批专用章）"
    assert all("不作为受理依据" not in getattr(b, "text", "") for b in layout.blocks)


@pytest.mark.parametrize("power", ["全权代理本人办理", "代为办理一切事项"])
def test_blanket_powers_are_refused_on_an_authorization(power: str):
    document = SAMPLES["proxy_authorization"]
    with pytest.raises(DocumentError, match="blanket"):
        render(dataclasses.replace(document, powers=(*document.powers, power)))


def test_authorization_lists_powers_one_by_one_and_ends_with_the_matter():
    layout = compose(SAMPLES["proxy_authorization"])
    texts = [b.text for b in layout.blocks if isinstance(b, Paragraph)]
    assert "1. 代为向青山镇便民服务中心提交申请材料" in texts
    assert "4. 代为签收办理结果并转交委托人" in texts
    assert any("办结之日自动失效" in t for t in texts)
    assert any("代办服务免费" in t for t in texts)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("correction_notice", {"corrections": ()}),
        ("materials_receipt", {"materials": ()}),
        ("refusal_decision", {"reasons": ()}),
        ("gap_commitment", {"deferred": ()}),
        ("extension_notice", {"extension_days": 0}),
        ("proxy_authorization", {"powers": ()}),
        ("handover_manifest", {"folders": ()}),
    ],
)
def test_documents_that_would_say_nothing_are_refused(kind: str, change: dict):
    with pytest.raises(DocumentError):
        render(dataclasses.replace(SAMPLES[kind], **change))


def test_correction_notice_lists_every_correction():
    document = dataclasses.replace(
        SAMPLES["correction_notice"],
        corrections=tuple(Correction(f"材料{n}", "缺页", "补齐") for n in range(1, 9)),
    )
    layout = compose(document)
    (table,) = [b for b in layout.blocks if hasattr(b, "rows") and hasattr(b, "headers")]
    assert [row[1] for row in table.rows] == [f"材料{n}" for n in range(1, 9)]


@pytest.mark.parametrize("kind", ["rejection_notice", "refusal_decision"])
def test_refusals_print_both_remedies(kind: str):
    texts = " ".join(getattr(b, "text", "") for b in compose(SAMPLES[kind]).blocks)
    assert "六十日内" in texts and "行政复议" in texts
    assert "六个月内" in texts and "行政诉讼" in texts


def test_raw_id_numbers_are_masked_in_every_layout():
    for kind, document in SAMPLES.items():
        layout = compose(document)
        for block in layout.blocks:
            values = (
                [v for _label, v in block.pairs]
                if isinstance(block, Fields)
                else [getattr(block, "text", "")]
            )
            for value in values:
                assert "330110198503121236" not in value, kind


def test_unknown_objects_are_not_printable():
    with pytest.raises(UnknownDocumentKindError):
        render(object())


def test_document_numbers_follow_the_station_code_type_year_sequence_form():
    assert format_doc_number("青山便民", "acceptance_notice", 2026, 112) == "青山便民受〔2026〕0112号"
    assert format_doc_number("石桥", "materials_receipt", 2026, 7) == SAMPLES["materials_receipt"].doc_number
    codes = [kind.number_code for kind in DOCUMENT_KINDS.values() if kind.number_code]
    assert len(codes) == len(set(codes))
    with pytest.raises(UnknownDocumentKindError):
        format_doc_number("青山便民", "daily_sheet", 2026, 1)


def test_header_qr_says_verify_only_for_a_signed_payload():
    plain = compose(SAMPLES["materials_receipt"]).header_qr
    assert plain is not None and (plain.payload, plain.caption) == (
        SAMPLES["materials_receipt"].case_number,
        "办件编号",
    )
    signed = compose(dataclasses.replace(SAMPLES["materials_receipt"], qr_payload="YCB1.r.x.y")).header_qr
    assert signed is not None and (signed.payload, signed.caption) == ("YCB1.r.x.y", "扫码核验")


def test_no_law_is_cited_unless_the_caller_gives_one():
    """行政许可法 governs licensing items only: a 低保 notice must not cite it by default."""
    plain = " ".join(getattr(b, "text", "") for b in compose(SAMPLES["correction_notice"]).blocks)
    assert "行政许可法" not in plain and "现一次性告知如下" in plain
    cited = dataclasses.replace(SAMPLES["correction_notice"], legal_basis=LICENSING_CORRECTION_BASIS)
    text = " ".join(getattr(b, "text", "") for b in compose(cited).blocks)
    assert "根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，现一次性告知如下" in text


def test_public_surface_is_what_was_meant():
    import printing

    assert {"render", "render_html", "compose", "DOCUMENT_KINDS", "FontConfig", "FontMissingError"} <= set(
        printing.__all__
    )
    assert all(hasattr(printing, name) for name in printing.__all__)


def test_return_leg_manifest_lists_result_documents_instead_of_gaps():
    manifest = SAMPLES["handover_manifest"]
    folders = tuple(
        dataclasses.replace(folder, gaps=(), result_documents=("最低生活保障证",))
        for folder in manifest.folders
    )
    layout = compose(dataclasses.replace(manifest, direction="return", folders=folders))
    (table,) = [b for b in layout.blocks if hasattr(b, "headers")]
    assert "结果文书" in table.headers and "容缺未补" not in table.headers
    assert all(row[6] == "最低生活保障证" for row in table.rows)
    fields = [b for b in layout.blocks if isinstance(b, Fields)][0]
    assert ("交接方向", "回流（结果送回）") in fields.pairs
