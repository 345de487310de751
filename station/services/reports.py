"""The station's own report (本站报表), SPEC.md §3.10 last line: the same KPIs central shows, computed offline
from this station's store — its own cases and those routed to it — grouped by the station that received them.

Each case in reach of the period is folded from the station's log and the events central routed to it
(``cases.casework_events``, as ``cases.case_view`` folds them), summarised with ``casework.kpi.summarize`` under
its pinned item version and the local calendar — with its 代办 hops (``casework.custody.route_times``) — and tabled by
``casework.report``; nothing here re-derives a formula or a cell. Lights come from the case projection, which the
hourly ``refresh_lights`` task keeps current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from casework.caseview import fold
from casework.custody import route_times
from casework.deadlines import compute_clock
from casework.errors import UnknownItemError
from casework.kpi import CaseSummary, KpiReport, Period, summarize
from casework.lifecycle import CaseState
from casework.report import (
    PERIOD_KINDS,
    LightsRow,
    ReportRow,
    TrendPoint,
    earliest_needed,
    export_cells,
    kpi_cells,
    kpi_table,
    lights_rows,
    parse_period,
)
from printing.tabular import csv_bytes

from ..models import CaseRecord
from .cases import casework_events, station
from .custody import station_name
from .reference import current_calendar, current_catalog, today

__all__ = [
    "PERIOD_KINDS",
    "StationReport",
    "build_report",
    "case_summaries",
    "export_report",
    "kpi_cells",
    "parse_period",
    "report_csv",
]

# A case nobody accepted explicitly may still count from its receipt (行政许可法 §32: no 补正 notice within five
# working days means accepted). The projection keeps the first receipt date (the village's, for a 代收 case), so
# such cases are looked at when that date lies up to this many days before the period; a folder that waited in a
# village longer than this and was then deemed accepted is outside the station's report.
DEEMED_LOOKBACK_DAYS = 92
CLOSED_STATES = [s.value for s in CaseState if s.terminal]


@dataclass(frozen=True)
class StationReport:
    period: Period
    rows: list[ReportRow]
    total: KpiReport
    trend: list[TrendPoint]
    lights: list[LightsRow]
    uncounted: int  # cases whose item version is not in the station's catalog
    as_of: dt.date


def case_summaries(since: dt.date, until: dt.date, on: dt.date) -> tuple[list[CaseSummary], int]:
    """KPI summaries of the cases that may have been accepted between ``since`` and ``until`` (clock as of
    ``on``), and how many could not be summarised because their item version is unknown here."""
    lookback = since - dt.timedelta(days=DEEMED_LOOKBACK_DAYS)
    rows = CaseRecord.select(CaseRecord.id).where(
        (CaseRecord.accepted_on.between(since.isoformat(), until.isoformat()))
        | (
            CaseRecord.accepted_on.is_null()
            & CaseRecord.received_on.between(lookback.isoformat(), until.isoformat())
        )
    )
    catalog, calendar = current_catalog(), current_calendar()  # read once: cases.clock_of re-reads per case
    summaries, uncounted = [], 0
    for row in rows.order_by(CaseRecord.id):
        events = casework_events(row.id)
        view = fold(events)
        try:
            item = catalog.item(view.item_code, view.item_version)
        except UnknownItemError:
            uncounted += view.merged_into is None  # a merged duplicate is not missed: it never counts
            continue
        clock = compute_clock(
            calendar, view.clock_inputs(item.promised_limit_days, item.legal_limit_days), on
        )
        summary = summarize(view, item, clock, route=route_times(row.id, events, calendar))
        if summary is not None:
            summaries.append(summary)
    return summaries, uncounted


def build_report(period: Period, on: dt.date | None = None) -> StationReport:
    """Every SPEC §3.10 figure for ``period`` from this station's store, by receiving station, with the monthly
    trend and the current lights."""
    on = on or today()
    identity = station()
    summaries, uncounted = case_summaries(earliest_needed(period), period.end, on)
    table = kpi_table(summaries, period, name_of=lambda code: station_name(code, identity))
    open_lights = (
        CaseRecord.select(CaseRecord.station_code, CaseRecord.light)
        .where(CaseRecord.state.not_in(CLOSED_STATES))
        .tuples()
    )
    return StationReport(
        period=period,
        rows=table.rows,
        total=table.total,
        trend=table.trend,
        lights=lights_rows(open_lights, lambda code: station_name(code, identity)),
        uncounted=uncounted,
        as_of=on,
    )


def report_csv(report: StationReport, headers: Sequence[str], total_label: str) -> bytes:
    """The table as CSV that Excel on the station's PC opens correctly (``printing.tabular``)."""
    return csv_bytes(export_cells(report.rows, report.total, headers, total_label))


def export_report(
    period: Period, headers: Sequence[str], total_label: str, actor: str, ip: str = ""
) -> bytes:
    """The report as CSV; the export is recorded in the audit log (SPEC §3.12: every export)."""
    from ..auth import record_audit

    body = report_csv(build_report(period), headers, total_label)
    record_audit(
        actor, "export", ip, kind="report", start=period.start.isoformat(), end=period.end.isoformat()
    )
    return body
