"""The working-day calendar (工作日历): holidays and 调休 working days per year, as OUR data.

A working day is (Monday–Friday and not a holiday) or an announced 调休 working day (DOMAIN.md §2.3). Each year
is a JSON file (format ``yiciban.calendar/1``) that central publishes after the State Council's yearly plan; 2025
and 2026 ship in ``casework/data/``. A date in a year without data raises :class:`CalendarMissingError` — the
calendar never silently guesses Monday–Friday. Periods are counted like 民法典 §201: the starting day is not
counted, so "N working days from D" is the N-th working day after D.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from casework.errors import CalendarFormatError, CalendarMissingError, FormatProblem, Message, message
from casework.fileformat import Reader, load_and_read

CALENDAR_FORMAT = "yiciban.calendar/1"
SHIPPED_YEARS = (2025, 2026)
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class YearCalendar:
    """One year's 放假调休 plan: holidays (all days of each holiday period) and weekend days worked (调休上班)."""

    year: int
    holidays: Mapping[dt.date, str]
    working_days: Mapping[dt.date, str]
    scope: str = "national"
    source: str = ""

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_day_count(self) -> int:
        day, count = dt.date(self.year, 1, 1), 0
        while day.year == self.year:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return count

    def with_local_overrides(self, local: YearCalendar) -> YearCalendar:
        """This national year with a local file's extra holidays/working days on top (e.g. ethnic holidays)."""
        holidays = {d: n for d, n in self.holidays.items() if d not in local.working_days}
        holidays.update(local.holidays)
        working = {d: n for d, n in self.working_days.items() if d not in local.holidays}
        working.update(local.working_days)
        return YearCalendar(
            self.year,
            MappingProxyType(holidays),
            MappingProxyType(working),
            f"{self.scope}+{local.scope}",
            self.source,
        )

    def to_json(self) -> dict[str, Any]:
        """The file form (canonical-friendly: strings and integers only)."""
        return {
            "format": CALENDAR_FORMAT,
            "year": self.year,
            "scope": self.scope,
            "source": self.source,
            "holidays": [{"date": d.isoformat(), "name": n} for d, n in sorted(self.holidays.items())],
            "working_days": [
                {"date": d.isoformat(), "name": n} for d, n in sorted(self.working_days.items())
            ],
        }


@dataclass(frozen=True)
class DeadlineResult:
    """The answer of a non-raising deadline computation: a date, or a visible warning and a labelled estimate."""

    date: dt.date | None
    warning: Message | None = None
    estimate: dt.date | None = None  # Monday–Friday guess, only to show next to the warning

    @property
    def calendar_missing(self) -> bool:
        return self.warning is not None


@dataclass(frozen=True)
class WorkingCalendar:
    """The years a node has imported; every question about a day outside them raises CalendarMissingError."""

    years: Mapping[int, YearCalendar] = field(default_factory=dict)

    def with_year(self, year: YearCalendar) -> WorkingCalendar:
        """A calendar with ``year`` imported (replacing an older copy of the same year)."""
        return WorkingCalendar(MappingProxyType({**self.years, year.year: year}))

    def covers(self, day: dt.date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: dt.date) -> bool:
        """Raises CalendarMissingError when ``day`` is in a year with no data."""
        year = self.years.get(day.year)
        if year is None:
            raise CalendarMissingError(day.year)
        return year.is_working_day(day)

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after ``start`` (the start day is not counted); n = 0 is ``start`` itself (即办件).

        Raises:
            CalendarMissingError: the count runs into a year with no imported calendar.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        day = start
        while n > 0:
            day += _ONE_DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def add_working_days_checked(self, start: dt.date, n: int) -> DeadlineResult:
        """Like :meth:`add_working_days` but never raises for a missing year: returns a warning instead."""
        try:
            return DeadlineResult(self.add_working_days(start, n))
        except CalendarMissingError as missing:
            return DeadlineResult(None, missing.message, _weekday_guess(start, n))

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; negative when ``end`` is before ``start``.

        Raises:
            CalendarMissingError: a day in between has no calendar.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count, day = 0, start
        while day < end:
            day += _ONE_DAY
            count += self.is_working_day(day)
        return count

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day on or after ``day``."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def working_days_in(self, days: Iterable[dt.date]) -> int:
        return sum(self.is_working_day(d) for d in days)


