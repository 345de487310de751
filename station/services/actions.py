"""Case actions after intake (DOMAIN.md §2.2): each one checked by ``casework.lifecycle.check_transition``,
validated, appended as one event and projected — one transaction, one event per form token.

Every builder turns the typed form into the event payload or into form problems (bilingual messages by field);
a problem is never an exception.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from casework.caseview import CaseView
from casework.catalog import Item, Level
from casework.errors import Message, TransitionError, message
from casework.lifecycle import CaseState, Role, allowed_actions, check_transition
from sync_protocol.events import new_uuid7

from ..db import write_transaction
from ..models import CaseRecord
from .cases import CASE, Actor, append_case_event, case_view, project_case, station
from .documents import ORGAN_NOTICES, record_issued, reserve_number
from .log import find_by_idempotency_key
from .reference import current_catalog, today, working_days_after

Form = Mapping[str, str]
Problems = dict[str, Message]
REFUSAL_REASONS = ("not_required", "not_competent", "other")
PICKUP_METHODS = ("window", "agent", "post")
FOLLOWUP_WORKING_DAYS = 15
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


def _text(form: Form, name: str, limit: int = 500) -> str:
    return (form.get(name) or "").strip()[:limit]


def _need(problems: Problems, form: Form, name: str, zh: str, en: str) -> str:
    value = _text(form, name)
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
        problem = _text(i.form, f"problem_{material.key}")
        if not problem:
            p[f"problem_{material.key}"] = message(
                "problem_required",
                "请写明“{name}”的问题",
                "Say what is wrong with '{name}'",
                name=material.name_zh,
            )
        entry = {"material": material.key, "problem": problem or "-"}
        how = _text(i.form, f"how_{material.key}")
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
    reason = _need(p, i.form, "reason", "请写明不予受理的理由", "State the reason")
    payload: dict[str, Any] = {
        "decided_on": i.on.isoformat(),
        "reason_code": code or "other",
        "reason": reason,
    }
    organ = _text(i.form, "competent_organ")
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
    opinion = _need(p, i.form, "opinion", "请填写初审意见", "Write the examination opinion")
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
    reason = _text(i.form, "reason")
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
    approver = _need(p, i.form, "approver", "请填写批准人", "Name who approved the extension")
    reason = _need(p, i.form, "reason", "请写明延期理由", "State the reason for the extension")
    return {"extended_on": i.on.isoformat(), "days": max(i.item.extension_days, 1), "approver": approver,
            "reason": reason}  # fmt: skip


def _review_note(i: Inputs, p: Problems) -> dict[str, Any]:
    step = _need(p, i.form, "step", "请填写审查环节", "Name the review step")
    opinion = _need(p, i.form, "opinion", "请填写审查意见", "Write the review opinion")
    return {"step": step, "opinion": opinion}


def _decide(outcome: str) -> Callable[[Inputs, Problems], dict[str, Any]]:
    def build(i: Inputs, p: Problems) -> dict[str, Any]:
        reasons = [line.strip() for line in _text(i.form, "reasons", 2000).splitlines() if line.strip()]
        if outcome == "refused" and not reasons:
            p["reasons"] = message(
                "reasons_required", "不予决定必须写明理由", "A refusal must state its reasons"
            )
        payload: dict[str, Any] = {"decided_on": i.on.isoformat(), "outcome": outcome, "reasons": reasons}
        document_no = _text(i.form, "document_no", 64)
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
    signed_by = _need(p, i.form, "signed_by", "请填写签收人", "Enter who signed for the result")
    payload: dict[str, Any] = {"delivered_on": i.on.isoformat(), "method": method if method in PICKUP_METHODS else "window",
                               "signed_by": signed_by}  # fmt: skip
    relationship = _text(i.form, "relationship", 50)
    if relationship:
        payload["relationship"] = relationship
    return payload


def _withdraw(i: Inputs, p: Problems) -> dict[str, Any]:
    reason = _need(p, i.form, "reason", "请写明撤回原因", "State why the application is withdrawn")
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


# Acts on the paper result: only where the folder is (a village waits for the result its agent brings back).
NEEDS_PAPER = frozenset({"mark_result_ready", "deliver"})


def paper_here(case_id: str) -> bool:
    """Is the case's folder at this station (never handed to an agent, or signed for since)?"""
    from .custody.manifests import folder_here

    return folder_here(case_id)


