"""Wording of the documents issued while a case runs and when it ends."""

from __future__ import annotations

from ..documents.decisions import (
    DeliveryReceipt,
    ExtensionNotice,
    RefusalDecision,
    ResultReadyNotice,
    SpecialProcedureNotice,
)
from ..errors import DocumentError
from ..layout import Block, Fields, Heading, Layout, Paragraph, Qr, QrRow, Signatures, Table
from ..masking import mask_id_number
from ..model import DateToBeConfirmed, according_to, format_date, format_datetime, format_deadline, yes_no
from .common import (
    case_fields,
    closing,
    copies_note,
    footer,
    header_qr,
    remedies,
    require_legal_organ,
    salutation,
)


def compose_special_procedure_notice(doc: SpecialProcedureNotice) -> Layout:
    require_legal_organ(doc, "特别程序告知书")
    counted = "计入" if doc.counts_toward_limit else "不计入"
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）申请的“{doc.item.name}”，因{doc.reason}，需要进行{doc.procedure}。"
            f"{according_to(doc.legal_basis)}{doc.procedure}所需时间{counted}办理时限，"
            "现将有关情况告知如下：",
            "indent",
        ),
        case_fields(
            doc,
            ("特别程序", doc.procedure),
            ("开始日期", format_date(doc.starts_on)),
            ("预计所需时间", f"{doc.expected_days}个{doc.day_unit}"),
            ("预计结束日期", format_date(doc.expected_end)),
            ("计入办理时限", counted),
            ("经办人", doc.handler),
        ),
        Paragraph("特别程序结束后，本机关将继续办理并按时告知结果。", "indent"),
        copies_note(),
    ]
    return Layout(
        "special_procedure_notice",
        "特别程序告知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_extension_notice(doc: ExtensionNotice) -> Layout:
    require_legal_organ(doc, "延期办理告知书")
    if doc.extension_days <= 0:
        raise DocumentError("an extension must add at least one day")
    original, new = doc.original_deadline, doc.new_deadline
    # A deadline that cannot be computed is said to be 待定 with its reason, never replaced by a guessed date.
    before = "在原办结期限内" if isinstance(original, DateToBeConfirmed) else f"在{format_date(original)}前"
    after = (
        f"待定（{new.reason or '暂无法计算'}）"
        if isinstance(new, DateToBeConfirmed)
        else f"为{format_date(new)}"
    )
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）申请的“{doc.item.name}”，因{doc.reason}，不能{before}"
            f"作出决定。经{doc.approver}批准，{according_to(doc.legal_basis)}办理期限延长{doc.extension_days}个工作日，"
            f"延长后的办结期限{after}。",
            "indent",
        ),
        case_fields(
            doc,
            ("原办结期限", format_deadline(original)),
            ("延长期限", f"{doc.extension_days}个工作日"),
            ("延长后办结期限", format_deadline(new)),
            ("批准人", doc.approver),
            ("经办人", doc.handler),
        ),
        Paragraph("特此告知。", "indent"),
        copies_note(),
    ]
    return Layout(
        "extension_notice",
        "延期办理告知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_result_ready_notice(doc: ResultReadyNotice) -> Layout:
    outcome = "准予" if doc.outcome == "granted" else "不予"
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）申请的“{doc.item.name}”已于{format_date(doc.completed_on)}办结，办理结果为：{outcome}"
            f"（决定文号：{doc.decision_number}）。{doc.collection}",
            "indent",
        ),
        case_fields(
            doc,
            ("办结日期", format_date(doc.completed_on)),
            ("办理结果", outcome),
            ("决定文号", doc.decision_number),
            ("结果文书", "、".join(doc.result_documents)),
            ("经办人", doc.handler),
        ),
        Heading("领取时请携带"),
        *(Paragraph(f"{n}. {thing}", "indent") for n, thing in enumerate(doc.bring, start=1)),
    ]
    if doc.rating_qr_payload:
        blocks.append(
            Paragraph("欢迎您对本次服务进行评价（好差评）：扫描下方二维码或在窗口评价器上评价。", "body")
        )
        blocks.append(QrRow((Qr(doc.rating_qr_payload, "扫码评价"),)))
    return Layout(
        "result_ready_notice",
        "办结（领取）通知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_refusal_decision(doc: RefusalDecision) -> Layout:
    require_legal_organ(doc, "不予许可决定书")
    if not doc.reasons:
        raise DocumentError("a negative decision must state its reasons")
    blocks: list[Block] = [
        case_fields(doc, ("受理日期", format_date(doc.accepted_on))),
        salutation(doc),
        Paragraph(
            f"你（单位）于{format_date(doc.accepted_on)}提出的“{doc.item.name}”申请，本机关已依法受理。"
            "经审查，存在下列情形：",
            "indent",
        ),
        *(Paragraph(f"{n}. {reason}", "indent") for n, reason in enumerate(doc.reasons, start=1)),
        Paragraph(f"{according_to(doc.legal_basis)}本机关决定{doc.decision_kind}。", "indent"),
        remedies(doc.review_organ, doc.court),
        copies_note(),
    ]
    return Layout(
        "refusal_decision",
        f"{doc.decision_kind}决定书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_delivery_receipt(doc: DeliveryReceipt) -> Layout:
    recipient = doc.applicant.name
    masked = mask_id_number(doc.applicant.id_number)
    rows: tuple[tuple[str, str], ...] = (
        ("送达文书", doc.delivered_document),
        ("文书编号", doc.delivered_doc_number),
        ("受送达人", f"{recipient}（{masked}）" if masked else recipient),
        ("送达地点", doc.place),
        ("送达方式", doc.method),
        ("送达时间", format_datetime(doc.delivered_at)),
        ("受送达人签收", doc.recipient),
        ("代收人及与受送达人关系", f"{doc.proxy_recipient} {doc.proxy_relationship}".strip()),
        ("送达人", doc.deliverer),
        ("是否本人签收", yes_no(not doc.proxy_recipient)),
        ("备注", ""),
    )
    blocks: list[Block] = [
        Fields((("办件编号", doc.case_number), ("事项名称", doc.item.name)), wide=("办件编号", "事项名称")),
        Table(("项目", "内容"), rows, (2.6, 7.4)),
        Signatures((("受送达人（代收人）签字", ""), ("送达人签字", doc.deliverer))),
        Paragraph("受送达人拒绝签收的，送达人应当注明情况并签名。", "small"),
    ]
    return Layout(
        "delivery_receipt",
        "送达回证",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )
