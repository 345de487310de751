"""Working-day calendars for the years around today that casework does not ship, imported the way an operator
imports a year (``yiciban-central publish --calendar``; a station applies the calendar part of its bundle), so a
test that works from today's date does not break when today's deadlines cross the last shipped year.

The stand-in year is not the State Council's plan (unknown before it is published): Monday–Friday, with the
fixed-date national holidays (元旦 1/1, 劳动节 5/1–5/2, 国庆 10/1–10/3). What these tests need is that the year is
imported; the tests of the real plans and of a missing year (DOMAIN.md §2.3) use fixed dates, not today.
"""

from __future__ import annotations

import datetime as dt
import json

from casework.calendar import (
    CALENDAR_FORMAT,
    SHIPPED_YEARS,
    WorkingCalendar,
    default_calendar,
    load_year_calendar,
)

CHINA = dt.timezone(dt.timedelta(hours=8))
_FIXED_HOLIDAYS = (
    ((1, 1), "元旦"),
    ((5, 1), "劳动节"),
    ((5, 2), "劳动节"),
    ((10, 1), "国庆节"),
    ((10, 2), "国庆节"),
    ((10, 3), "国庆节"),
)


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def stand_in_year(year: int) -> bytes:
    """A ``yiciban.calendar/1`` file for ``year`` (see the module's docstring)."""
    document = {
        "format": CALENDAR_FORMAT,
        "year": year,
        "scope": "national",
        "source": f"test stand-in for the {year} plan (weekends and fixed-date holidays)",
        "holidays": [
            {"date": dt.date(year, m, d).isoformat(), "name": name} for (m, d), name in _FIXED_HOLIDAYS
        ],
        "working_days": [],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


def missing_years(today: dt.date | None = None) -> list[int]:
    """Last year, this year and next year, less the years casework ships."""
    year = (today or today_in_china()).year
    return [y for y in (year - 1, year, year + 1) if y not in SHIPPED_YEARS]


def calendar_with_stand_ins(today: dt.date | None = None) -> WorkingCalendar:
    """The shipped years plus the stand-ins: the calendar a node holds after ``publish_at_central`` /
    ``import_at_station``, for a test's own date arithmetic."""
    calendar = default_calendar()
    for year in missing_years(today):
        calendar = calendar.with_year(load_year_calendar(stand_in_year(year)))
    return calendar


def publish_at_central(central_app) -> list[int]:
    """Publish the missing years at central (as ``yiciban-central publish --calendar``); stations get them in their
    next bundle. Returns the years published."""
    from central.services.publications import publish_calendar

    years = missing_years()
    with central_app.app_context():
        for year in years:
            publish_calendar(stand_in_year(year), "admin")
    return years


def import_at_station(station_app) -> list[int]:
    """Apply the missing years at a station through the downstream calendar part, as its bundle would."""
    from station import db as station_db
    from station.db import write_transaction
    from station.services.downstream import _apply_part

    years = missing_years()
    if years:
        document = {"format": "yiciban.calendars/1", "years": [json.loads(stand_in_year(y)) for y in years]}
        with station_db.bound(station_app.extensions["station"].database), write_transaction():
            assert _apply_part("calendar", json.dumps(document, ensure_ascii=False).encode("utf-8"))
    return years
