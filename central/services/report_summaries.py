"""Per-case KPI summaries (办件指标摘要) that the reports read, kept current from the central log.

Each case is folded from the same events the case projection folds (``projections.case_events``) and summarised
with ``casework.kpi.summarize`` under its pinned item version, the published catalog and calendars. Folding every
case for every page would not scale to a prefecture, so the summaries are stored (``report_case_summaries``),
keyed by the projection's ``version`` (the central_seq of the case's last event): a refresh re-folds only the
cases whose events changed since, plus open cases whose clock was last evaluated on an earlier day (their lights
and §32 deemed-acceptance dates move with time).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import replace

from peewee import JOIN

from casework.calendar import WorkingCalendar, default_calendar, load_year_calendar
from casework.caseview import CaseView, fold
from casework.catalog import Catalog, demo_catalog, load_catalog
from casework.custody import route_times
from casework.deadlines import Light, compute_clock
from casework.errors import CaseworkError
from casework.events import CaseEvent
from casework.kpi import summarize

from ..db import write_transaction
from ..models import CaseRecord, KpiCaseSummary, Publication
from .projections import _case_event, _effective, case_events
from .publications import latest_catalog

REFRESH_CHUNK = 400
CHINA = dt.timezone(dt.timedelta(hours=8))


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _casework_event(event):
    """The casework form of a logged case event (stations name them ``case.<type>`` on the wire)."""
    converted = _case_event(event)
    if converted.type.startswith("case."):
        converted = replace(converted, type=converted.type[len("case.") :])
    return converted


def _folded(case_ids: Sequence[str]) -> dict[str, tuple[CaseView, list[CaseEvent]]]:
    """Each case folded from the events the projection itself folds (``projections.case_events``), with those
    events in casework form (the 代办 route's hops are read from them)."""
    folded = {}
    for case_id in case_ids:
        events = [_casework_event(event) for _, event in _effective(case_events(case_id))]
        if events:
            folded[case_id] = (fold(events), events)
    return folded


@functools.lru_cache(maxsize=4)
def _parse_catalog(publication_id: int, data: bytes) -> Catalog:
    return load_catalog(data)


def reference_catalog() -> Catalog:
    """The newest catalog central published (items of every version), or the demo catalog before the first."""
    row = latest_catalog()
    return demo_catalog() if row is None else _parse_catalog(row.id, bytes(row.data))


def reference_calendar() -> WorkingCalendar:
    """The shipped calendar years plus every year central published (the newest version of each)."""
    calendar = default_calendar()
    for row in Publication.select().where(Publication.kind == "calendar").order_by(Publication.version):
        calendar = calendar.with_year(load_year_calendar(bytes(row.data)))
    return calendar


def _summary_row(
    case_id: str,
    version: int,
    folded: tuple[CaseView, list[CaseEvent]],
    catalog: Catalog,
    calendar: WorkingCalendar,
    today: dt.date,
) -> dict:
    view, events = folded
    base = {
        "case_id": case_id,
        "version": version,
        "computed_on": today,
        "station": view.station,
        "merged_into": None,
    }
    if view.merged_into is not None:
        return {
            **_UNCOUNTED,
            **base,
            "item_code": view.item_code,
            "merged_into": view.merged_into,
            "clock_running": False,
        }
    try:
        item = catalog.item(view.item_code, view.item_version)
    except CaseworkError:
        # Not counted until the catalog knows the item; kept "running" so it is retried each day.
        return {**_UNCOUNTED, **base, "item_code": view.item_code}
    clock = compute_clock(calendar, view.clock_inputs(item.promised_limit_days, item.legal_limit_days), today)
    summary = summarize(view, item, clock, route=route_times(case_id, events, calendar))
    assert summary is not None  # only a merged duplicate has none, and it returned above
    return {
        **base,
        "station": summary.station,
        "item_code": summary.item_code,
        "counted": True,
        "accepted_on": summary.accepted_on,
        "completed_on": summary.completed_on,
        "deadline": summary.deadline,
        "promised_days": summary.promised_days,
        "legal_days": summary.legal_days,
        "immediate": summary.immediate,
        "with_gaps": summary.with_gaps,
        "via_proxy": summary.via_proxy,
        "steps": summary.steps,
        "materials": summary.materials,
        "applicant_trips": summary.applicant_trips,
        "completed_in_village": summary.completed_in_village,
        "rating_levels": ",".join(str(level) for level in summary.rating_levels),
        "bad_ratings_rectified": summary.bad_ratings_rectified,
        "agent_trips": summary.agent_trips,
        "village_hold_days": summary.village_hold_days,
        "transit_hops": summary.transit_hops,
        "transit_days": summary.transit_days,
        "light": clock.light.value,
        "clock_running": view.is_open and view.result_ready_on is None,
    }


_UNCOUNTED = {
    "counted": False,
    "accepted_on": None,
    "completed_on": None,
    "deadline": None,
    "promised_days": 0,
    "legal_days": None,
    "immediate": False,
    "with_gaps": False,
    "via_proxy": False,
    "steps": 0,
    "materials": 0,
    "applicant_trips": 0,
    "completed_in_village": False,
    "rating_levels": "",
    "bad_ratings_rectified": 0,
    "agent_trips": 0,
    "village_hold_days": None,
    "transit_hops": 0,
    "transit_days": 0,
    "light": Light.NONE.value,
    "clock_running": True,
}


def refresh_summaries(
    catalog: Catalog | None = None, calendar: WorkingCalendar | None = None, today: dt.date | None = None
) -> int:
    """Re-fold the cases whose summary is missing, behind the projection, or open and evaluated before today;
    returns how many were refreshed."""
    catalog = catalog or reference_catalog()
    calendar = calendar or reference_calendar()
    today = today or china_today()
    stale = (
        CaseRecord.select(CaseRecord.case_id, CaseRecord.version)
        .join(KpiCaseSummary, JOIN.LEFT_OUTER, on=(KpiCaseSummary.case_id == CaseRecord.case_id))
        .where(
            KpiCaseSummary.case_id.is_null()
            | (KpiCaseSummary.version != CaseRecord.version)
            | (KpiCaseSummary.clock_running & (KpiCaseSummary.computed_on != today))
        )
        .order_by(CaseRecord.case_id)
        .tuples()
    )
    pending = list(stale)
    for start in range(0, len(pending), REFRESH_CHUNK):
        chunk = dict(pending[start : start + REFRESH_CHUNK])
        folded = _folded(list(chunk))
        rows = [
            _summary_row(case_id, chunk[case_id], case, catalog, calendar, today)
            for case_id, case in sorted(folded.items())
        ]
        with write_transaction():
            KpiCaseSummary.delete().where(KpiCaseSummary.case_id.in_(list(chunk))).execute()
            if rows:
                KpiCaseSummary.insert_many(rows).execute()
    if KpiCaseSummary.select().count() > CaseRecord.select().count():
        # A projection rebuilt without some case leaves its summary behind: drop what no longer exists.
        with write_transaction():
            KpiCaseSummary.delete().where(
                KpiCaseSummary.case_id.not_in(CaseRecord.select(CaseRecord.case_id))
            ).execute()
    return len(pending)
