"""Reports and KPIs (报表与绩效指标) across every station, SPEC.md §3.10.

The figures are ``casework.kpi.compute_kpis`` over the per-case summaries that ``report_summaries`` keeps current
from the central log; nothing here re-derives a formula. This module picks the cohort (period, area), groups it
by station, township or county, adds the monthly trend and the current lights, and writes the CSV.

Grouping follows the registry's parent links (``stations``); a station the registry does not know is placed by
its 12-digit 统计用区划代码.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from casework.calendar import WorkingCalendar
from casework.catalog import Catalog
from casework.deadlines import Light
from casework.kpi import KpiReport, Period, compute_kpis, grouped_kpis

from ..db import write_transaction
from ..models import Station
from .audit import record_audit
from .report_summaries import KpiCaseSummary, china_today, refresh_summaries

__all__ = [
    "KpiCaseSummary",  # created by migration m0004_report_summaries, which imports it from here
    "Report",
    "ReportQuery",
    "StationTree",
    "build_report",
    "china_today",
    "export_report",
    "kpi_cells",
    "parse_period",
    "refresh_summaries",
    "report_csv",
    "trend_months",
]

GROUPS = ("station", "township", "county")
PERIOD_KINDS = ("month", "quarter", "year", "custom")
TREND_MONTHS = 12
LIGHTS_SHOWN = (Light.GREEN, Light.YELLOW, Light.RED, Light.GREY)


# ---- periods -------------------------------------------------------------------------------------------------


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
            first = month_period(int(year_text), 3 * quarter - 2)
            return Period(first.start, month_period(int(year_text), 3 * quarter).end)
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


# ---- the station tree ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationNode:
    code: str
    name: str
    level: str
    parent: str | None


class StationTree:
    """The registry's parent links, with 统计用区划代码 prefixes for stations it does not list."""

    def __init__(self, nodes: Iterable[StationNode]) -> None:
        self.nodes = {node.code: node for node in nodes}

    @classmethod
    def load(cls) -> StationTree:
        return cls(
            StationNode(s.code, s.name, s.level, s.parent_code)
            for s in Station.select(Station.code, Station.name, Station.level, Station.parent_code)
        )

    def name(self, code: str) -> str:
        node = self.nodes.get(code)
        return node.name if node else code

    def ancestor(self, code: str, level: str) -> str:
        """The station at ``level`` above (or equal to) ``code``."""
        seen: set[str] = set()
        current: str | None = code
        while current is not None and current in self.nodes and current not in seen:
            node = self.nodes[current]
            if node.level == level:
                return node.code
            seen.add(current)
            current = node.parent
        if level == "township":
            return code[:9] + "000"
        if level == "county":
            return code[:6] + "000000"
        return code

    def group_of(self, code: str, group: str) -> str:
        return code if group == "station" else self.ancestor(code, group)

    def within(self, code: str, scope: str) -> bool:
        """Whether station ``code`` is ``scope`` or lies below it."""
        if not scope or code == scope:
            return True
        return scope in {self.ancestor(code, "township"), self.ancestor(code, "county")}

    def choices(self, selected: str = "") -> list[StationNode]:
        """The areas a report is usually asked for — counties, then townships — plus the selected station; a
        prefecture's thousands of villages would make the list unusable, so single stations are typed."""
        order = {"county": 0, "township": 1}
        nodes = [n for n in self.nodes.values() if n.level in order or n.code == selected]
        return sorted(nodes, key=lambda n: (order.get(n.level, 2), n.code))


# ---- the report ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    group: str = "station"
    scope: str = ""  # a station code (any level); "" = every station


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
class Report:
    query: ReportQuery
    rows: list[ReportRow]
    total: KpiReport
    trend: list[TrendPoint]
    lights: list[LightsRow]
    uncounted: int  # cases whose item version is not in the catalog
    as_of: dt.date


