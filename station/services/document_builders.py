"""From a stored case to printing's dataclasses, one builder per document kind (DOMAIN.md §5).

Every builder takes the gathered :class:`CaseFacts`, the event the document rests on, the common fields
(number, case, applicant with a masked ID, issuer, date, 经办人, signed QR) and returns the document object.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from casework.caseview import CaseView
from casework.catalog import Item, ItemType, MaterialForm
from casework.deadlines import ClockStatus
from printing import (
    LICENSING_CORRECTION_BASIS,
    LICENSING_EXTENSION_BASIS,
    LICENSING_REJECTION_BASIS,
    DateToBeConfirmed,
    Issuer,
    ItemRef,
    MaterialLine,
    Person,
)
from printing.documents import (
    AcceptanceNotice,
    Correction,
    CorrectionNotice,
    DeferredMaterial,
    DeliveryReceipt,
    ExtensionNotice,
    GapAcceptanceNotice,
    GapCommitment,
    MaterialsReceipt,
    ProofCommitment,
    RatingCard,
    RefusalDecision,
    RejectionNotice,
    ResultReadyNotice,
    SpecialProcedureNotice,
)
from sync_protocol.events import Event

from ..models import CaseRecord, StationIdentity
from .reference import CHINA, current_calendar

FORMS = {
    MaterialForm.ORIGINAL: "原件",
    MaterialForm.COPY: "复印件",
    MaterialForm.ORIGINAL_AND_COPY: "原件和复印件",
}
STATUS_NOTES = {
    "missing": "未提交",
    "deferred": "容缺，限期补齐",
    "promised": "以告知承诺替代",
    "shared": "免提交（数据共享）",
}
DELIVERY_METHODS = {"window": "直接送达", "agent": "代办员送达", "post": "邮寄送达"}
DECISION_KINDS = {
    ItemType.LICENSING: "不予许可",
    ItemType.CONFIRMATION: "不予确认",
    ItemType.PAYMENT: "不予给付",
}
GAP_SUPPLY_METHOD = "现场提交或由代办员代交"
COURT = "有管辖权的人民法院"


@dataclass(frozen=True)
class CaseFacts:
    """Everything a builder reads about one case, gathered once."""

    record: CaseRecord
    view: CaseView
    item: Item
    item_ref: ItemRef
    applicant: Person
    agent: Person | None
    identity: StationIdentity
    clock: ClockStatus
    events: list[Event]


def organ_name(identity: StationIdentity) -> str:
    """The organ a station speaks for (出具机关): 青山镇便民服务中心 → 青山镇人民政府; a village → its 村民委员会."""
    name = str(identity.name)
    for suffix in ("便民服务中心", "便民服务站", "政务服务中心", "服务中心", "服务站"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if identity.level == "village":
        return name + "民委员会" if name.endswith("村") else name + "居民委员会"
    return name + "人民政府"


def issuer_of(identity: StationIdentity) -> Issuer:
    village = identity.level == "village"
    return Issuer(
        organ=organ_name(identity),
        station=str(identity.name),
        level=identity.level,  # type: ignore[arg-type]  # the identity table only holds the three levels
        consult_phone="",
        seal_name="" if village else "行政审批专用章",
    )


def review_organ(identity: StationIdentity) -> str:
    """行政复议机关 of the organ's acts: the county government for a township, the same level for a county."""
    return "本级人民政府" if identity.level == "county" else "所在地县级人民政府"


def local_time(event: Event) -> dt.datetime:
    return dt.datetime.fromtimestamp(event.wall_ms / 1000, CHINA)


def _licensing(facts: CaseFacts, basis: str) -> str:
    return basis if facts.item.item_type is ItemType.LICENSING else ""


def _received_on(facts: CaseFacts) -> dt.date:
    return (
        facts.view.received_on
        or facts.view.village_received_on
        or dt.date.fromisoformat(facts.record.received_on)
    )


def _material_name(facts: CaseFacts, key: str) -> str:
    material = facts.item.material(key)
    return material.name_zh if material is not None else key