def decision_level(view: CaseView) -> Level:
    """The level that decides the case's pinned item (catalog ``decision_level``): only it decides (准予/不予);
    a lower accepting level examines and forwards (上报), a village only receives and sends on."""
    return current_catalog().item(view.item_code, view.item_version).decision_level


def available_actions(view: CaseView, level: str, role: str | None, *, paper: bool = True) -> list[str]:
    """Form actions the lifecycle table allows this role at this level for the case's item (accepted only at its
    acceptance level, decided only at its decision level), in the table's order; ``paper``: whether the case's folder is here (see :func:`paper_here`)."""
    if role is None or view.state is None:
        return []
    item = current_catalog().item(view.item_code, view.item_version)
    allowed = set(allowed_actions(view.state, Level(level), Role(role), acceptance_level=item.acceptance_level,
                                  decision_level=item.decision_level))  # fmt: skip
    # Guards the table leaves to check_transition, applied here so the page offers only what can succeed.
    hidden = {"resume"} if not view.paused else {"pause"}
    if not paper:
        hidden.update(NEEDS_PAPER)
    if view.extended:
        hidden.add("extend")
    if not view.open_gaps:
        hidden.add("supply_gap")
    elif view.state is not None:
        hidden.update({"decide_grant", "mark_result_ready"} if view.decision != "refused" else set())
    return [a for a in FORM_ACTIONS if a in allowed and a not in hidden]


def _transition(view: CaseView, action: str, actor: Actor, item: Item):
    return check_transition(
        view.state,
        action,
        Level(station().level),
        Role(actor.role),
        open_gaps=len(view.open_gaps),
        granted=None if view.decision is None else view.decision == "granted",
        already_extended=view.extended,
        acceptance_level=item.acceptance_level,
        decision_level=item.decision_level,
    )


_LEVEL_ZH = {"village": "村", "township": "乡镇", "county": "县"}


def completes_here(item: Item, level: str) -> bool:
    """即办件 done at this window in one go (accept, grant, hand over): only where the item is accepted and
    decided."""
    return item.is_immediate and item.decision_level is Level(level) and item.acceptance_level is Level(level)


def perform_action(actor: Actor, case_id: str, action: str, form: Form, token: str,
                   on: dt.date | None = None) -> tuple[CaseRecord | None, Problems]:  # fmt: skip
    """Do ``action`` on the case; returns (the updated case, {}) or (None, problems to show on the form)."""
    on = on or today()
    if action not in BUILDERS:
        return None, {"action": message("unknown_action", "未知操作", "Unknown action")}
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        view = case_view(case_id)
        item = current_catalog().item(view.item_code, view.item_version)
        try:
            intent = _transition(view, action, actor, item)
        except TransitionError as e:
            return None, {"action": e.message}
        if action in NEEDS_PAPER and not paper_here(case_id):
            return None, {
                "action": message(
                    "result_not_here",
                    "结果尚未送回本站：请先在“签收卷宗”中签收代办员送回的卷宗，再通知领取或送达",
                    "The result has not come back to this station yet: sign for the folder the agent brings back "
                    "('Receive folders') before notifying the applicant or handing it over",
                )
            }
        problems: Problems = {}
        event_type, build = BUILDERS[action]
        payload = build(Inputs(form, view, item, on), problems)
        if problems:
            return None, problems
        notice, here = ORGAN_NOTICES.get(action), station()
        reserved = None
        if notice is not None and view.station and view.station != here.station_code:
            # Received elsewhere (代收): the notice is numbered with the act, so the station where the applicant
            # filed prints it under this organ's name and number (documents.ORGAN_NOTICES).
            reserved = reserve_number(notice, on)
            payload = {**payload, "notice_no": reserved[0], "issuer": str(here.name)}
        full = {"from": view.state.value if view.state else None, "to": intent.to_state.value, **payload}
        event = append_case_event(actor, CASE, case_id, event_type, full, token)
        if notice is not None and reserved is not None:
            record_issued(case_id, notice, event.event_id, *reserved, on, actor.username)
        return project_case(case_id), {}


