"""Reports and KPIs (报表与绩效指标) across every station, SPEC.md §3.10.

The figures are ``casework.kpi.compute_kpis`` over the per-case summaries that ``report_summaries`` keeps current
from the central log; nothing here re-derives a formula. This module picks the cohort (period, area), groups it
by station, township or county, adds the monthly trend and the current lights, and writes the CSV.

Grouping follows the registry's parent links (``stations``); a station the registry does not know is placed by
its 12-digit 统计用区划代码.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from casework.calendar import WorkingCalendar
from casework.catalog import Catalog
from casework.kpi import KpiReport, Period
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
    trend_months,
)
from printing.tabular import csv_bytes

from ..db import write_transaction
from ..models import KpiCaseSummary, Station
from .audit import record_audit
from .report_summaries import china_today, refresh_summaries

__all__ = [
    "GROUPS",
    "PERIOD_KINDS",
    "KpiCaseSummary",  # the table (central.models) the figures are read from
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
    rows = KpiCaseSummary.select().where(
        KpiCaseSummary.counted,
        KpiCaseSummary.accepted_on >= earliest_needed(query.period),
        KpiCaseSummary.accepted_on <= query.period.end,
    )
    summaries = [r.to_summary() for r in rows if tree.within(r.station, query.scope)]
    table = kpi_table(
        summaries, query.period, group_of=lambda code: tree.group_of(code, query.group), name_of=tree.name
    )
    open_lights = (
        KpiCaseSummary.select(KpiCaseSummary.station, KpiCaseSummary.light)
        .where(KpiCaseSummary.clock_running, KpiCaseSummary.counted)
        .tuples()
    )
    return Report(
        query=query,
        rows=table.rows,
        total=table.total,
        trend=table.trend,
        lights=lights_rows(
            ((station, light) for station, light in open_lights if tree.within(station, query.scope)),
            tree.name,
        ),
        uncounted=KpiCaseSummary.select()
        .where(~KpiCaseSummary.counted, KpiCaseSummary.merged_into.is_null())
        .count(),
        as_of=today,
    )


# ---- CSV -----------------------------------------------------------------------------------------------------


def report_csv(report: Report, headers: Sequence[str], total_label: str) -> bytes:
    """The table as CSV that Excel on a clerk's PC opens correctly (``printing.tabular``); the total line names
    the area it covers.

    ``headers`` are the translated column titles: code, name, then one per ``casework.report.KPI_FIELDS`` entry.
    """
    return csv_bytes(export_cells(report.rows, report.total, headers, total_label, report.query.scope))


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
