"""casework.report: the periods a report form names, the table per group with its trend, lights and cells."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.kpi import CaseSummary, Period, compute_kpis
from casework.report import (
    KPI_FIELDS,
    earliest_needed,
    export_cells,
    kpi_cells,
    kpi_table,
    lights_rows,
    month_period,
    parse_period,
    trend_months,
)

D = dt.date
MARCH = Period(D(2026, 3, 1), D(2026, 3, 31))


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "expected"),
    [
        ("month", "2026-02", "", "", (D(2026, 2, 1), D(2026, 2, 28))),
        ("month", "2024-02", "", "", (D(2024, 2, 1), D(2024, 2, 29))),  # leap year
        ("month", " 2024-12 ", "", "", (D(2024, 12, 1), D(2024, 12, 31))),
        ("quarter", "2026-Q1", "", "", (D(2026, 1, 1), D(2026, 3, 31))),
        ("quarter", "2026-q4", "", "", (D(2026, 10, 1), D(2026, 12, 31))),
        ("year", "2025", "", "", (D(2025, 1, 1), D(2025, 12, 31))),
        ("custom", "", "2026-03-05", "2026-03-05", (D(2026, 3, 5), D(2026, 3, 5))),
        ("custom", "ignored", " 2026-03-01", "2026-04-15 ", (D(2026, 3, 1), D(2026, 4, 15))),
        ("month", "2026-13", "", "", None),
        ("month", "2026-00", "", "", None),
        ("month", "2026", "", "", None),
        ("quarter", "2026-Q0", "", "", None),
        ("quarter", "2026-Q5", "", "", None),
        ("quarter", "2026-03", "", "", None),
        ("year", "二〇二六", "", "", None),
        ("custom", "", "2026-03-06", "2026-03-05", None),
        ("custom", "", "2026-03-05", "", None),
        ("week", "2026-10", "", "", None),
    ],
)
def test_periods_are_read_from_what_a_form_sends(kind, value, start, end, expected):
    period = parse_period(kind, value, start, end)
    assert (None if period is None else (period.start, period.end)) == expected


def test_month_period_of_december_ends_on_new_years_eve():
    assert month_period(2026, 12) == Period(D(2026, 12, 1), D(2026, 12, 31))


def test_the_trend_crosses_the_year_and_decides_how_far_back_cases_are_needed():
    months = trend_months(Period(D(2026, 1, 10), D(2026, 2, 14)), count=3)
    assert [(m.start, m.end) for m in months] == [
        (D(2025, 12, 1), D(2025, 12, 31)),
        (D(2026, 1, 1), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 28)),
    ]
    assert earliest_needed(MARCH) == D(2025, 4, 1)
    assert earliest_needed(Period(D(2024, 1, 1), D(2026, 3, 31))) == D(2024, 1, 1)  # longer than the trend


def case(station: str, accepted: dt.date, completed: dt.date | None = None) -> CaseSummary:
    return CaseSummary(
        "GG00302000", accepted, completed, accepted + dt.timedelta(days=10), 10, station=station
    )


SUMMARIES = [
    case("990101101201", D(2026, 3, 2), D(2026, 3, 4)),
    case("990101101202", D(2026, 3, 3)),
    case("990101101000", D(2026, 3, 9), D(2026, 3, 10)),
    case("990101102201", D(2026, 2, 20), D(2026, 2, 21)),  # February: only in the trend
]


def test_the_table_groups_stations_names_them_and_leaves_out_groups_with_nothing_accepted():
    township_of = {"990101101201": "990101101000", "990101101202": "990101101000"}
    names = {"990101101000": "示范镇"}
    table = kpi_table(
        SUMMARIES, MARCH, group_of=lambda code: township_of.get(code, code), name_of=lambda c: names.get(c, c)
    )
    assert [(r.code, r.name, r.kpis.accepted, r.kpis.completed) for r in table.rows] == [
        ("990101101000", "示范镇", 3, 2)
    ]  # 990101102201 accepted nothing in March
    assert table.total == compute_kpis(SUMMARIES, MARCH)
    assert len(table.trend) == 12 and table.trend[-1].month == "2026-03"
    assert [(p.month, p.accepted, p.completed) for p in table.trend if p.accepted] == [
        ("2026-02", 1, 1),
        ("2026-03", 3, 2),
    ]
    by_station = kpi_table(SUMMARIES, MARCH, trend_count=2)
    assert [r.code for r in by_station.rows] == ["990101101000", "990101101201", "990101101202"]
    assert [p.month for p in by_station.trend] == ["2026-02", "2026-03"]


def test_lights_are_counted_per_station_and_stations_without_a_shown_light_are_left_out():
    pairs = [("B", "red"), ("A", "green"), ("B", "red"), ("B", "yellow"), ("C", "none"), ("A", "grey")]
    rows = lights_rows(pairs, name_of=str.lower)
    assert [(r.code, r.name, r.counts) for r in rows] == [
        ("A", "a", {"green": 1, "yellow": 0, "red": 0, "grey": 1}),
        ("B", "b", {"green": 0, "yellow": 1, "red": 2, "grey": 0}),
    ]


def test_cells_show_counts_percentages_and_averages_and_a_missing_ratio_as_told():
    empty = compute_kpis([], MARCH)
    assert kpi_cells(empty) == [
        "0",
        "—",
        "—",
        "0",
        "—",
        "0",
        "0",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "—",
        "0",
        "—",
        "—",
    ]
    figures = compute_kpis(SUMMARIES, MARCH)
    cells = dict(zip((name for name, _ in KPI_FIELDS), kpi_cells(figures, ""), strict=True))
    assert (cells["accepted"], cells["completion_rate"], cells["average_steps"]) == ("3", "66.67%", "0.00")
    assert cells["time_limit_compression"] == ""  # no legal limit: no denominator


def test_export_cells_are_header_rows_and_a_total_naming_its_area():
    table = kpi_table(SUMMARIES, MARCH)
    headers = ["代码", "名称", *(name for name, _ in KPI_FIELDS)]
    lines = export_cells(table.rows, table.total, headers, "合计", "990101000000")
    assert lines[0] == headers and len(lines) == 1 + len(table.rows) + 1
    assert lines[1][:3] == ["990101101000", "990101101000", "1"]
    assert lines[-1][:4] == ["990101000000", "合计", "3", "66.67%"]
    with pytest.raises(ValueError):
        export_cells(table.rows, table.total, headers[:-1], "合计")


def test_a_duplicate_merged_into_another_case_has_no_kpi_summary():
    from casework.calendar import default_calendar
    from casework.catalog import demo_catalog
    from casework.deadlines import compute_clock
    from casework.events import CaseEvent, fold
    from casework.kpi import summarize

    item = demo_catalog().item("GG00302000")
    received = CaseEvent(
        "received",
        {"to": "received", "case_no": "N-1", "item_code": item.code, "item_version": 1, "applicant_id": "ap",
         "station": "T01", "received_on": "2026-03-02", "channel": "window", "materials": []},
    )  # fmt: skip
    accepted = CaseEvent("accepted", {"from": "received", "to": "accepted", "accepted_on": "2026-03-02"})
    merged = CaseEvent("duplicate_merged", {"into_case": "other", "reason": "同一申请录入两次"})
    calendar, on = default_calendar(), D(2026, 3, 31)
    kept = fold([received, accepted], strict=True)
    duplicate = fold([received, accepted, merged], strict=True)
    clock = compute_clock(calendar, kept.clock_inputs(item.promised_limit_days), on)
    assert summarize(kept, item, clock) is not None
    assert summarize(duplicate, item, clock) is None
