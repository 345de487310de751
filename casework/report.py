"""Reports (报表) over the KPIs of :mod:`casework.kpi`, shared by the station's own report and central's.

The period a report form names, the monthly trend before it, the table of figures per group (station, township,
county) with its total, the open cases' lights per station, and the text of each cell as the page and the CSV
show it. The nodes pick the cases and the grouping; the rules of the table live here once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from casework.kpi import (
    CaseSummary,
    KpiReport,
    Period,
    compute_kpis,
    decimal_text,
    grouped_kpis,
    percent_text,
)

PERIOD_KINDS = ("month", "quarter", "year", "custom")
TREND_MONTHS = 12
LIGHTS_SHOWN = ("green", "yellow", "red", "grey")  # casework.deadlines.Light values, in the charts' order

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
    ("agent_trips", "count"),
    ("average_village_hold_days", "decimal"),
    ("average_transit_days", "decimal"),
)


# ---- periods -------------------------------------------------------------------------------------------------


def month_period(year: int, month: int) -> Period:
    """The calendar month, first to last day."""
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


def earliest_needed(period: Period, count: int = TREND_MONTHS) -> dt.date:
    """The first acceptance date a report of ``period`` looks at: its own start or its trend's, if earlier."""
    return min(trend_months(period, count)[0].start, period.start)


# ---- the table -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One group's figures: a station, or the township or county the stations below it add up to."""

    code: str
    name: str
    kpis: KpiReport


@dataclass(frozen=True)
class TrendPoint:
    month: str  # YYYY-MM
    accepted: int
    completed: int


@dataclass(frozen=True)
class LightsRow:
    """How many open cases of one station show each light (红黄绿灯)."""

    code: str
    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class KpiTable:
    rows: list[ReportRow]  # groups that accepted at least one case in the period, by code
    total: KpiReport
    trend: list[TrendPoint]


def kpi_table(
    summaries: Sequence[CaseSummary],
    period: Period,
    *,
    group_of: Callable[[str], str] = str,
    name_of: Callable[[str], str] = str,
    trend_count: int = TREND_MONTHS,
) -> KpiTable:
    """The figures for ``period`` per group (``group_of`` maps a summary's station to its group's code), the
    total, and accepted / completed in each of the ``trend_count`` months ending with the period.

    ``summaries`` must hold every case accepted from :func:`earliest_needed` to the period's end.
    """
    grouped = grouped_kpis(summaries, period, lambda c: group_of(c.station))
    trend = []
    for month in trend_months(period, trend_count):
        figures = compute_kpis(summaries, month)
        trend.append(TrendPoint(f"{month.start:%Y-%m}", figures.accepted, figures.completed))
    return KpiTable(
        rows=[ReportRow(code, name_of(code), kpis) for code, kpis in grouped.items() if kpis.accepted],
        total=compute_kpis(summaries, period),
        trend=trend,
    )


def lights_rows(
    station_lights: Iterable[tuple[str, str]], name_of: Callable[[str], str] = str
) -> list[LightsRow]:
    """Open cases counted per station and light from (station code, light) pairs, one per case; stations with
    no light of :data:`LIGHTS_SHOWN` are left out."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for station, light in station_lights:
        counts[station][light] += 1
    return [
        LightsRow(code, name_of(code), {light: counts[code][light] for light in LIGHTS_SHOWN})
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


def export_cells(
    rows: Sequence[ReportRow],
    total: KpiReport,
    headers: Sequence[str],
    total_label: str,
    total_code: str = "",
) -> list[list[str]]:
    """The spreadsheet form of the table: ``headers`` (code, name, then one per KPI_FIELDS entry), a line per
    row, and the total line (``total_code`` names the area it covers). A ratio without denominator is empty."""
    if len(headers) != 2 + len(KPI_FIELDS):
        raise ValueError("headers must name the code, the name and every KPI column")
    return [
        list(headers),
        *([row.code, row.name, *kpi_cells(row.kpis, "")] for row in rows),
        [total_code, total_label, *kpi_cells(total, "")],
    ]
