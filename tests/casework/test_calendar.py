"""DOMAIN.md §2.3: the working-day calendar as our data, every test vector, and the 'calendar missing' rule."""

from __future__ import annotations

import datetime as dt
import json

import chinese_calendar
import pytest

from casework.calendar import (
    CALENDAR_FORMAT,
    WorkingCalendar,
    add_calendar_days,
    default_calendar,
    load_year_calendar,
    shipped_year,
)
from casework.errors import CalendarFormatError, CalendarMissingError

D = dt.date
CAL = default_calendar()


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (D(2026, 9, 29), 20, D(2026, 11, 2)),
        (D(2026, 9, 29), 30, D(2026, 11, 16)),  # 20 + 10 extension
        (D(2026, 2, 13), 5, D(2026, 2, 27)),  # 2/14 Sat is a working day
        (D(2026, 4, 30), 5, D(2026, 5, 11)),  # §32 补正告知; 5/9 Sat is a working day
        (D(2026, 1, 2), 1, D(2026, 1, 4)),  # Sunday 调休 working day
        (D(2026, 6, 18), 3, D(2026, 6, 24)),
    ],
)
def test_domain_test_vectors(start, days, deadline):
    assert CAL.add_working_days(start, days) == deadline
    assert CAL.working_days_between(start, deadline) == days


def test_crossing_into_a_year_without_data_raises_instead_of_guessing():
    with pytest.raises(CalendarMissingError) as raised:
        CAL.add_working_days(D(2026, 12, 31), 1)
    assert raised.value.year == 2027
    assert "2027" in raised.value.text("zh") and "2027" in raised.value.text("en")


def test_checked_variant_returns_a_visible_warning_and_a_labelled_estimate():
    result = CAL.add_working_days_checked(D(2026, 12, 31), 1)
    assert result.date is None and result.calendar_missing
    assert result.warning.code == "calendar_missing"
    assert result.estimate == D(2027, 1, 1)  # the naive answer, shown only next to the warning
    ok = CAL.add_working_days_checked(D(2026, 9, 29), 20)
    assert ok.date == D(2026, 11, 2) and not ok.calendar_missing


def test_immediate_item_is_due_the_same_day():
    assert CAL.add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 3)


def test_2026_has_248_working_days():
    assert CAL.years[2026].working_day_count() == 248


@pytest.mark.parametrize("year", [2025, 2026])
def test_shipped_data_agrees_with_chinese_calendar_on_every_day(year):
    ours = shipped_year(year)
    day = D(year, 1, 1)
    while day.year == year:
        assert ours.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 1, 26), True),  # Sun 调休
        (D(2025, 2, 8), True),
        (D(2025, 4, 27), True),
        (D(2025, 9, 28), True),
        (D(2025, 10, 11), True),
        (D(2025, 1, 28), False),  # 春节 1/28–2/4
        (D(2025, 2, 4), False),
        (D(2025, 5, 5), False),
        (D(2025, 10, 8), False),
        (D(2026, 1, 4), True),
        (D(2026, 2, 28), True),
        (D(2026, 9, 20), True),
        (D(2026, 10, 10), True),
        (D(2026, 2, 23), False),
        (D(2026, 6, 19), False),
        (D(2026, 9, 25), False),
        (D(2026, 10, 7), False),
    ],
)
def test_domain_holiday_plans(day, working):
    assert CAL.is_working_day(day) is working


def test_working_days_between_is_signed_and_excludes_the_start():
    assert CAL.working_days_between(D(2026, 11, 23), D(2026, 11, 23)) == 0
    assert CAL.working_days_between(D(2026, 11, 20), D(2026, 11, 23)) == 1  # Fri → Mon
    assert CAL.working_days_between(D(2026, 11, 23), D(2026, 11, 20)) == -1
    assert CAL.next_working_day(D(2026, 10, 1)) == D(2026, 10, 8)
    assert add_calendar_days(D(2026, 11, 23), 7) == D(2026, 11, 30)


def _year_2027():
    return {
        "format": CALENDAR_FORMAT,
        "year": 2027,
        "source": "test data, not the real plan",
        "holidays": [{"date": "2027-01-01", "name": "元旦"}],
        "working_days": [{"date": "2027-01-09", "name": "test 调休"}],
    }


def test_importing_a_year_makes_its_dates_computable():
    calendar = CAL.with_year(load_year_calendar(json.dumps(_year_2027())))
    assert calendar.add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert calendar.is_working_day(D(2027, 1, 9))
    assert 2027 not in CAL.years  # importing returns a new calendar
    roundtrip = load_year_calendar(calendar.years[2027].to_json())
    assert roundtrip.holidays == calendar.years[2027].holidays


def test_an_empty_calendar_knows_no_day():
    with pytest.raises(CalendarMissingError):
        WorkingCalendar().is_working_day(D(2026, 1, 5))


@pytest.mark.parametrize(
    ("mutate", "path", "code"),
    [
        (
            lambda d: d["working_days"].append({"date": "2027-01-05", "name": "x"}),
            "$.working_days[1].date",
            "working_day_not_weekend",
        ),
        (
            lambda d: d["holidays"].append({"date": "2028-01-01", "name": "x"}),
            "$.holidays[1].date",
            "date_outside_year",
        ),
        (
            lambda d: d["holidays"].append({"date": "2027-01-01", "name": "x"}),
            "$.holidays[1].date",
            "duplicate_date",
        ),
        (
            lambda d: d["holidays"].append({"date": "2027-02-30", "name": "x"}),
            "$.holidays[1].date",
            "not_a_date",
        ),
        (
            lambda d: d["holidays"].append({"date": "2027-01-09", "name": "x"}),
            "$.working_days[0].date",
            "day_both_holiday_and_working",
        ),
        (lambda d: d.update(year=2027.0), "$.year", "decimal_not_allowed"),
        (lambda d: d.update(format="other/1"), "$.format", "unsupported_format"),
        (lambda d: d.update(holidays=[]), "$.holidays", "no_holidays"),
        (lambda d: d.pop("working_days"), "$.working_days", "missing_field"),
    ],
)
def test_calendar_file_validation_names_the_field(mutate, path, code):
    doc = _year_2027()
    mutate(doc)
    with pytest.raises(CalendarFormatError) as raised:
        load_year_calendar(json.dumps(doc, indent=1))
    assert any(p.path == path and p.message.code == code for p in raised.value.problems), (
        raised.value.problems
    )
    assert all(p.line is not None for p in raised.value.problems)


def test_local_overrides_add_an_ethnic_holiday():
    base = shipped_year(2026)
    local = load_year_calendar(
        {
            "format": CALENDAR_FORMAT,
            "year": 2026,
            "scope": "local:990101",
            "holidays": [{"date": "2026-03-02", "name": "民族节日"}],
            "working_days": [],
        }
    )
    merged = base.with_local_overrides(local)
    assert not merged.is_working_day(D(2026, 3, 2))
    assert base.is_working_day(D(2026, 3, 2))
    assert merged.working_day_count() == 247