def complete_on_the_spot(
    actor: Actor, case_id: str, token: str, signed_by: str, on: dt.date | None = None
) -> CaseRecord:
    """即办件: accept, grant, result ready and hand over at the window — one transaction, four events."""
    on = on or today()
    steps: list[tuple[str, dict[str, str]]] = [
        ("accept", {}),
        ("decide_grant", {}),
        ("mark_result_ready", {"pickup": "window"}),
        ("deliver", {"method": "window", "signed_by": signed_by}),
    ]
    with write_transaction():
        view = case_view(case_id)
        item = current_catalog().item(view.item_code, view.item_version)
        level = station().level
        if not completes_here(item, level):
            from ..errors import ActionRefusedError

            raise ActionRefusedError(
                message(
                    "not_completed_here",
                    "即办件只在决定机关当场办结：本事项由{decide_zh}级决定，本站（{level_zh}级）不能当场办结",
                    "An item is completed on the spot only where it is decided: this one is decided at {decide} "
                    "level, not at this {level} station",
                    decide=item.decision_level.value,
                    decide_zh=_LEVEL_ZH[item.decision_level.value],
                    level=level,
                    level_zh=_LEVEL_ZH[level],
                ).text("zh")
            )
        record = None
        for action, form in steps:
            record, problems = perform_action(actor, case_id, action, form, f"{token}.{action}", on)
            if problems:
                from ..errors import ActionRefusedError

                raise ActionRefusedError("; ".join(m.text("zh") for m in problems.values()))
        assert record is not None
        return record


RATING_LEVELS = (5, 4, 3, 2, 1)
RATING_CHANNELS = ("window_device", "paper_card", "qr_code", "sms", "phone_followup", "village_tablet")


def rate_case(
    actor: Actor, case_id: str, form: Form, token: str, on: dt.date | None = None
) -> tuple[CaseRecord | None, Problems]:
    """好差评: record a rating; a bad one (1–2) opens a follow-up ticket due in 15 working days."""
    on = on or today()
    problems: Problems = {}
    if actor.role == "proxy_agent":
        return None, {
            "level": message(
                "agent_cannot_rate", "代办员不得代替申请人评价", "An agent never rates for the applicant"
            )
        }
    try:
        level = int(form.get("level", ""))
    except ValueError:
        level = 0
    if level not in RATING_LEVELS:
        problems["level"] = message("level_required", "请选择评价等级", "Choose a rating")
    stage = form.get("stage", "")
    if stage not in ("acceptance", "completion"):
        problems["stage"] = message("stage_required", "请选择评价环节", "Choose the stage rated")
    channel = form.get("channel", "window_device")
    if channel not in RATING_CHANNELS:
        problems["channel"] = message("channel_required", "请选择评价渠道", "Choose the channel")
    if problems:
        return None, problems
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        rating_id = new_uuid7()
        payload: dict[str, Any] = {
            "rating_id": rating_id, "level": level, "stage": stage, "channel": channel, "rated_on": on.isoformat(),
            "rater": "applicant" if form.get("named") else "anonymous",
        }  # fmt: skip
        comment = _text(form, "comment")
        if comment:
            payload["comment"] = comment
        append_case_event(actor, CASE, case_id, "rated", payload, token)
        if level <= 2:
            due = working_days_after(on, FOLLOWUP_WORKING_DAYS)
            opened = {"followup_id": new_uuid7(), "rating_id": rating_id, "opened_on": on.isoformat(),
                      "due_on": due.isoformat()}  # fmt: skip
            append_case_event(actor, CASE, case_id, "followup_opened", opened, f"{token}.followup")
        return project_case(case_id), {}


def new_token() -> str:
    return secrets.token_hex(16)


__all__ = [
    "FORM_ACTIONS",
    "available_actions",
    "complete_on_the_spot",
    "perform_action",
    "rate_case",
    "CaseState",
]


