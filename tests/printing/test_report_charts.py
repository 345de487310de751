"""printing.report_charts: the report page's charts from plain rows, in the caller's words."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from printing.report_charts import BAR_GROUPS, CHART_ROWS, ReportChartText, report_charts

TEXT = ReportChartText(
    trend_title="每月受理与办结",
    accepted="受理",
    completed_of_accepted="办结（其中）",
    completed="办结",
    no_data="暂无数据",
    lights_title="各站在办件亮灯情况",
    lights_title_worst="红灯、黄灯最多的站点",
    light_names={"green": "绿灯", "yellow": "黄灯", "red": "红灯", "grey": "灰灯"},
    no_running_clock="没有在办件",
    groups_title="本时段受理与办结",
    route_title="代办各段用时（工作日）",
    village_hold="村站滞留",
    transit="每段在途",
)


@dataclass(frozen=True)
class Point:
    month: str
    accepted: int
    completed: int


@dataclass(frozen=True)
class Lights:
    code: str
    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Figures:
    accepted: int
    completed: int
    average_village_hold_days: Fraction | None = None
    average_transit_days: Fraction | None = None


@dataclass(frozen=True)
class Group:
    name: str
    kpis: Figures


def lights(code: str, red: int, yellow: int = 0) -> Lights:
    return Lights(code, f"站{code}", {"green": 1, "yellow": yellow, "red": red, "grey": 0})


def test_trend_and_lights_are_drawn_and_one_group_gets_no_bar_chart():
    charts = report_charts(
        [Point("2026-02", 1, 0), Point("2026-03", 4, 3)],
        [lights("A", 1)],
        [Group("示范镇", Figures(4, 3))],
        TEXT,
    )
    assert set(charts) == {"trend", "lights"}
    assert "每月受理与办结" in charts["trend"] and "2026-03" in charts["trend"]
    assert (
        "各站在办件亮灯情况" in charts["lights"] and "红灯" in charts["lights"] and "站A" in charts["lights"]
    )


def test_nothing_to_draw_says_so_in_the_callers_words():
    charts = report_charts([], [], [], TEXT)
    assert "暂无数据" in charts["trend"] and "没有在办件" in charts["lights"]


def test_only_the_worst_stations_are_drawn_when_there_are_too_many():
    many = [lights(f"{n:03d}", red=n % 7, yellow=n % 3) for n in range(CHART_ROWS + 5)]
    drawn = report_charts([], many, [], TEXT)["lights"]
    assert "红灯、黄灯最多的站点" in drawn
    worst_first = sorted(many, key=lambda r: (-r.counts["red"], -r.counts["yellow"], r.code))
    assert all(row.name in drawn for row in worst_first[:CHART_ROWS])
    assert not any(row.name in drawn for row in worst_first[CHART_ROWS:])


def test_groups_get_a_bar_chart_from_two_up_to_the_limit():
    def groups(count: int) -> list[Group]:
        return [Group(f"镇{n}", Figures(n + 1, n)) for n in range(count)]

    assert "本时段受理与办结" in report_charts([], [], groups(2), TEXT)["groups"]
    assert "groups" in report_charts([], [], groups(BAR_GROUPS), TEXT)
    assert "groups" not in report_charts([], [], groups(BAR_GROUPS + 1), TEXT)


def test_route_times_get_a_bar_chart_when_a_group_has_proxy_hops():
    plain = [Group("示范镇", Figures(4, 3))]
    assert "route" not in report_charts([], [], plain, TEXT), "no 代办 case: no route chart"
    routed = [
        Group("示范村", Figures(3, 1, Fraction(7, 3), Fraction(5, 3))),
        Group("示范镇", Figures(4, 3)),
    ]
    chart = report_charts([], [], routed, TEXT)["route"]
    assert "代办各段用时（工作日）" in chart and "村站滞留" in chart and "每段在途" in chart
    assert "示范村" in chart and "示范镇" in chart
    one = report_charts([], [], routed[:1], TEXT)
    assert "route" in one and "groups" not in one, "a single station's own report still shows its hop times"
    many = [Group(f"镇{n}", Figures(1, 0, Fraction(1), None)) for n in range(BAR_GROUPS + 1)]
    assert "route" not in report_charts([], [], many, TEXT)
