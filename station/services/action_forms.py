"""The form of each case action (DOMAIN.md §2.2): a builder per action turns the typed form into the event payload
or into form problems (bilingual messages by field); a problem is never an exception. ``BUILDERS`` names each
action's event type and builder; services/actions.py checks, appends and projects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from casework.caseview import CaseView
from casework.catalog import Item
from casework.errors import Message, message

from .reference import current_catalog, working_days_after

Form = Mapping[str, str]
Problems = dict[str, Message]
REFUSAL_REASONS = ("not_required", "not_competent", "other")
PICKUP_METHODS = ("window", "agent", "post")
# Actions that need a human decision in a form; the rest of the table (dispatch, custody) lives elsewhere.
FORM_ACTIONS = (
    "accept", "accept_with_gaps", "request_correction", "refuse_acceptance", "supply_gap", "forward", "pause",
    "resume", "extend", "review_note", "decide_grant", "decide_refuse", "mark_result_ready", "deliver", "withdraw",
)  # fmt: skip


@dataclass(frozen=True)
class Inputs:
    form: Form
    view: CaseView
    item: Item
    on: dt.date


def form_text(form: Form, name: str, limit: int = 500) -> str:
    return (form.get(name) or "").strip()[:limit]


def need_text(problems: Problems, form: Form, name: str, zh: str, en: str) -> str:
    value = form_text(form, name)
    if not value:
        problems[name] = message(f"{name}_required", zh, en)
    return value


def _accept(i: Inputs, p: Problems) -> dict[str, Any]:
    return {"accepted_on": i.on.isoformat()}


def _accept_with_gaps(i: Inputs, p: Problems) -> dict[str, Any]:
    default = current_catalog().default_supply_days
    gaps = []
    for material in i.item.materials:
        if material.deferrable and i.form.get(f"gap_{material.key}"):
            days = min(material.supply_days or default, max(i.item.promised_limit_days, 1))
            gaps.append({"material": material.key, "supply_by": working_days_after(i.on, days).isoformat()})
    if not gaps:
        p["gaps"] = message(
            "gaps_required", "请勾选容缺后补的材料", "Tick the materials to be supplied later"
        )
    return {"accepted_on": i.on.isoformat(), "gaps": gaps}


def _request_correction(i: Inputs, p: Problems) -> dict[str, Any]:
    corrections = []
    for material in i.item.materials:
        if not i.form.get(f"fix_{material.key}"):
            continue
        problem = form_text(i.form, f"problem_{material.key}")
        if not problem:
            p[f"problem_{material.key}"] = message(
                "problem_required",
                "请写明“{name}”的问题",
                "Say what is wrong with '{name}'",
                name=material.name_zh,
            )
        entry = {"material": material.key, "problem": problem or "-"}
        how = form_text(i.form, f"how_{material.key}")
        if how:
            entry["how_to_fix"] = how
        corrections.append(entry)
    if not corrections:
        p["corrections"] = message(
            "corrections_required",
            "一次性告知须列出全部需补正的材料",
            "List every material to be corrected, all at once",
        )
    return {"notice_on": i.on.isoformat(), "corrections": corrections}


def _refuse_acceptance(i: Inputs, p: Problems) -> dict[str, Any]:
    code = i.form.get("reason_code", "")
    if code not in REFUSAL_REASONS:
        p["reason_code"] = message(
            "reason_code_required", "请选择不予受理的情形", "Choose why it is not accepted"
        )
    reason = need_text(p, i.form, "reason", "请写明不予受理的理由", "State the reason")
    payload: dict[str, Any] = {
        "decided_on": i.on.isoformat(),
        "reason_code": code or "other",
        "reason": reason,
    }
    organ = form_text(i.form, "competent_organ")
    if code == "not_competent" and not organ:
        p["competent_organ"] = message(
            "organ_required", "请告知申请人应向哪个机关申请", "Name the organ to apply to"
        )
    if organ:
        payload["competent_organ"] = organ
    return payload


def _supply_gap(i: Inputs, p: Problems) -> dict[str, Any]:
    material = i.form.get("material", "")
    if material not in i.view.open_gaps:
        p["material"] = message(
            "gap_material", "请选择补齐的容缺材料", "Choose the deferred material supplied"
        )
    return {"material": material, "supplied_on": i.on.isoformat()}


def _forward(i: Inputs, p: Problems) -> dict[str, Any]:
    opinion = need_text(p, i.form, "opinion", "请填写初审意见", "Write the examination opinion")
    return {"forwarded_on": i.on.isoformat(), "to_level": "county", "opinion": opinion}


def _pause(i: Inputs, p: Problems) -> dict[str, Any]:
    key = i.form.get("procedure", "")
    procedure = next((s for s in i.item.special_procedures if s.key == key), None)
    if procedure is None:
        p["procedure"] = message("procedure_required", "请选择特别程序", "Choose the special procedure")
        return {
            "procedure": key or "-",
            "started_on": i.on.isoformat(),
            "expected_days": 1,
            "counts_toward_limit": False,
        }
    payload: dict[str, Any] = {
        "procedure": procedure.key,
        "started_on": i.on.isoformat(),
        "expected_days": procedure.expected_days,
        "counts_toward_limit": procedure.counts_toward_limit,
    }
    reason = form_text(i.form, "reason")
    if reason:
        payload["reason"] = reason
    return payload


def _resume(i: Inputs, p: Problems) -> dict[str, Any]:
    if not i.view.paused:
        p["action"] = message("not_paused", "办件未暂停计时", "The case clock is not paused")
    return {"resumed_on": i.on.isoformat()}


def _extend(i: Inputs, p: Problems) -> dict[str, Any]:
    if i.item.extension_days < 1:
        p["action"] = message("no_extension", "该事项不能延期", "This item cannot be extended")
    approver = need_text(p, i.form, "approver", "请填写批准人", "Name who approved the extension")
    reason = need_text(p, i.form, "reason", "请写明延期理由", "State the reason for the extension")
    return {"extended_on": i.on.isoformat(), "days": max(i.item.extension_days, 1), "approver": approver,
            "reason": reason}  # fmt: skip


def _review_note(i: Inputs, p: Problems) -> dict[str, Any]:
    step = need_text(p, i.form, "step", "请填写审查环节", "Name the review step")
    opinion = need_text(p, i.form, "opinion", "请填写审查意见", "Write the review opinion")
    return {"step": step, "opinion": opinion}


def _decide(outcome: str) -> Callable[[Inputs, Problems], dict[str, Any]]:
    def build(i: Inputs, p: Problems) -> dict[str, Any]:
        reasons = [line.strip() for line in form_text(i.form, "reasons", 2000).splitlines() if line.strip()]
        if outcome == "refused" and not reasons:
            p["reasons"] = message(
                "reasons_required", "不予决定必须写明理由", "A refusal must state its reasons"
            )
        payload: dict[str, Any] = {"decided_on": i.on.isoformat(), "outcome": outcome, "reasons": reasons}
        document_no = form_text(i.form, "document_no", 64)
        if document_no:
            payload["document_no"] = document_no
        return payload

    return build


def _result_ready(i: Inputs, p: Problems) -> dict[str, Any]:
    pickup = i.form.get("pickup", "window")
    if pickup not in PICKUP_METHODS:
        p["pickup"] = message("pickup_required", "请选择取件方式", "Choose how the result is handed over")
    return {
        "ready_on": i.on.isoformat(),
        "notice_sent": True,
        "pickup": pickup if pickup in PICKUP_METHODS else "window",
    }


def _deliver(i: Inputs, p: Problems) -> dict[str, Any]:
    method = i.form.get("method", "window")
    if method not in PICKUP_METHODS:
        p["method"] = message("method_required", "请选择送达方式", "Choose how it was delivered")
    signed_by = need_text(p, i.form, "signed_by", "请填写签收人", "Enter who signed for the result")
    payload: dict[str, Any] = {"delivered_on": i.on.isoformat(), "method": method if method in PICKUP_METHODS else "window",
                               "signed_by": signed_by}  # fmt: skip
    relationship = form_text(i.form, "relationship", 50)
    if relationship:
        payload["relationship"] = relationship
    return payload


def _withdraw(i: Inputs, p: Problems) -> dict[str, Any]:
    reason = need_text(p, i.form, "reason", "请写明撤回原因", "State why the application is withdrawn")
    return {"withdrawn_on": i.on.isoformat(), "reason": reason}


BUILDERS: dict[str, tuple[str, Callable[[Inputs, Problems], dict[str, Any]]]] = {
    "accept": ("accepted", _accept),
    "accept_with_gaps": ("accepted_with_gaps", _accept_with_gaps),
    "request_correction": ("correction_requested", _request_correction),
    "refuse_acceptance": ("not_accepted", _refuse_acceptance),
    "supply_gap": ("gap_supplied", _supply_gap),
    "forward": ("forwarded", _forward),
    "pause": ("paused", _pause),
    "resume": ("resumed", _resume),
    "extend": ("extended", _extend),
    "review_note": ("review_note", _review_note),
    "decide_grant": ("decided", _decide("granted")),
    "decide_refuse": ("decided", _decide("refused")),
    "mark_result_ready": ("result_ready", _result_ready),
    "deliver": ("delivered", _deliver),
    "withdraw": ("withdrawn", _withdraw),
}