FOLLOWUP_STEPS = ("visited", "verdict", "rectified", "closed")
FOLLOWUP_VERDICTS = ("reasonable", "partly_reasonable", "unreasonable", "malicious")
RECTIFICATION_SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")


def record_followup(actor: Actor, case_id: str, followup_id: str, form: Form, token: str,
                    on: dt.date | None = None) -> tuple[CaseRecord | None, Problems]:  # fmt: skip
    """差评回访: one step of a follow-up ticket (visit, verdict, rectification, close)."""
    on = on or today()
    problems: Problems = {}
    step = form.get("step", "")
    payload: dict[str, Any] = {"followup_id": followup_id}
    if step == "visited":
        payload.update(
            visited_on=on.isoformat(),
            note=_need(problems, form, "note", "请填写回访情况", "Describe the visit"),
        )
    elif step == "verdict":
        verdict = form.get("verdict", "")
        if verdict not in FOLLOWUP_VERDICTS:
            problems["verdict"] = message("verdict_required", "请选择核实结论", "Choose the verdict")
        payload.update(
            verdict=verdict, note=_need(problems, form, "note", "请填写核实情况", "Describe what was found")
        )
    elif step == "rectified":
        payload.update(rectified_on=on.isoformat(),
                       measures=_need(problems, form, "measures", "请填写整改措施", "Describe the rectification"))  # fmt: skip
    elif step == "closed":
        payload["closed_on"] = on.isoformat()
        satisfaction = form.get("rater_satisfaction", "")
        if satisfaction in RECTIFICATION_SATISFACTION:
            payload["rater_satisfaction"] = satisfaction
    else:
        problems["step"] = message("step_required", "请选择回访步骤", "Choose the follow-up step")
    if problems:
        return None, problems
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        view = case_view(case_id)
        current = view.followups.get(followup_id)
        if current is None or current.get("status") == "closed":
            return None, {
                "step": message("followup_closed", "该回访单不存在或已办结", "No open follow-up with this id")
            }
        append_case_event(actor, CASE, case_id, f"followup_{step}", payload, token)
        return project_case(case_id), {}


def add_note(actor: Actor, case_id: str, text: str, token: str) -> tuple[CaseRecord | None, Problems]:
    """备注: a free-text note on the case (a set-like field: notes from several places are all kept)."""
    text = text.strip()[:1000]
    if not text:
        return None, {"note": message("note_required", "请填写备注内容", "Write the note")}
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        case_view(case_id)
        append_case_event(actor, CASE, case_id, "note_added", {"note_id": new_uuid7(), "text": text}, token)
        return project_case(case_id), {}


EDITABLE_FIELDS = ("phone", "address", "name")
"""Applicant details a clerk may correct on a case (low-stakes contact fields, and the name — high-stakes: two
different corrections of it in two places go to a person at central, SYNC-DESIGN §9 class B)."""


def edit_field(
    actor: Actor, case_id: str, field: str, new: str, token: str
) -> tuple[CaseRecord | None, Problems]:
    """修改信息: correct one applicant detail on the case; the event says old → new (central merges three-way)."""
    new = new.strip()[:200]
    if field not in EDITABLE_FIELDS:
        return None, {
            "field": message("field_not_editable", "该信息不能在此修改", "This detail cannot be edited here")
        }
    if not new:
        return None, {"new": message("new_value_required", "请填写新的内容", "Enter the new value")}
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        old = current_field(case_id, field)
        if old == new:
            return None, {
                "new": message(
                    "value_unchanged", "新内容与原内容相同", "The new value equals the current one"
                )
            }
        append_case_event(
            actor, CASE, case_id, "field_edited", {"field": field, "old": old, "new": new}, token
        )
        return project_case(case_id), {}


def current_field(case_id: str, field: str, view: CaseView | None = None) -> str:
    """The detail as the case shows it now: the last edit folded, else the applicant's record. ``view``: the case
    already folded (the case page shows every detail and folds once)."""
    from ..models import Applicant

    view = view or case_view(case_id)
    if field in view.fields:
        return str(view.fields[field])
    applicant = Applicant.get_or_none(Applicant.id == view.applicant_id)
    return str(getattr(applicant, field, "") or "") if applicant is not None else ""