def _weekday_guess(start: dt.date, n: int) -> dt.date:
    day = start
    while n > 0:
        day += _ONE_DAY
        if day.weekday() < 5:
            n -= 1
    return day


def add_calendar_days(start: dt.date, n: int) -> dt.date:
    """Natural days (e.g. a 7-day 公示): the n-th day after ``start``."""
    return start + dt.timedelta(days=n)


def load_year_calendar(source: str | bytes | dict[str, Any]) -> YearCalendar:
    """Parse and validate one year's calendar file.

    Raises:
        CalendarFormatError: every problem with its path and line.
    """
    year_calendar, r = load_and_read(source, CalendarFormatError, _read_year)
    if r.problems or year_calendar is None:
        raise CalendarFormatError(
            r.problems or [FormatProblem("$", message("empty", "空文件", "Empty file"))]
        )
    return year_calendar


def _read_year(top: dict[str, Any], r: Reader) -> YearCalendar | None:
    r.unknown_keys(top, "$", {"format", "year", "scope", "source", "holidays", "working_days"})
    fmt = r.string(top, "format", "$")
    if fmt is not None and fmt != CALENDAR_FORMAT:
        r.problem(
            "$.format",
            top,
            message("unsupported_format", "不支持的格式 {found}", "Unsupported format {found}", found=fmt),
        )
    year = r.integer(top, "year", "$", minimum=2000, maximum=2100)
    scope = r.string(top, "scope", "$", required=False) or "national"
    source_text = r.string(top, "source", "$", required=False, allow_empty=True) or ""
    holidays = _read_days(top, "holidays", r, year)
    working = _read_days(top, "working_days", r, year)
    for index, day in enumerate(working):
        if day.weekday() < 5:
            r.problem(
                f"$.working_days[{index}].date",
                top,
                message(
                    "working_day_not_weekend",
                    "{date} 本来就是工作日，调休上班日应为周六或周日",
                    "{date} is a weekday already; a 调休 working day is a Saturday or Sunday",
                    date=day.isoformat(),
                ),
            )
        if day in holidays:
            r.problem(
                f"$.working_days[{index}].date",
                top,
                message(
                    "day_both_holiday_and_working",
                    "{date} 同时被列为假日和上班日",
                    "{date} is listed both as a holiday and as a working day",
                    date=day.isoformat(),
                ),
            )
    if scope == "national" and not holidays:
        r.problem(
            "$.holidays",
            top,
            message("no_holidays", "全国日历必须列出假日", "A national calendar lists holidays"),
        )
    if year is None:
        return None
    return YearCalendar(year, MappingProxyType(holidays), MappingProxyType(working), scope, source_text)


def _read_days(top: dict[str, Any], key: str, r: Reader, year: int | None) -> dict[dt.date, str]:
    days: dict[dt.date, str] = {}
    for index, raw in enumerate(r.array(top, key, "$")):
        path = f"$.{key}[{index}]"
        entry = r.obj(raw, path, top)
        if entry is None:
            continue
        r.unknown_keys(entry, path, {"date", "name"})
        day = r.date(entry, "date", path)
        name = r.string(entry, "name", path)
        if day is None or name is None:
            continue
        if year is not None and day.year != year:
            r.problem(
                f"{path}.date",
                entry,
                message(
                    "date_outside_year",
                    "{date} 不在 {year} 年内",
                    "{date} is not in {year}",
                    date=day,
                    year=year,
                ),
            )
        elif day in days:
            r.problem(
                f"{path}.date", entry, message("duplicate_date", "日期重复", "The date is listed twice")
            )
        else:
            days[day] = name
    return days


def shipped_year(year: int) -> YearCalendar:
    """A year shipped with casework (2025, 2026)."""
    if year not in SHIPPED_YEARS:
        raise CalendarMissingError(year)
    return load_year_calendar(resources.files("casework").joinpath(f"data/calendar_{year}.json").read_bytes())


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """Every shipped year (immutable, loaded once); nodes add the years central publishes with
    :meth:`WorkingCalendar.with_year`."""
    calendar = WorkingCalendar()
    for year in SHIPPED_YEARS:
        calendar = calendar.with_year(shipped_year(year))
    return calendar
