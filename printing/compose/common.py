"""Wording and blocks shared by many documents: case fields, material tables, seals, remedies, contacts."""

from __future__ import annotations

from datetime import date

from ..errors import DocumentError
from ..layout import Block, Fields, Paragraph, Qr, Seal, Table
from ..masking import mask_id_number, mask_phone
from ..model import CaseDocument, Issuer, MaterialLine, Person, format_date, yes_no

VERIFY_CAPTION = "扫码核验"
WIDE_LABELS = ("办件编号", "事项名称", "代理人", "承诺办结日期", "结果文书")


def person_text(person: Person) -> str:
    """张晓明（居民身份证 3301**********1236）."""
    masked = mask_id_number(person.id_number)
    return f"{person.name}（{person.id_type} {masked}）" if masked else person.name


def case_fields(doc: CaseDocument, *extra: tuple[str, str]) -> Fields:
    """The common header grid: case number, item, applicant (masked), agent, then document-specific pairs."""
    pairs: list[tuple[str, str]] = [
        ("办件编号", doc.case_number),
        ("事项名称", doc.item.name),
        ("事项编码", doc.item.code),
        ("申请人", doc.applicant.name),
        ("证件号码", mask_id_number(doc.applicant.id_number)),
        ("联系电话", mask_phone(doc.applicant.phone)),
    ]
    if doc.agent is not None:
        pairs.append(("代理人", person_text(doc.agent)))
        pairs.append(("代理人电话", mask_phone(doc.agent.phone)))
    pairs.extend(extra)
    return Fields(tuple(pairs), wide=WIDE_LABELS)


def header_qr(doc: CaseDocument) -> Qr:
    """The signed payload when the station supplied one ("扫码核验"), else just the case number."""
    if doc.qr_payload:
        return Qr(doc.qr_payload, VERIFY_CAPTION)
    return Qr(doc.case_number, "办件编号")


def salutation(doc: CaseDocument) -> Paragraph:
    return Paragraph(f"{doc.applicant.name}：")


def seal(issuer: Issuer, on: date) -> Seal:
    """Sign-off with the seal area; a village station prints that it is a receipt, not a legal seal."""
    if issuer.is_village:
        return Seal(issuer.station, "（收件凭证）", format_date(on))
    return Seal(issuer.organ, f"（{issuer.seal_name}）", format_date(on))


def footer(doc: CaseDocument) -> str:
    return contacts_line(doc.issuer) + f"　办件编号：{doc.case_number}"


def contacts_line(issuer: Issuer) -> str:
    return f"{issuer.station}　咨询电话：{issuer.consult_phone}　监督电话：{issuer.supervise_phone}"


def copies_note(holders: str = "申请人、出具机关") -> Paragraph:
    """一式两份: one copy to the applicant, one to the file."""
    return Paragraph(f"本文书一式两份，{holders}各执一份。", "small")


def remedies(review_organ: str, court: str, document: str = "本决定") -> Paragraph:
    """The two remedies every refusal must print: 行政复议 within 60 days, 行政诉讼 within 6 months."""
    return Paragraph(
        f"如对{document}不服，可以自收到本文书之日起六十日内向{review_organ}申请行政复议，"
        f"或者自收到本文书之日起六个月内向{court}提起行政诉讼。",
        "indent",
    )


def materials_table(materials: tuple[MaterialLine, ...], *, with_flags: bool = True) -> Table:
    """序号 | 材料名称 | 原件/复印件 | 份数 | 页数 | 核验原件后退回 | 容缺 — rows repeat their header across pages."""
    if not materials:
        raise DocumentError("the materials list is empty")
    headers: tuple[str, ...] = ("序号", "材料名称", "原件/复印件", "份数", "页数")
    widths: tuple[float, ...] = (0.9, 5.0, 1.7, 0.9, 0.9)
    if with_flags:
        headers += ("原件退回", "容缺")
        widths += (1.3, 0.9)
    rows = []
    for number, line in enumerate(materials, start=1):
        name = f"{line.name}（{line.note}）" if line.note else line.name
        row: tuple[str, ...] = (
            str(number),
            name,
            line.form,
            str(line.copies),
            "" if line.pages is None else str(line.pages),
        )
        if with_flags:
            row += (yes_no(line.original_returned), "容缺" if line.deferred else "")
        rows.append(row)
    return Table(headers, tuple(rows), widths)


def limit_text(days: int | None) -> str:
    if days is None:
        return "无法定时限"
    if days == 0:
        return "即办"
    return f"{days}个工作日"


def require_legal_organ(doc: CaseDocument, what: str) -> None:
    """A village station has no legal seal: it may receive, never accept or decide (DOMAIN.md §2.2)."""
    if doc.issuer.is_village:
        raise DocumentError(f"a village station cannot issue a {what}: only the accepting organ can")


def closing(doc: CaseDocument, *body: Block) -> tuple[Block, ...]:
    return (*body, seal(doc.issuer, doc.issued_on))