def build_report(
    query: ReportQuery,
    *,
    today: dt.date | None = None,
    catalog: Catalog | None = None,
    calendar: WorkingCalendar | None = None,
) -> Report:
    """Every SPEC §3.10 figure for the query's period and scope, per group, with the trend and current lights."""
    if query.group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}")
    today = today or china_today()
    refresh_summaries(catalog, calendar, today)
    tree = StationTree.load()
    months = trend_months(query.period)
    earliest = min(months[0].start, query.period.start)
    rows = KpiCaseSummary.select().where(
        KpiCaseSummary.counted,
        KpiCaseSummary.accepted_on >= earliest,
        KpiCaseSummary.accepted_on <= query.period.end,
    )
    summaries = [r.to_summary() for r in rows if tree.within(r.station, query.scope)]
    grouped = grouped_kpis(summaries, query.period, lambda c: tree.group_of(c.station, query.group))
    report_rows = [ReportRow(code, tree.name(code), kpis) for code, kpis in grouped.items() if kpis.accepted]
    trend = []
    for month in months:
        figures = compute_kpis(summaries, month)
        trend.append(TrendPoint(f"{month.start:%Y-%m}", figures.accepted, figures.completed))
    return Report(
        query=query,
        rows=report_rows,
        total=compute_kpis(summaries, query.period),
        trend=trend,
        lights=_lights(tree, query.scope),
        uncounted=KpiCaseSummary.select()
        .where(~KpiCaseSummary.counted, KpiCaseSummary.merged_into.is_null())
        .count(),
        as_of=today,
    )


def _lights(tree: StationTree, scope: str) -> list[LightsRow]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = (
        KpiCaseSummary.select(KpiCaseSummary.station, KpiCaseSummary.light)
        .where(KpiCaseSummary.clock_running, KpiCaseSummary.counted)
        .tuples()
    )
    for station, light in rows:
        if tree.within(station, scope):
            counts[station][light] += 1
    return [
        LightsRow(code, tree.name(code), {light.value: counts[code][light.value] for light in LIGHTS_SHOWN})
        for code in sorted(counts)
        if any(counts[code][light.value] for light in LIGHTS_SHOWN)
    ]


# ---- CSV -----------------------------------------------------------------------------------------------------

# (KpiReport field, display form): the CSV and the table show the same columns in this order.
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


def kpi_cells(kpis: KpiReport, empty: str = "—") -> list[str]:
    """The display text of each KPI_FIELDS column (``empty`` where a ratio has no denominator)."""
    from casework.kpi import decimal_text, percent_text

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


def report_csv(report: Report, headers: Sequence[str], total_label: str) -> bytes:
    """UTF-8 with a byte-order mark and CRLF lines, so Excel on a clerk's PC opens the Chinese text correctly.

    ``headers`` are the translated column titles: code, name, then one per KPI_FIELDS entry.
    """
    if len(headers) != 2 + len(KPI_FIELDS):
        raise ValueError("headers must name the code, the name and every KPI column")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in report.rows:
        writer.writerow([row.code, _safe_cell(row.name), *kpi_cells(row.kpis, "")])
    writer.writerow([report.query.scope, total_label, *kpi_cells(report.total, "")])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def export_report(
    query: ReportQuery, headers: Sequence[str], total_label: str, actor: str, ip: str = ""
) -> bytes:
    """The report as CSV; the export is recorded in the audit log (SPEC §3.12: every export)."""
    report = build_report(query)
    body = report_csv(report, headers, total_label)
    with write_transaction():
        record_audit(
            actor,
            "export",
            "reports",
            {
                "start": query.period.start.isoformat(),
                "end": query.period.end.isoformat(),
                "group": query.group,
                "scope": query.scope,
                "rows": len(report.rows),
            },
            ip,
        )
    return body


def _safe_cell(text: str) -> str:
    """Neutralise spreadsheet formulas in names (CSV injection): a leading = + - @ is shown as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
