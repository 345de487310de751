"""The station's own report (本站报表), SPEC.md §3.10 last line: the same KPIs central shows, computed offline
from this station's store — its own cases and those routed to it — grouped by the station that received them.

Each case in reach of the period is folded from the station's log (``cases.case_view``), summarised with
``casework.kpi.summarize`` under its pinned item version and the local calendar, and the figures are
``casework.kpi.compute_kpis``; nothing here re-derives a formula. Lights come from the case projection, which the
hourly ``refresh_lights`` task keeps current.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from casework.deadlines import compute_clock
from casework.errors import UnknownItemError
from casework.kpi import (
    CaseSummary,
    KpiReport,
    Period,
    by_station,
    compute_kpis,
    decimal_text,
    percent_text,
    summarize,
)
from casework.lifecycle import CaseState

from ..models import CaseRecord
from .cases import case_view, station
from .custody import station_name
from .reference import current_calendar, current_catalog, today

PERIOD_KINDS = ("month", "quarter", "year", "custom")
TREND_MONTHS = 12
# A case nobody accepted explicitly may still count from its receipt (行政许可法 §32: no 补正 notice within five
# working days means accepted). The projection keeps the first receipt date (the village's, for a 代收 case), so
# such cases are looked at when that date lies up to this many days before the period; a folder that waited in a
# village longer than this and was then deemed accepted is outside the station's report.
DEEMED_LOOKBACK_DAYS = 92
LIGHTS_SHOWN = ("green", "yellow", "red", "grey")
CLOSED_STATES = [s.value for s in CaseState if s.terminal]

# (KpiReport field, display form), in the column order of the table and the CSV.
KPI_FIELDS = (
    ("accepted", "count"),
    ("completion_rate", "percent"),
    ("on_time_rate", "percent"),
    ("overdue", "count"),
    ("immediate_share", "percent"),
    ("with_gaps", "count"),
    ("via_proxy", "count"),
    ("average_steps", "decimal"),
    ("average_materials", "decimal"),
    ("average_trips", "decimal"),
    ("time_limit_compression", "percent"),
    ("satisfaction_rate", "percent"),
    ("bad_rating_rate", "percent"),
    ("rectification_rate", "percent"),
    ("village_share", "percent"),
)


def month_period(year: int, month: int) -> Period:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Period(dt.date(year, month, 1), following - dt.timedelta(days=1))


def parse_period(kind: str, value: str = "", start: str = "", end: str = "") -> Period | None:
    """The period a report form names: ``month`` 2026-03, ``quarter`` 2026-Q1, ``year`` 2026, or ``custom``
    ISO start and end dates. None when what was typed does not name a period."""
    value = value.strip()
    try:
        if kind == "month":
            year, month = (int(part) for part in value.split("-"))
            return month_period(year, month)
        if kind == "quarter":
            year_text, quarter_text = value.upper().split("-Q")
            quarter = int(quarter_text)
            if not 1 <= quarter <= 4:
                return None
            return Period(
                month_period(int(year_text), 3 * quarter - 2).start,
                month_period(int(year_text), 3 * quarter).end,
            )
        if kind == "year":
            return Period(dt.date(int(value), 1, 1), dt.date(int(value), 12, 31))
        if kind == "custom":
            period = Period(dt.date.fromisoformat(start.strip()), dt.date.fromisoformat(end.strip()))
            return period if period.start <= period.end else None
    except ValueError:
        return None
    return None


def trend_months(period: Period, count: int = TREND_MONTHS) -> list[Period]:
    """The ``count`` calendar months ending with the month of the period's last day."""
    year, month = period.end.year, period.end.month
    months = []
    for _ in range(count):
        months.append(month_period(year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


@dataclass(frozen=True)
class ReportRow:
    code: str
    name: str
    kpis: KpiReport


@dataclass(frozen=True)
class TrendPoint:
    month: str
    accepted: int
    completed: int


@dataclass(frozen=True)
class LightsRow:
    code: str
    name: str
    counts: dict[str, int]


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
        view = case_view(row.id)
        if view.merged_into is not None:
            continue  # a duplicate merged into another case is not a matter of its own
        try:
            item = catalog.item(view.item_code, view.item_version)
        except UnknownItemError:
            uncounted += 1
            continue
        clock = compute_clock(
            calendar, view.clock_inputs(item.promised_limit_days, item.legal_limit_days), on
        )
        summaries.append(summarize(view, item, clock))
    return summaries, uncounted


def build_report(period: Period, on: dt.date | None = None) -> StationReport:
    """Every SPEC §3.10 figure for ``period`` from this station's store, by receiving station, with the monthly
    trend and the current lights."""
    on = on or today()
    identity = station()
    months = trend_months(period)
    summaries, uncounted = case_summaries(min(months[0].start, period.start), period.end, on)
    grouped = by_station(summaries, period)
    rows = [
        ReportRow(code, station_name(code, identity), kpis) for code, kpis in grouped.items() if kpis.accepted
    ]
    trend = []
    for month in months:
        figures = compute_kpis(summaries, month)
        trend.append(TrendPoint(f"{month.start:%Y-%m}", figures.accepted, figures.completed))
    return StationReport(
        period=period,
        rows=rows,
        total=compute_kpis(summaries, period),
        trend=trend,
        lights=_lights(identity),
        uncounted=uncounted,
        as_of=on,
    )


def _lights(identity) -> list[LightsRow]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = (
        CaseRecord.select(CaseRecord.station_code, CaseRecord.light)
        .where(CaseRecord.state.not_in(CLOSED_STATES))
        .tuples()
    )
    for code, light in rows:
        counts[code][light] += 1
    return [
        LightsRow(code, station_name(code, identity), {light: counts[code][light] for light in LIGHTS_SHOWN})
        for code in sorted(counts)
        if any(counts[code][light] for light in LIGHTS_SHOWN)
    ]


def kpi_cells(kpis: KpiReport, empty: str = "—") -> list[str]:
    """The display text of each KPI_FIELDS column (``empty`` where a ratio has no denominator)."""
    cells = []
    for name, form in KPI_FIELDS:
        value = getattr(kpis, name)
        if form == "count":
            cells.append(str(value))
        elif value is None:
            cells.append(empty)
        else:
            cells.append(percent_text(value) if form == "percent" else decimal_text(value))
    return cells


def report_csv(report: StationReport, headers: Sequence[str], total_label: str) -> bytes:
    """UTF-8 with a byte-order mark and CRLF lines, so Excel on the station's PC opens the Chinese correctly."""
    if len(headers) != 2 + len(KPI_FIELDS):
        raise ValueError("headers must name the code, the name and every KPI column")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in report.rows:
        writer.writerow([row.code, _safe_cell(row.name), *kpi_cells(row.kpis, "")])
    writer.writerow(["", total_label, *kpi_cells(report.total, "")])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


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


def _safe_cell(text: str) -> str:
    """Neutralise spreadsheet formulas in names (CSV injection): a leading = + - @ is shown as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
