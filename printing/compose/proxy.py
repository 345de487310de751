"""Wording of the 代办委托书 and the handover manifest (交接单)."""

from __future__ import annotations

from ..documents.proxy import HandoverManifest, ProxyAuthorization
from ..errors import DocumentError
from ..layout import Block, Cell, Fields, Heading, Layout, Paragraph, Qr, Signatures, Table
from ..masking import mask_id_number, mask_name, mask_phone
from ..model import format_date, format_datetime
from .common import contacts_line, copies_note, footer, header_qr

FORBIDDEN_POWERS = ("全权", "一切事项", "所有事项")


def compose_proxy_authorization(doc: ProxyAuthorization) -> Layout:
    if not doc.powers:
        raise DocumentError("a 代办委托书 must list its powers one by one")
    for power in doc.powers:
        if any(word in power for word in FORBIDDEN_POWERS):
            raise DocumentError(f"a blanket power is not allowed in a 代办委托书: {power!r}")
    items = doc.items or (doc.item.name,)
    until = (
        f"自签署之日起至{format_date(doc.valid_until)}止"
        if doc.valid_until
        else "自签署之日起至委托事项办结之日自动失效"
    )
    principal = doc.applicant
    blocks: list[Block] = [
        Heading("委托人"),
        Fields(
            (
                ("姓名", principal.name),
                ("证件号码", mask_id_number(principal.id_number)),
                ("联系电话", mask_phone(principal.phone)),
                ("住址", principal.address),
            )
        ),
        Heading("受托人（代办员）"),
        Fields(
            (
                ("姓名", doc.proxy.name),
                ("工号", doc.proxy.staff_number),
                ("所在站点", doc.proxy.station),
                ("联系电话", doc.proxy.phone),
            )
        ),
        Heading("委托事项"),
        *(Paragraph(f"{n}. {item}", "indent") for n, item in enumerate(items, start=1)),
        Fields((("办件编号", doc.case_number), ("事项编码", doc.item.code)), wide=("办件编号",)),
        Heading("委托权限（仅限下列各项）"),
        *(Paragraph(f"{n}. {power}", "indent") for n, power in enumerate(doc.powers, start=1)),
        Heading("委托期限"),
        Paragraph(until + "。", "indent"),
        Paragraph(
            "受托人不得转委托；本委托书不包含上述权限以外的任何权限。代办服务免费，受托人不得收取任何费用，"
            "依法应当缴纳的费用由委托人承担。",
            "notice",
        ),
        Paragraph("附件：" + "；".join(doc.attachments), "small"),
        Signatures((("委托人（签字并按指印）", ""), ("受托人（签字）", ""))),
        copies_note("委托人、代办站点"),
    ]
    return Layout(
        "proxy_authorization",
        "代办委托书",
        doc.doc_number,
        tuple(blocks),
        header_qr(doc),
        footer=footer(doc),
    )


def compose_handover_manifest(doc: HandoverManifest) -> Layout:
    if not doc.folders:
        raise DocumentError("a manifest must carry at least one folder")
    outbound = doc.direction == "outbound"
    last_header = "容缺未补" if outbound else "结果文书"
    rows: list[tuple[Cell, ...]] = []
    for n, folder in enumerate(doc.folders, start=1):
        last = "、".join(folder.gaps if outbound else folder.result_documents) or "无"
        rows.append(
            (
                str(n),
                folder.case_number,
                mask_name(folder.applicant_name),
                folder.item_name,
                f"{folder.material_count}件/{folder.pages}页",
                "有" if folder.has_originals else "无",
                last,
                Qr(folder.qr_payload),
            )
        )
    carrier = doc.carrier
    carrier_id = mask_id_number(carrier.id_number)
    blocks: list[Block] = [
        Fields(
            (
                ("交接方向", "送出（村→镇/县）" if outbound else "回流（结果送回）"),
                ("交接单号", doc.manifest_number),
                ("送出单位", doc.from_station),
                ("接收单位", doc.to_organ),
                ("代办员", f"{carrier.name}（工号 {carrier.staff_number}）"),
                ("代办员电话", carrier.phone),
                ("代办员证件", carrier_id),
                ("送出时间", format_datetime(doc.dispatched_at)),
                ("件数", f"{len(doc.folders)}件（材料共{sum(f.material_count for f in doc.folders)}件）"),
            )
        ),
        Table(
            ("序号", "办件编号", "申请人", "事项", "材料", "原件", last_header, "卷宗标签"),
            tuple(rows),
            (0.9, 3.6, 1.1, 2.4, 1.3, 0.8, 1.5, 2.3),
        ),
        Paragraph(
            "接收时请逐件扫描卷宗标签二维码核对；件数、材料不符的，应在备注栏注明并双方签字。",
            "small",
        ),
        Paragraph("备注：", "body"),
        Signatures(
            (
                ("送出人（签字）", doc.handler),
                ("代办员（签字）", carrier.name),
                ("接收人（签字）", ""),
            )
        ),
        Paragraph("接收时间：　　　　年　　月　　日　　时　　分", "body"),
    ]
    return Layout(
        "handover_manifest",
        "代办交接单",
        doc.manifest_number,
        tuple(blocks),
        Qr(doc.qr_payload or doc.manifest_number, "交接单"),
        number_label="交接单号",
        footer=contacts_line(doc.issuer) + f"　交接单号：{doc.manifest_number}",
    )
