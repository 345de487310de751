"""The charts of a KPI report page (报表图表), as the station's own report and central's both show them.

Plain data in, SVG text out (:mod:`printing.charts` escapes every label). The report's parts are read by their
attributes — the ``*Like`` protocols name what is read, which ``casework.report`` rows have — and every word on
a chart comes from the caller's :class:`ReportChartText`, so each node keeps its own translations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from .charts import LIGHT_COLOURS, Series, bar_chart, line_chart, stacked_bar_chart

CHART_ROWS = 30  # a taller lights chart no longer fits a screen; the worst stations come first
BAR_GROUPS = 12  # more bars than this would not leave room for their names
LIGHTS_DRAWN = ("green", "yellow", "red", "grey")


class TrendPointLike(Protocol):
    @property
    def month(self) -> str: ...
    @property
    def accepted(self) -> int: ...
    @property
    def completed(self) -> int: ...


class LightsRowLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def counts(self) -> Mapping[str, int]: ...


class FiguresLike(Protocol):
    @property
    def accepted(self) -> int: ...
    @property
    def completed(self) -> int: ...
    @property
    def average_village_hold_days(self) -> Fraction | None: ...
    @property
    def average_transit_days(self) -> Fraction | None: ...


class GroupRowLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def kpis(self) -> FiguresLike: ...


@dataclass(frozen=True)
class ReportChartText:
    """Every word the report charts show, already in the reader's language."""

    trend_title: str
    accepted: str
    completed_of_accepted: str
    completed: str
    no_data: str
    lights_title: str
    lights_title_worst: str  # used when only the CHART_ROWS worst stations are drawn
    light_names: Mapping[str, str]  # green, yellow, red, grey
    no_running_clock: str
    groups_title: str
    route_title: str  # the 代办 route's times per group
    village_hold: str  # average working days held at the village
    transit: str  # average working days per carried leg


def report_charts(
    trend: Sequence[TrendPointLike],
    lights: Sequence[LightsRowLike],
    groups: Sequence[GroupRowLike],
    text: ReportChartText,
) -> dict[str, str]:
    """``trend``: accepted and completed by month; ``lights``: open cases by light for the stations with the
    most red, then yellow lights; ``groups`` (only for 2 to BAR_GROUPS rows): accepted and completed per group;
    ``route`` (for 1 to BAR_GROUPS rows, when a group has 代办 hop times): average working days a folder was held
    at the village and spent per carried leg, per group."""
    charts = {
        "trend": line_chart(
            text.trend_title,
            [point.month for point in trend],
            [
                Series(text.accepted, tuple(point.accepted for point in trend)),
                Series(text.completed_of_accepted, tuple(point.completed for point in trend)),
            ],
            empty_text=text.no_data,
        )
    }
    worst = sorted(lights, key=lambda r: (-r.counts["red"], -r.counts["yellow"], r.code))[:CHART_ROWS]
    charts["lights"] = stacked_bar_chart(
        text.lights_title_worst if len(lights) > CHART_ROWS else text.lights_title,
        [row.name for row in worst],
        [
            Series(text.light_names[light], tuple(row.counts[light] for row in worst), LIGHT_COLOURS[light])
            for light in LIGHTS_DRAWN
        ],
        empty_text=text.no_running_clock,
    )
    if 1 < len(groups) <= BAR_GROUPS:
        charts["groups"] = bar_chart(
            text.groups_title,
            [row.name for row in groups],
            [
                Series(text.accepted, tuple(row.kpis.accepted for row in groups)),
                Series(text.completed, tuple(row.kpis.completed for row in groups)),
            ],
        )
    routed = [
        row
        for row in groups
        if row.kpis.average_village_hold_days is not None or row.kpis.average_transit_days is not None
    ]
    if routed and len(groups) <= BAR_GROUPS:
        charts["route"] = bar_chart(
            text.route_title,
            [row.name for row in groups],
            [
                Series(text.village_hold, tuple(row.kpis.average_village_hold_days or 0 for row in groups)),
                Series(text.transit, tuple(row.kpis.average_transit_days or 0 for row in groups)),
            ],
            empty_text=text.no_data,
        )
    return charts
