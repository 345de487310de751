"""The station's own sheets: the item's 办事指南, the 好差评 card and the daily sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..model import Issuer, ItemRef


@dataclass(frozen=True)
class GuideMaterial:
    """A material as the 办事指南 lists it (DOMAIN.md §1.2)."""

    name: str
    form: str = "原件"
    copies: int = 1
    required: bool = True
    deferrable: bool = False
    """✱ 可容缺."""
    shareable: bool = False
    """◎ 可免提交 (obtained by data sharing)."""
    replaceable_by_commitment: bool = False
    """☐ 可告知承诺替代."""
    source: str = "申请人自备"
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ServiceGuide:
    """办事指南: the public guide to one item, printable offline (行政许可法 §30)."""

    item: ItemRef
    item_type: str
    """事项类型, e.g. 行政给付."""
    implementing_organ: str
    legal_basis: tuple[str, ...]
    conditions: tuple[str, ...]
    materials: tuple[GuideMaterial, ...]
    flow: tuple[str, ...]
    promised_limit_days: int
    case_kind: str
    """办件类型: 即办件 / 承诺件 / 上报件 / 联办件."""
    place: str
    hours: str
    issuer: Issuer
    issued_on: date
    """Date of this version of the guide."""
    legal_limit_days: int | None = None
    fee: str = "不收费"
    visits: int = 1
    """到办事现场次数: 0 = 全程代办/网办."""
    special_procedures: tuple[str, ...] = ()
    """e.g. 公示 7 天（不计入办理时限）."""


@dataclass(frozen=True, kw_only=True)
class RatingCard:
    """好差评 评价卡 (纸质评价卡): five levels, three indicators, free text; the applicant rates, never the 代办员."""

    issuer: Issuer
    issued_on: date
    stage: Literal["受理", "办结"]
    staff_name: str
    staff_number: str
    case_number: str = ""
    item: ItemRef | None = None
    rating_qr_payload: str = ""
    """Content of the QR code for rating online; no QR is printed when empty."""


Light = Literal["green", "yellow", "red", "grey"]


@dataclass(frozen=True)
class DailyCaseLine:
    """One case on the daily sheet."""

    case_number: str
    applicant_name: str
    item_name: str
    status: str
    """State in Chinese, e.g. 已受理 / 待补正 / 在途."""
    light: Light
    deadline: date | None = None


@dataclass(frozen=True, kw_only=True)
class DailySheet:
    """站点日报表: the day's figures and every open case with its light, for the wall and the file."""

    issuer: Issuer
    day: date
    prepared_by: str
    totals: tuple[tuple[str, int], ...]
    """(label, count) pairs, e.g. ("今日收件", 12)."""
    lines: tuple[DailyCaseLine, ...]