def material_lines(facts: CaseFacts) -> tuple[MaterialLine, ...]:
    """Every material of the pinned item with its status at this case; pages as typed at intake."""
    received = next((e for e in facts.events if e.type == "case.received"), None)
    pages = {m["key"]: m.get("pages") for m in (received.payload["materials"] if received else [])}
    lines = []
    for material in facts.item.materials:
        status = facts.view.materials.get(material.key)
        if status is None:
            continue
        lines.append(
            MaterialLine(
                name=material.name_zh,
                form=FORMS.get(material.form, "原件"),
                copies=material.copies,
                pages=pages.get(material.key),
                original_returned=status == "original_returned",
                deferred=status == "deferred",
                note=STATUS_NOTES.get(status, ""),
            )
        )
    return tuple(lines)


def _deadline(clock: ClockStatus) -> dt.date | DateToBeConfirmed:
    """The clock's deadline, or 待定 with the reason when it cannot be computed — never a stand-in date
    (DOMAIN.md §2.3: a missing calendar year is a visible warning, not a silent guess)."""
    if clock.deadline is not None:
        return clock.deadline
    missing = next((m for m in clock.messages if m.code == "calendar_missing"), None)
    if missing is not None:
        return DateToBeConfirmed(f"{missing.params['year']} 年工作日历未发布")
    return DateToBeConfirmed("办结日期暂无法计算")


def _deferred(facts: CaseFacts) -> tuple[DeferredMaterial, ...]:
    return tuple(
        DeferredMaterial(_material_name(facts, gap.material), GAP_SUPPLY_METHOD, gap.supply_by)
        for gap in facts.view.gaps.values()
    )


Common = dict[str, Any]


