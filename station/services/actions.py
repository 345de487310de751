"""Case actions after intake (DOMAIN.md §2.2): each one checked by ``casework.lifecycle.check_transition``
(services/case_levels.py), its form built (services/action_forms.py), appended as one event and projected — one
transaction, one event per form token. Also 即办件 completed on the spot, notes and applicant detail edits.
Ratings and their follow-ups are in services/ratings.py.
"""

from __future__ import annotations

import datetime as dt
import secrets

from casework.caseview import CaseView
from casework.errors import TransitionError, message
from sync_protocol.events import new_uuid7

from ..db import write_transaction
from ..models import CaseRecord
from .action_forms import BUILDERS, Form, Inputs, Problems
from .case_levels import LEVEL_ZH, NEEDS_PAPER, check_action, completes_here, paper_here
from .cases import CASE, Actor, append_case_event, case_view, project_case, station
from .documents import ORGAN_NOTICES, record_issued, reserve_number
from .log import find_by_idempotency_key
from .reference import current_catalog, today


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
            intent = check_action(view, action, actor, item)
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
                    decide_zh=LEVEL_ZH[item.decision_level.value],
                    level=level,
                    level_zh=LEVEL_ZH[level],
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


def new_token() -> str:
    return secrets.token_hex(16)


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
