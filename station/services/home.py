"""What the home screen shows: due today, red and yellow lights, folders waiting for an agent, results to hand
out, and the most recent cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from casework.lifecycle import CaseState

from ..db import write_transaction
from ..models import CaseFollowup, CaseRecord

OPEN = [s.value for s in CaseState if not s.terminal] + [""]
"""Every state but the closed ones ("" — a case whose events set no state yet — included): closed cases keep their
last light, so the lists seek the open states in the (light, state, deadline) index rather than skip 40,000 closed
rows of a ten-year store."""


@dataclass
class HomeLists:
    due_today: list[CaseRecord] = field(default_factory=list)
    red: list[CaseRecord] = field(default_factory=list)
    yellow: list[CaseRecord] = field(default_factory=list)
    waiting_for_agent: list[CaseRecord] = field(default_factory=list)
    results_waiting: list[CaseRecord] = field(default_factory=list)
    recent: list[CaseRecord] = field(default_factory=list)
    followups_due: list[CaseRecord] = field(default_factory=list)
    calendar_missing: list[CaseRecord] = field(default_factory=list)
    """Open cases whose deadline cannot be computed: a working-day calendar year is not imported."""
    calendar_missing_ids: set[str] = field(default_factory=set)
    """Ids of every listed case in that state, so any list labels it so rather than "due soon"."""


LISTED = (
    CaseRecord.id, CaseRecord.number, CaseRecord.item_code, CaseRecord.item_name, CaseRecord.applicant_name,
    CaseRecord.state, CaseRecord.light, CaseRecord.deadline, CaseRecord.calendar_missing,
)  # fmt: skip
"""The columns a listed case shows (``cases/_list.html``) and ``calendar_missing_ids`` reads: a row of every column
costs the page twice as much to select and build, for ~100 rows."""


def _listed():
    return CaseRecord.select(*LISTED)


def _open():
    return _listed().where(CaseRecord.state.in_(OPEN))


def calendar_missing_ids(cases: list[CaseRecord], on: dt.date) -> set[str]:
    """Ids among ``cases`` whose clock stops because a working-day calendar year is missing (casework's
    ``calendar_missing`` flag, stored by ``project_case``). Rows not re-projected since migration 0010 hold NULL;
    only those that could carry the flag — yellow with no deadline — fold their events here."""
    from .cases import case_view, clock_of
    from .reference import current_catalog

    missing = {case.id for case in cases if case.calendar_missing}
    unknown = [c for c in cases if c.calendar_missing is None and c.light == "yellow" and not c.deadline]
    if unknown:
        catalog = current_catalog()
        for case in unknown:
            if case.id in missing:
                continue
            view = case_view(case.id)
            if (
                "calendar_missing"
                in clock_of(view, catalog.item(view.item_code, view.item_version), on).flags
            ):
                missing.add(case.id)
    return missing


def home_lists(on: dt.date, limit: int = 50) -> HomeLists:
    yellow = list(_open().where(CaseRecord.light == "yellow").order_by(CaseRecord.deadline).limit(limit))
    lists = HomeLists(
        due_today=list(_open().where(CaseRecord.deadline == on.isoformat()).limit(limit)),
        red=list(_open().where(CaseRecord.light == "red").order_by(CaseRecord.deadline).limit(limit)),
        yellow=yellow,
        waiting_for_agent=list(
            _listed()
            .where(CaseRecord.state == CaseState.VILLAGE_RECEIVED.value)
            .order_by(CaseRecord.received_on)
            .limit(limit)
        ),
        results_waiting=list(
            _listed()
            .where(CaseRecord.state == CaseState.RESULT_READY.value)
            .order_by(CaseRecord.updated_at)
            .limit(limit)
        ),
        followups_due=list(
            _listed()
            .join(CaseFollowup, on=(CaseFollowup.case_id == CaseRecord.id))
            .where(CaseFollowup.status != "closed")
            .order_by(CaseFollowup.due_on)
            .limit(limit)
        ),
        recent=list(_listed().order_by(CaseRecord.created_at.desc(), CaseRecord.number.desc()).limit(20)),
    )
    lists.calendar_missing_ids = calendar_missing_ids(yellow + lists.recent, on)
    lists.calendar_missing = [c for c in yellow if c.id in lists.calendar_missing_ids]
    lists.yellow = [c for c in yellow if c.id not in lists.calendar_missing_ids]
    return lists


def refresh_open_cases() -> int:
    """Recompute deadline and light of every open case for today (lights change with the date, not with events)."""
    from .cases import project_case

    ids = [row.id for row in _open().select(CaseRecord.id)]
    for case_id in ids:
        with write_transaction():
            project_case(case_id)
    return len(ids)
