"""The pure parts of central's reports: the station tree, month windows and the CSV's safety."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from casework.kpi import Period, compute_kpis
from casework.report import KPI_FIELDS
from central.services.reports import (
    Report,
    ReportQuery,
    ReportRow,
    StationNode,
    StationTree,
    report_csv,
    trend_months,
)

COUNTY, TOWNSHIP, VILLAGE = "990101000000", "990101101000", "990101101201"
TREE = StationTree(
    [
        StationNode(COUNTY, "示范县政务服务中心", "county", None),
        StationNode(TOWNSHIP, "示范镇便民服务中心", "township", COUNTY),
        StationNode(VILLAGE, "示范村便民服务站", "village", TOWNSHIP),
    ]
)


@pytest.mark.parametrize(
    ("code", "group", "expected"),
    [
        (VILLAGE, "station", VILLAGE),
        (VILLAGE, "township", TOWNSHIP),
        (VILLAGE, "county", COUNTY),
        (TOWNSHIP, "township", TOWNSHIP),
        (COUNTY, "county", COUNTY),
        # Not registered (yet): placed by its 统计用区划代码.
        ("990101102203", "township", "990101102000"),
        ("990101102203", "county", COUNTY),
        ("990102101201", "county", "990102000000"),
    ],
)
def test_stations_are_grouped_by_registry_parents_or_by_division_code(code, group, expected):
    assert TREE.group_of(code, group) == expected


def test_a_scope_holds_the_station_itself_and_everything_below_it():
    assert TREE.within(VILLAGE, "") and TREE.within(VILLAGE, VILLAGE)
    assert TREE.within(VILLAGE, TOWNSHIP) and TREE.within(VILLAGE, COUNTY)
    assert not TREE.within(TOWNSHIP, VILLAGE)
    assert not TREE.within("990102101201", COUNTY)


def test_a_parent_loop_in_the_registry_does_not_hang():
    looped = StationTree(
        [StationNode("1" * 12, "a", "village", "2" * 12), StationNode("2" * 12, "b", "village", "1" * 12)]
    )
    assert looped.group_of("1" * 12, "township") == "111111111000"


def test_trend_months_cross_the_year_boundary():
    months = trend_months(Period(dt.date(2026, 1, 10), dt.date(2026, 2, 14)), count=3)
    assert [(m.start, m.end) for m in months] == [
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ]


def test_csv_cells_that_look_like_formulas_are_kept_as_text():
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    empty = compute_kpis([], period)
    report = Report(
        query=ReportQuery(period),
        rows=[ReportRow(VILLAGE, '=HYPERLINK("http://x","点我")', empty)],
        total=empty,
        trend=[],
        lights=[],
        uncounted=0,
        as_of=period.end,
    )
    headers = ["代码", "名称", *[f"k{i}" for i in range(len(KPI_FIELDS))]]
    rows = list(csv.reader(io.StringIO(report_csv(report, headers, "合计").decode("utf-8-sig"))))
    assert rows[1][1] == '\'=HYPERLINK("http://x","点我")'
    assert rows[2][:3] == ["", "合计", "0"] and rows[2][3] == ""  # no denominator: an empty cell, not "—"
    with pytest.raises(ValueError):
        report_csv(report, headers[:-1], "合计")
