"""Documents handed out at intake (收件 / 受理), DOMAIN.md §2.2 and §5."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..model import CaseDocument, DateToBeConfirmed, MaterialLine


@dataclass(frozen=True, kw_only=True)
class MaterialsReceipt(CaseDocument):
    """材料接收凭证 (收件凭证): proof that materials were handed over.

    From a village station it is only a receipt: it says "本凭证不作为受理依据" and where the file goes.
    """

    received_at: datetime
    """收件时间, to the minute."""
    materials: tuple[MaterialLine, ...]
    forward_to: str = ""
    """报送机关: the organ the village forwards the file to."""
    forward_within_days: int = 3
    """Working days within which a village forwards the file (DOMAIN.md §6.1)."""


@dataclass(frozen=True, kw_only=True)
class AcceptanceNotice(CaseDocument):
    """受理通知书 (受理回执): the legal acceptance of §32(5), with the promised completion date."""

    accepted_on: date
    materials: tuple[MaterialLine, ...]
    promised_limit_days: int
    """承诺办结时限 in working days; 0 for 即办件."""
    promised_deadline: date | DateToBeConfirmed
    """承诺办结日期; 待定 with the reason when it cannot be computed (e.g. its year's calendar is missing)."""
    legal_limit_days: int | None = None
    """法定办结时限 in working days; None where the law sets none."""
    delivery_method: str = "窗口领取"
    """出件方式: 窗口领取 / 代办员送达 / 邮寄."""
    acceptor_phone: str = ""
    """受理人联系电话 (an office number)."""


@dataclass(frozen=True)
class Correction:
    """One thing to correct in a 一次性告知书: which material, what is wrong, how to fix it."""

    material: str
    problem: str
    remedy: str


@dataclass(frozen=True, kw_only=True)
class CorrectionNotice(CaseDocument):
    """一次性告知书 (补正材料通知书): everything to correct, at once, in writing (行政许可法 §32(4))."""

    received_on: date
    """Date the materials were received: the 5-working-day rule counts from it."""
    corrections: tuple[Correction, ...]
    supply_deadline: date | None = None
    legal_basis: str = ""
    """Law and article the act rests on; printed as "根据…的规定" only when given. Licensing items (行政许可)
    cite 行政许可法 (see LICENSING_* constants); 给付/确认/公共服务 items cite their own rules."""


@dataclass(frozen=True, kw_only=True)
class RejectionNotice(CaseDocument):
    """不予受理通知书: refusal to accept, with the reason, where to apply instead, and the remedies."""

    received_on: date
    reason: str
    review_organ: str
    """行政复议机关, e.g. 青山县人民政府."""
    court: str
    """人民法院 competent for 行政诉讼, e.g. 青山县人民法院."""
    legal_basis: str = ""
    """Law and article the act rests on; printed as "根据…的规定" only when given. Licensing items (行政许可)
    cite 行政许可法 (see LICENSING_* constants); 给付/确认/公共服务 items cite their own rules."""
    competent_organ: str = ""
    """The organ to apply to when the matter is not within our powers (§32(2)); empty otherwise."""


@dataclass(frozen=True)
class DeferredMaterial:
    """容缺材料: a secondary material accepted as missing, with how and by when it will be supplied."""

    name: str
    supply_method: str
    """补齐方式: 现场提交 / 邮寄 / 网上提交 / 代办员代交."""
    supply_deadline: date


@dataclass(frozen=True, kw_only=True)
class GapAcceptanceNotice(CaseDocument):
    """容缺受理通知书: the organ accepts with gaps; the result waits until every gap is closed."""

    accepted_on: date
    deferred: tuple[DeferredMaterial, ...]
    promised_deadline: date | DateToBeConfirmed
    overdue_handling: str = "逾期未补齐的，本机关将终止办理该申请，由此产生的后果由申请人自行承担。"


@dataclass(frozen=True, kw_only=True)
class GapCommitment(CaseDocument):
    """容缺受理承诺书: the applicant's signed promise to supply the missing materials in time."""

    deferred: tuple[DeferredMaterial, ...]
    consequences: str = (
        "如未能在承诺期限内补齐上述材料，本人同意行政机关终止办理本申请，已作出的决定依法撤销，"
        "由此产生的一切损失由本人自行承担。"
    )


@dataclass(frozen=True, kw_only=True)
class ProofCommitment(CaseDocument):
    """证明事项告知承诺书: a signed promise replaces a certificate (国办发〔2020〕42号)."""

    proof_name: str
    """证明名称, e.g. 在校证明."""
    proof_content: str
    """证明内容: what the certificate would have certified."""
    legal_basis: str
    """设定依据 of the proof obligation."""
    verification: str
    """核查方式和时间: how and when the organ will verify."""
    commitment_mode: str = "书面承诺"
