"""What the home screen shows: due today, red and yellow lights, folders waiting for an agent, results to hand
out, and the most recent cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from casework.lifecycle import CaseState

from ..db import write_transaction
from ..models import CaseFollowup, CaseRecord

CLOSED = [s.value for s in CaseState if s.terminal]


@dataclass
class HomeLists:
    due_today: list[CaseRecord] = field(default_factory=list)
    red: list[CaseRecord] = field(default_factory=list)
    yellow: list[CaseRecord] = field(default_factory=list)
    waiting_for_agent: list[CaseRecord] = field(default_factory=list)
    results_waiting: list[CaseRecord] = field(default_factory=list)
    recent: list[CaseRecord] = field(default_factory=list)
    followups_due: list[CaseRecord] = field(default_factory=list)


def _open():
    return CaseRecord.select().where(CaseRecord.state.not_in(CLOSED))


def home_lists(on: dt.date, limit: int = 50) -> HomeLists:
    return HomeLists(
        due_today=list(_open().where(CaseRecord.deadline == on.isoformat()).limit(limit)),
        red=list(_open().where(CaseRecord.light == "red").order_by(CaseRecord.deadline).limit(limit)),
        yellow=list(_open().where(CaseRecord.light == "yellow").order_by(CaseRecord.deadline).limit(limit)),
        waiting_for_agent=list(
            CaseRecord.select()
            .where(CaseRecord.state == CaseState.VILLAGE_RECEIVED.value)
            .order_by(CaseRecord.received_on)
            .limit(limit)
        ),
        results_waiting=list(
            CaseRecord.select()
            .where(CaseRecord.state == CaseState.RESULT_READY.value)
            .order_by(CaseRecord.updated_at)
            .limit(limit)
        ),
        followups_due=list(
            CaseRecord.select()
            .join(CaseFollowup, on=(CaseFollowup.case_id == CaseRecord.id))
            .where(CaseFollowup.status != "closed")
            .order_by(CaseFollowup.due_on)
            .limit(limit)
        ),
        recent=list(
            CaseRecord.select().order_by(CaseRecord.created_at.desc(), CaseRecord.number.desc()).limit(20)
        ),
    )


def refresh_open_cases() -> int:
    """Recompute deadline and light of every open case for today (lights change with the date, not with events)."""
    from .cases import project_case

    ids = [row.id for row in _open().select(CaseRecord.id)]
    for case_id in ids:
        with write_transaction():
            project_case(case_id)
    return len(ids)
