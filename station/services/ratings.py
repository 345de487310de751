"""好差评 on a case: a rating, and the follow-up ticket a bad one (1–2) opens, worked step by step (visit, verdict,
rectification, close). Each is one event per form token, projected in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from casework.errors import message
from sync_protocol.events import new_uuid7

from ..db import write_transaction
from ..models import CaseRecord
from .action_forms import Form, Problems, form_text, need_text
from .cases import CASE, Actor, append_case_event, case_view, project_case
from .log import find_by_idempotency_key
from .reference import today, working_days_after

FOLLOWUP_WORKING_DAYS = 15
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
        comment = form_text(form, "comment")
        if comment:
            payload["comment"] = comment
        append_case_event(actor, CASE, case_id, "rated", payload, token)
        if level <= 2:
            due = working_days_after(on, FOLLOWUP_WORKING_DAYS)
            opened = {"followup_id": new_uuid7(), "rating_id": rating_id, "opened_on": on.isoformat(),
                      "due_on": due.isoformat()}  # fmt: skip
            append_case_event(actor, CASE, case_id, "followup_opened", opened, f"{token}.followup")
        return project_case(case_id), {}


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
            note=need_text(problems, form, "note", "请填写回访情况", "Describe the visit"),
        )
    elif step == "verdict":
        verdict = form.get("verdict", "")
        if verdict not in FOLLOWUP_VERDICTS:
            problems["verdict"] = message("verdict_required", "请选择核实结论", "Choose the verdict")
        payload.update(
            verdict=verdict,
            note=need_text(problems, form, "note", "请填写核实情况", "Describe what was found"),
        )
    elif step == "rectified":
        payload.update(rectified_on=on.isoformat(),
                       measures=need_text(problems, form, "measures", "请填写整改措施", "Describe the rectification"))  # fmt: skip
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
