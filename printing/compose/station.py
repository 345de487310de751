"""Wording of the 办事指南, the 好差评 card and the daily station sheet."""

from __future__ import annotations

from ..documents.station import DailySheet, GuideMaterial, RatingCard, ServiceGuide
from ..errors import DocumentError
from ..layout import Block, Fields, Heading, Layout, Paragraph, Qr, QrRow, Signatures, Table
from ..masking import mask_name
from ..model import format_date
from .common import contacts_line, limit_text

RATING_LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
RATING_INDICATORS = ("服务效率", "服务水平", "服务态度")
LIGHT_TEXT = {"green": "绿灯", "yellow": "黄灯（预警）", "red": "红灯（超时）", "grey": "灰灯（暂停）"}


def _material_flags(material: GuideMaterial) -> str:
    flags = []
    if material.deferrable:
        flags.append("可容缺")
    if material.shareable:
        flags.append("可免提交")
    if material.replaceable_by_commitment:
        flags.append("可告知承诺")
    if material.note:
        flags.append(material.note)
    return "；".join(flags)


def compose_service_guide(doc: ServiceGuide) -> Layout:
    if not doc.materials:
        raise DocumentError("a 办事指南 must list the materials")
    rows = tuple(
        (
            str(n),
            m.name,
            m.form,
            str(m.copies),
            "必要" if m.required else "非必要",
            m.source,
            _material_flags(m),
        )
        for n, m in enumerate(doc.materials, start=1)
    )
    version = f"第{doc.item.version}版，" if doc.item.version is not None else ""
    blocks: list[Block] = [
        Fields(
            (
                ("事项名称", doc.item.name),
                ("事项编码", doc.item.code),
                ("事项类型", doc.item_type),
                ("实施机关", doc.implementing_organ),
                ("指南版本", version + format_date(doc.issued_on)),
                ("办件类型", doc.case_kind),
                ("法定办结时限", limit_text(doc.legal_limit_days)),
                ("承诺办结时限", limit_text(doc.promised_limit_days)),
                ("到办事现场次数", f"{doc.visits}次"),
                ("是否收费", doc.fee),
                ("办理时间", doc.hours),
                ("办理地点", doc.place),
                ("咨询电话", doc.issuer.consult_phone),
            ),
            wide=("事项名称", "事项编码", "实施机关", "指南版本", "办理地点"),
        ),
        Heading("一、设定依据"),
        *(Paragraph(f"{n}. {basis}", "indent") for n, basis in enumerate(doc.legal_basis, start=1)),
        Heading("二、受理条件"),
        *(Paragraph(f"{n}. {c}", "indent") for n, c in enumerate(doc.conditions, start=1)),
        Heading("三、申请材料"),
        Table(
            ("序号", "材料名称", "材料类型", "份数", "必要性", "来源渠道", "说明"),
            rows,
            (0.9, 4.0, 1.4, 0.7, 1.0, 1.6, 2.2),
        ),
        Paragraph(
            "“可容缺”：可先受理、限期补齐；“可免提交”：可通过数据共享或电子证照获取；"
            "“可告知承诺”：可签署告知承诺书代替证明。",
            "small",
        ),
        Heading("四、办理流程"),
        *(Paragraph(f"{n}. {step}", "indent") for n, step in enumerate(doc.flow, start=1)),
    ]
    if doc.special_procedures:
        blocks.append(Heading("五、特别程序"))
        blocks.extend(Paragraph(f"{n}. {p}", "indent") for n, p in enumerate(doc.special_procedures, start=1))
    blocks.append(Paragraph(f"监督投诉电话：{doc.issuer.supervise_phone}", "body"))
    return Layout(
        "service_guide",
        f"{doc.item.name}办事指南",
        doc.item.code,
        tuple(blocks),
        Qr(doc.item.code, "事项编码"),
        number_label="事项编码",
        footer=contacts_line(doc.issuer),
    )


def compose_rating_card(doc: RatingCard) -> Layout:
    box = "□"
    pairs: list[tuple[str, str]] = [
        ("服务站点", doc.issuer.station),
        ("评价环节", doc.stage),
        ("服务人员", f"{doc.staff_name}（工号 {doc.staff_number}）"),
        ("日期", format_date(doc.issued_on)),
    ]
    if doc.case_number:
        pairs.insert(0, ("办件编号", doc.case_number))
    if doc.item is not None:
        pairs.insert(1, ("事项名称", doc.item.name))
    blocks: list[Block] = [
        Fields(tuple(pairs), wide=("办件编号",)),
        Heading("一、总体评价（请在□内打“√”）"),
        Paragraph("　".join(f"{box} {level}" for level in RATING_LEVELS), "body"),
        Heading("二、分项评价"),
        Table(
            ("评价指标", *RATING_LEVELS),
            tuple((name, *(box for _ in RATING_LEVELS)) for name in RATING_INDICATORS),
            (2.0, 1.6, 1.6, 1.6, 1.6, 1.6),
        ),
        Heading("三、意见和建议"),
        Paragraph("＿" * 38, "body"),
        Paragraph("＿" * 38, "body"),
        Paragraph("评价人（自愿填写，便于回访整改）：＿＿＿＿＿＿　联系电话：＿＿＿＿＿＿＿＿", "body"),
        Paragraph(
            "评价由办事群众本人填写，工作人员、代办员不得代为评价。"
            "“不满意”“非常不满意”为差评，将在15个工作日内回访核实、整改并反馈。",
            "notice",
        ),
    ]
    if doc.rating_qr_payload:
        blocks.append(QrRow((Qr(doc.rating_qr_payload, "扫码在线评价"),)))
    return Layout(
        "rating_card",
        "政务服务“好差评”评价卡",
        doc.case_number or format_date(doc.issued_on),
        tuple(blocks),
        None,
        number_label="办件编号" if doc.case_number else "日期",
        footer=contacts_line(doc.issuer),
    )


def compose_daily_sheet(doc: DailySheet) -> Layout:
    rows = tuple(
        (
            str(n),
            line.case_number,
            mask_name(line.applicant_name),
            line.item_name,
            line.status,
            line.deadline.isoformat() if line.deadline else "—",
            LIGHT_TEXT[line.light],
        )
        for n, line in enumerate(doc.lines, start=1)
    )
    blocks: list[Block] = [
        Fields((("站点", doc.issuer.station), ("日期", format_date(doc.day)), ("制表人", doc.prepared_by))),
        Heading("一、今日数据"),
        Fields(tuple((label, str(count)) for label, count in doc.totals), columns=4),
        Heading("二、在办件及亮灯情况"),
        Table(
            ("序号", "办件编号", "申请人", "事项", "状态", "办结期限", "亮灯"),
            rows or (("—", "今日无在办件", "", "", "", "", ""),),
            (0.9, 3.4, 1.2, 2.3, 1.4, 2.0, 2.2),
            tuple(line.light for line in doc.lines),
        ),
        Signatures((("制表人", doc.prepared_by), ("站点负责人", ""))),
    ]
    return Layout(
        "daily_sheet",
        "便民服务站点工作日报表",
        f"{doc.issuer.short_code or doc.issuer.station}-{doc.day.strftime('%Y%m%d')}",
        tuple(blocks),
        None,
        number_label="报表编号",
        footer=contacts_line(doc.issuer),
    )
