"""Reference data the window works from: the catalog (事项目录) and the working-day calendar.

Until central sends a catalog or calendar in a downstream bundle, the station works from the demo catalog and the
calendar years shipped with ``casework``; a catalog applied from a bundle is kept in ``node_state``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from casework.calendar import WorkingCalendar, default_calendar, load_year_calendar
from casework.catalog import Catalog, demo_catalog, load_catalog

from ..db import database

CATALOG_KEY = "catalog_document"
CALENDAR_YEARS_KEY = "calendar_years"
CHINA = dt.timezone(dt.timedelta(hours=8))


def today() -> dt.date:
    """The station's working day: the date in China (UTC+8), whatever the PC's time zone."""
    return dt.datetime.now(CHINA).date()


def _stored_text(key: str) -> str | None:
    """The stored JSON text of a node_state value, unparsed: the parsed catalog and calendar are cached by it, so a
    request that asks for them several times neither re-reads JSON nor rebuilds them."""
    row = database.execute_sql("SELECT value FROM node_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


@functools.lru_cache(maxsize=8)
def _parse_catalog(document: str) -> Catalog:
    return load_catalog(document)


def current_catalog() -> Catalog:
    document = _stored_text(CATALOG_KEY)  # NodeState.write's canonical text (sorted keys)
    if document is None:
        return demo_catalog()
    return _parse_catalog(document)


def calendar_years(document: object) -> list[Any]:
    """The year documents in a calendar part: one ``yiciban.calendar/1`` year or a ``yiciban.calendars/1`` list."""
    if isinstance(document, dict) and isinstance(document.get("years"), list):
        return list(document["years"])
    if isinstance(document, list):
        return list(document)
    return [document]


def current_calendar() -> WorkingCalendar:
    """The shipped years, overlaid by the years central published (validated when the bundle was applied)."""
    return _calendar_of(_stored_text(CALENDAR_YEARS_KEY))


@functools.lru_cache(maxsize=8)
def _calendar_of(stored_years: str | None) -> WorkingCalendar:
    calendar = default_calendar()  # immutable, like every calendar built from it
    for stored in json.loads(stored_years) if stored_years is not None else []:
        for year in calendar_years(stored):
            calendar = calendar.with_year(_parse_year(json.dumps(year, ensure_ascii=False, sort_keys=True)))
    return calendar


@functools.lru_cache(maxsize=32)
def _parse_year(document: str):
    return load_year_calendar(document)


def working_days_after(start: dt.date, days: int) -> dt.date:
    """The n-th working day after ``start``; where the calendar year is missing, the Monday–Friday estimate (the
    case page shows the "calendar missing" warning from the clock, so the estimate is never silent)."""
    result = current_calendar().add_working_days_checked(start, days)
    date = result.date or result.estimate
    assert date is not None
    return date
