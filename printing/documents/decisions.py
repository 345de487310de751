"""Documents issued while a case runs and when it ends: pauses, extension, result, refusal, delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from ..model import CaseDocument, DateToBeConfirmed


@dataclass(frozen=True, kw_only=True)
class SpecialProcedureNotice(CaseDocument):
    """特别程序告知书: a §45 procedure (听证、检验、鉴定、公示…) pauses the clock; says how long and that it is not counted."""

    procedure: str
    """e.g. 公示 / 现场勘查 / 残疾评定."""
    reason: str
    starts_on: date
    expected_days: int
    expected_end: date
    day_unit: str = "工作日"
    counts_toward_limit: bool = False
    legal_basis: str = ""
    """Law and article the act rests on; printed as "根据…的规定" only when given. Licensing items (行政许可)
    cite 行政许可法 (see LICENSING_* constants); 给付/确认/公共服务 items cite their own rules."""


@dataclass(frozen=True, kw_only=True)
class ExtensionNotice(CaseDocument):
    """延期办理告知书: the one approved extension of §42, with the reason and the new deadline."""

    original_deadline: date | DateToBeConfirmed
    extension_days: int
    new_deadline: date | DateToBeConfirmed
    reason: str
    approver: str
    """Who approved the extension (本机关负责人)."""
    legal_basis: str = ""
    """Law and article the act rests on; printed as "根据…的规定" only when given. Licensing items (行政许可)
    cite 行政许可法 (see LICENSING_* constants); 给付/确认/公共服务 items cite their own rules."""


@dataclass(frozen=True, kw_only=True)
class ResultReadyNotice(CaseDocument):
    """办结通知 / 领取通知: the result is ready; where and how to get it, what to bring, and a rating invitation."""

    completed_on: date
    outcome: Literal["granted", "refused"]
    decision_number: str
    result_documents: tuple[str, ...]
    collection: str
    """Where and when to collect, or that the 代办员 will deliver."""
    bring: tuple[str, ...] = ("本通知", "申请人居民身份证原件")
    rating_qr_payload: str = ""
    """Content of the 好差评 QR code; no rating QR is printed when empty."""


@dataclass(frozen=True, kw_only=True)
class RefusalDecision(CaseDocument):
    """不予许可决定书 (or 不予确认/不予给付): a negative decision with reasons and remedies (§38)."""

    accepted_on: date
    reasons: tuple[str, ...]
    legal_basis: str
    review_organ: str
    court: str
    decision_kind: str = "不予许可"
    """不予许可 / 不予确认 / 不予给付: printed in the title."""


@dataclass(frozen=True, kw_only=True)
class DeliveryReceipt(CaseDocument):
    """送达回证: proof that a document reached the applicant (or a 代收人)."""

    delivered_document: str
    delivered_doc_number: str
    method: str
    """直接送达 / 代办员送达 / 邮寄送达 / 留置送达."""
    delivered_at: datetime
    place: str
    deliverer: str
    recipient: str = ""
    """签收人 when it is the applicant; leave empty to sign by hand."""
    proxy_recipient: str = ""
    proxy_relationship: str = ""
