"""Wording of the intake documents: receipt, acceptance, one-time correction notice, refusal, 容缺, 告知承诺."""

from __future__ import annotations

from ..documents.intake import (
    AcceptanceNotice,
    CorrectionNotice,
    GapAcceptanceNotice,
    GapCommitment,
    MaterialsReceipt,
    ProofCommitment,
    RejectionNotice,
)
from ..errors import DocumentError
from ..layout import Block, Fields, Heading, Layout, Paragraph, Signatures, Table
from ..model import according_to, format_date, format_datetime, format_deadline
from .common import (
    case_fields,
    closing,
    copies_note,
    footer,
    header_qr,
    limit_text,
    materials_table,
    remedies,
    require_legal_organ,
    salutation,
)

NOT_ACCEPTANCE = "本凭证不作为受理依据"


def compose_materials_receipt(doc: MaterialsReceipt) -> Layout:
    blocks: list[Block] = [
        case_fields(doc, ("收件时间", format_datetime(doc.received_at)), ("接收人", doc.handler)),
        Paragraph(
            f"{doc.applicant.name}：您于{format_datetime(doc.received_at)}提交的“{doc.item.name}”申请材料"
            f"共{len(doc.materials)}项已收到，清单如下："
        ),
        materials_table(doc.materials),
    ]
    if doc.issuer.is_village:
        destination = doc.forward_to or "乡镇（街道）便民服务中心"
        blocks.append(
            Paragraph(
                f"{NOT_ACCEPTANCE}。本站仅证明已收到上述材料，将于{doc.forward_within_days}个工作日内"
                f"报送{destination}；是否受理以{destination}出具的受理文书为准。",
                "notice",
            )
        )
    else:
        blocks.append(
            Paragraph(
                "本凭证证明已收到上述材料。本机关将当场或者在五个工作日内告知是否受理或需要补正的全部内容。",
                "notice",
            )
        )
    blocks.append(Signatures((("递交人（签字）", ""), ("接收人（签字）", doc.handler))))
    blocks.append(copies_note("递交人、接收站点"))
    return Layout(
        "materials_receipt",
        "材料接收凭证",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_acceptance_notice(doc: AcceptanceNotice) -> Layout:
    require_legal_organ(doc, "受理通知书")
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）于{format_date(doc.accepted_on)}提出的“{doc.item.name}”申请，经审查，申请材料齐全、"
            "符合法定形式，本机关决定予以受理。",
            "indent",
        ),
        case_fields(
            doc,
            ("受理日期", format_date(doc.accepted_on)),
            ("法定办结时限", limit_text(doc.legal_limit_days)),
            ("承诺办结时限", limit_text(doc.promised_limit_days)),
            ("承诺办结日期", format_deadline(doc.promised_deadline)),
            ("出件方式", doc.delivery_method),
            ("受理人", doc.handler),
            ("受理人电话", doc.acceptor_phone or doc.issuer.consult_phone),
        ),
        Heading("已收取的申请材料"),
        materials_table(doc.materials),
        Paragraph(
            "办理时限以工作日计算，不含法定节假日。依法需要听证、检验、检测、鉴定、专家评审、公示等程序的，"
            "所需时间不计算在办理时限内，本机关将另行书面告知。",
            "small",
        ),
        copies_note("申请人、受理机关"),
    ]
    return Layout(
        "acceptance_notice",
        "受理通知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_correction_notice(doc: CorrectionNotice) -> Layout:
    if not doc.corrections:
        raise DocumentError("a one-time correction notice must list at least one correction")
    rows = tuple((str(n), c.material, c.problem, c.remedy) for n, c in enumerate(doc.corrections, start=1))
    deadline = (
        f"请于{format_date(doc.supply_deadline)}前一次性补正上述全部材料。"
        if doc.supply_deadline
        else "请补正上述全部材料后重新提交。"
    )
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）于{format_date(doc.received_on)}提交的“{doc.item.name}”申请材料，经审查，"
            f"存在下列{len(rows)}项问题需要补正。{according_to(doc.legal_basis)}现一次性告知如下：",
            "indent",
        ),
        case_fields(doc, ("收件日期", format_date(doc.received_on))),
        Table(("序号", "材料名称", "存在问题", "补正要求"), rows, (0.9, 3.0, 3.6, 3.6)),
        Paragraph(
            deadline + "本申请尚未受理，自收到全部补正材料之日起受理。补正时请携带本告知书。", "notice"
        ),
        Signatures((("申请人（代理人）签收", ""), ("经办人", doc.handler))),
        Paragraph("送达时间：　　　　年　　月　　日　　时　　分", "body"),
        copies_note("申请人、出具机关"),
    ]
    return Layout(
        "correction_notice",
        "一次性告知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_rejection_notice(doc: RejectionNotice) -> Layout:
    require_legal_organ(doc, "不予受理通知书")
    text = (
        f"你（单位）于{format_date(doc.received_on)}提出的“{doc.item.name}”申请，经审查，{doc.reason}。"
        f"{according_to(doc.legal_basis)}本机关决定不予受理。"
    )
    if doc.competent_organ:
        text += f"请向{doc.competent_organ}提出申请。"
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(text, "indent"),
        case_fields(doc, ("收件日期", format_date(doc.received_on)), ("经办人", doc.handler)),
        remedies(doc.review_organ, doc.court, "本不予受理决定"),
        copies_note("申请人、出具机关"),
    ]
    return Layout(
        "rejection_notice",
        "不予受理通知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def _deferred_table(doc: GapAcceptanceNotice | GapCommitment) -> Table:
    if not doc.deferred:
        raise DocumentError("容缺 documents must list at least one deferred material")
    rows = tuple(
        (str(n), d.name, d.supply_method, format_date(d.supply_deadline))
        for n, d in enumerate(doc.deferred, start=1)
    )
    return Table(("序号", "容缺材料", "补齐方式", "补齐期限"), rows, (0.9, 5.0, 2.2, 2.4))


def compose_gap_acceptance_notice(doc: GapAcceptanceNotice) -> Layout:
    require_legal_organ(doc, "容缺受理通知书")
    blocks: list[Block] = [
        salutation(doc),
        Paragraph(
            f"你（单位）于{format_date(doc.accepted_on)}提出的“{doc.item.name}”申请，经审查，主要申请材料齐全、"
            "符合法定形式，次要材料尚有欠缺。根据容缺受理有关规定及你（单位）签署的《容缺受理承诺书》，"
            "本机关决定予以容缺受理。",
            "indent",
        ),
        case_fields(
            doc,
            ("受理日期", format_date(doc.accepted_on)),
            ("承诺办结日期", format_deadline(doc.promised_deadline)),
            ("经办人", doc.handler),
        ),
        Heading("需补齐的容缺材料"),
        _deferred_table(doc),
        Paragraph("容缺材料全部补齐前，本机关不出具办理结果。" + doc.overdue_handling, "notice"),
        copies_note("申请人、受理机关"),
    ]
    return Layout(
        "gap_acceptance_notice",
        "容缺受理通知书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_gap_commitment(doc: GapCommitment) -> Layout:
    blocks: list[Block] = [
        Paragraph(f"{doc.issuer.organ}："),
        Paragraph(
            f"本人（单位）申请办理“{doc.item.name}”，因下列材料暂时不能提供，自愿申请容缺受理，并郑重承诺如下：",
            "indent",
        ),
        case_fields(doc),
        _deferred_table(doc),
        Paragraph("一、在上述期限内按要求补齐全部容缺材料，并对所提交材料的真实性、合法性负责。", "indent"),
        Paragraph("二、" + doc.consequences, "indent"),
        Paragraph("三、本承诺书自签署之日起生效。", "indent"),
        Signatures((("承诺人（签字并按指印）", ""), ("经办人", doc.handler))),
        copies_note("承诺人、受理机关"),
    ]
    return Layout(
        "gap_commitment",
        "容缺受理承诺书",
        doc.doc_number,
        tuple(blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_proof_commitment(doc: ProofCommitment) -> Layout:
    blocks: list[Block] = [
        case_fields(doc),
        Heading("一、行政机关告知"),
        Fields(
            (
                ("证明名称", doc.proof_name),
                ("证明内容", doc.proof_content),
                ("设定依据", doc.legal_basis),
                ("承诺方式", doc.commitment_mode),
                ("核查方式", doc.verification),
            ),
            columns=1,
        ),
        Paragraph(
            "申请人作出不实承诺的，行政机关将依法终止办理、撤销已作出的决定，并将不实承诺记入信用记录；"
            "涉嫌违法犯罪的，依法追究法律责任。申请人也可以不选择告知承诺，按规定提交上述证明材料。",
            "notice",
        ),
        Heading("二、申请人承诺"),
        Paragraph(
            f"本人已知晓行政机关告知的全部内容，承诺符合“{doc.proof_content}”的要求，所提供的信息真实、准确、"
            "完整，愿意承担不实承诺的法律责任，并同意行政机关对承诺内容进行核查。",
            "indent",
        ),
        Signatures((("承诺人（签字并按指印）", ""), ("经办人", doc.handler))),
        copies_note("承诺人、行政机关"),
    ]
    return Layout(
        "proof_commitment",
        "证明事项告知承诺书",
        doc.doc_number,
        closing(doc, *blocks),
        header_qr(doc),
        footer=footer(doc),
    )
