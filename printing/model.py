"""The parts every printed document shares (DOMAIN.md §5): who issues it, who applies, which item and case.

ID numbers and mobile numbers may be given raw or already masked: the layouts always mask them (see
:mod:`printing.masking`), so nothing here is printed unmasked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

StationLevel = Literal["village", "township", "county"]

SUPERVISION_HOTLINE = "12345"

LICENSING_CORRECTION_BASIS = "《中华人民共和国行政许可法》第三十二条第一款第（四）项"
LICENSING_REJECTION_BASIS = "《中华人民共和国行政许可法》第三十二条"
LICENSING_EXTENSION_BASIS = "《中华人民共和国行政许可法》第四十二条"
LICENSING_SPECIAL_PROCEDURE_BASIS = "《中华人民共和国行政许可法》第四十五条"


@dataclass(frozen=True)
class Person:
    """申请人 / 代理人 / 委托人: a natural person (or a legal person with its 统一社会信用代码 as ``id_number``)."""

    name: str
    id_number: str = ""
    """Raw or masked; always printed masked (first 4 / last 4)."""
    phone: str = ""
    """Raw or masked; mobile numbers are printed with the middle four digits masked."""
    address: str = ""
    id_type: str = "居民身份证"


@dataclass(frozen=True)
class Issuer:
    """The station that prints the document and the organ in whose name it speaks (出具机关)."""

    organ: str
    """Issuing organ, e.g. 青山镇人民政府; for a village, the village committee."""
    station: str
    """The hall or room, e.g. 青山镇便民服务中心 / 青山镇石桥村便民服务站."""
    level: StationLevel
    consult_phone: str
    """咨询电话 of the station."""
    seal_name: str = "专用章"
    """Name of the seal whose area is printed, e.g. 行政审批专用章; villages have none for 受理."""
    supervise_phone: str = SUPERVISION_HOTLINE
    address: str = ""
    short_code: str = ""
    """Station short code used in 文书编号, e.g. 青山便民."""

    @property
    def is_village(self) -> bool:
        return self.level == "village"


@dataclass(frozen=True)
class ItemRef:
    """The service item (政务服务事项) a case was opened against."""

    name: str
    code: str
    """实施编码 (or 基本编码 where no 实施编码 exists)."""
    version: int | None = None


@dataclass(frozen=True)
class MaterialLine:
    """One material as received or required (申请材料)."""

    name: str
    form: str = "原件"
    """原件 / 复印件 / 原件和复印件 / 电子."""
    copies: int = 1
    pages: int | None = None
    original_returned: bool = False
    """核验原件后退回: the original was checked and handed back."""
    deferred: bool = False
    """容缺: accepted without it, to be supplied later."""
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseDocument:
    """Common fields of every document about one case (办件)."""

    doc_number: str
    """文书编号, e.g. 青山便民收〔2026〕0007号."""
    case_number: str
    """办件编号."""
    item: ItemRef
    applicant: Person
    issuer: Issuer
    issued_on: date
    handler: str
    """经办人."""
    agent: Person | None = None
    """委托代理人 / 代办员 acting for the applicant, if any."""
    qr_payload: str = ""
    """Content of the document's QR code, normally a signed payload (sync_protocol.receipts); the case
    number is encoded when empty."""


def format_date(value: date) -> str:
    """2026年11月23日 — the form official Chinese documents use (GB/T 9704: Arabic numerals)."""
    return f"{value.year}年{value.month}月{value.day}日"


@dataclass(frozen=True)
class DateToBeConfirmed:
    """A date the station cannot compute yet (待定), printed with its reason instead of a guess — e.g. a deadline in
    a year whose working-day calendar is not published: 待定：2027 年工作日历未发布."""

    reason: str


def format_deadline(value: date | DateToBeConfirmed) -> str:
    """:func:`format_date`, or 待定：<reason> for a date that cannot be computed yet."""
    if isinstance(value, DateToBeConfirmed):
        return f"待定：{value.reason}" if value.reason else "待定"
    return format_date(value)


def format_datetime(value: datetime) -> str:
    """2026年11月23日 09:05 — to the minute, as 收件时间 must be."""
    return f"{format_date(value.date())} {value.hour:02d}:{value.minute:02d}"


def according_to(legal_basis: str) -> str:
    """根据《…》的规定， — or nothing when no basis is given (never cite a law that does not apply)."""
    return f"根据{legal_basis}的规定，" if legal_basis else ""


def yes_no(flag: bool) -> str:
    return "是" if flag else "否"