def materials_receipt(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    forward_to = ""
    if facts.identity.level == "village":
        forward_to = "乡镇（街道）便民服务中心"
    return MaterialsReceipt(
        received_at=local_time(basis), materials=material_lines(facts), forward_to=forward_to, **common
    )


def acceptance_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    accepted_on = dt.date.fromisoformat(basis.payload["accepted_on"])
    return AcceptanceNotice(
        accepted_on=accepted_on,
        materials=material_lines(facts),
        promised_limit_days=facts.item.promised_limit_days,
        promised_deadline=_deadline(facts.clock),
        legal_limit_days=facts.item.legal_limit_days,
        **common,
    )


def gap_acceptance_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    accepted_on = dt.date.fromisoformat(basis.payload["accepted_on"])
    return GapAcceptanceNotice(
        accepted_on=accepted_on,
        deferred=_deferred(facts),
        promised_deadline=_deadline(facts.clock),
        **common,
    )


def gap_commitment(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    return GapCommitment(deferred=_deferred(facts), **common)


def proof_commitment(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    promised = [_material_name(facts, k) for k, s in facts.view.materials.items() if s == "promised"]
    names = "、".join(promised)
    return ProofCommitment(
        proof_name=names,
        proof_content=f"申请人承诺其情况符合“{names}”所需证明的事项，所述内容真实、准确、完整",
        legal_basis=facts.item.legal_basis or f"“{facts.item.name_zh}”办事指南",
        verification="受理后通过数据共享、部门协查或实地核查等方式核查；发现承诺不实的，依法处理",
        **common,
    )


def correction_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    corrections = tuple(
        Correction(
            _material_name(facts, c["material"]), c["problem"], c.get("how_to_fix") or "按办事指南要求补正"
        )
        for c in basis.payload["corrections"]
    )
    return CorrectionNotice(
        received_on=_received_on(facts),
        corrections=corrections,
        legal_basis=_licensing(facts, LICENSING_CORRECTION_BASIS),
        **common,
    )


def rejection_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    return RejectionNotice(
        received_on=_received_on(facts),
        reason=basis.payload["reason"],
        review_organ=review_organ(facts.identity),
        court=COURT,
        legal_basis=_licensing(facts, LICENSING_REJECTION_BASIS),
        competent_organ=basis.payload.get("competent_organ") or "",
        **common,
    )


def special_procedure_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    p = basis.payload
    procedure = next((s for s in facts.item.special_procedures if s.key == p["procedure"]), None)
    starts = dt.date.fromisoformat(p["started_on"])
    days = int(p["expected_days"])
    natural = procedure.calendar_days if procedure is not None else True
    if natural:
        end = starts + dt.timedelta(days=max(days - 1, 0))
    else:
        end = current_calendar().add_working_days_checked(starts, max(days - 1, 0)).date or starts
    return SpecialProcedureNotice(
        procedure=procedure.name_zh if procedure is not None else p["procedure"],
        reason=p.get("reason") or (procedure.name_zh if procedure is not None else p["procedure"]),
        starts_on=starts,
        expected_days=days,
        expected_end=end,
        day_unit="日" if natural else "工作日",
        counts_toward_limit=bool(p["counts_toward_limit"]),
        legal_basis=facts.item.legal_basis,
        **common,
    )


def extension_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    from .cases import clock_of
    from .reference import today

    p = basis.payload
    without = clock_of(dataclasses.replace(facts.view, extension_days=0), facts.item, today())
    return ExtensionNotice(
        original_deadline=_deadline(without),
        extension_days=int(p["days"]),
        new_deadline=_deadline(facts.clock),
        reason=p["reason"],
        approver=p["approver"],
        legal_basis=_licensing(facts, LICENSING_EXTENSION_BASIS),
        **common,
    )


def _result_documents(facts: CaseFacts) -> tuple[str, ...]:
    if facts.view.decision == "refused":
        return (f"{DECISION_KINDS.get(facts.item.item_type, '不予许可')}决定书",)  # type: ignore[arg-type]
    return (f"“{facts.item.name_zh}”办理结果",)


def result_ready_notice(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    pickup = basis.payload["pickup"]
    collection = {
        "window": f"请于工作日到{facts.identity.name}领取。",
        "agent": "结果将由代办员送达，请保持电话畅通。",
        "post": "结果将邮寄送达，请注意查收。",
    }[pickup]
    return ResultReadyNotice(
        completed_on=facts.view.decided_on or dt.date.fromisoformat(basis.payload["ready_on"]),
        outcome="refused" if facts.view.decision == "refused" else "granted",
        decision_number=facts.view.document_no or "—",
        result_documents=_result_documents(facts),
        collection=collection,
        **common,
    )


def refusal_decision(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    return RefusalDecision(
        accepted_on=facts.view.accepted_on or _received_on(facts),
        reasons=tuple(basis.payload["reasons"]),
        legal_basis=facts.item.legal_basis,
        review_organ=review_organ(facts.identity),
        court=COURT,
        decision_kind=DECISION_KINDS.get(facts.item.item_type, "不予许可"),  # type: ignore[arg-type]
        **common,
    )


def delivery_receipt(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    p = basis.payload
    relationship = p.get("relationship") or ""
    return DeliveryReceipt(
        delivered_document=_result_documents(facts)[0],
        delivered_doc_number=facts.view.document_no or "",
        method=DELIVERY_METHODS[p["method"]],
        delivered_at=local_time(basis),
        place=str(facts.identity.name) if p["method"] == "window" else "受送达人住所或约定地点",
        deliverer=handler,
        recipient="" if relationship else p["signed_by"],
        proxy_recipient=p["signed_by"] if relationship else "",
        proxy_relationship=relationship,
        **common,
    )


def rating_card(facts: CaseFacts, basis: Event, common: Common, handler: str, user: str) -> Any:
    finished = facts.view.result_ready_on is not None or facts.view.delivered_on is not None
    return RatingCard(
        issuer=common["issuer"],
        issued_on=common["issued_on"],
        stage="办结" if finished else "受理",
        staff_name=handler,
        staff_number=basis.actor or user,
        case_number=facts.record.number,
        item=facts.item_ref,
    )


Builder = Callable[[CaseFacts, Event, Common, str, str], Any]
BUILDERS: dict[str, Builder] = {
    "materials_receipt": materials_receipt,
    "acceptance_notice": acceptance_notice,
    "gap_acceptance_notice": gap_acceptance_notice,
    "gap_commitment": gap_commitment,
    "proof_commitment": proof_commitment,
    "correction_notice": correction_notice,
    "rejection_notice": rejection_notice,
    "special_procedure_notice": special_procedure_notice,
    "extension_notice": extension_notice,
    "result_ready_notice": result_ready_notice,
    "refusal_decision": refusal_decision,
    "delivery_receipt": delivery_receipt,
    "rating_card": rating_card,
}
