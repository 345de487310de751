"""Reference data the window works from: the catalog (事项目录) and the working-day calendar.

Until central sends a catalog or calendar in a downstream bundle, the station works from the demo catalog and the
calendar years shipped with ``casework``; a catalog applied from a bundle is kept in ``node_state``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from casework.calendar import WorkingCalendar, default_calendar, load_year_calendar
from casework.catalog import Catalog, demo_catalog, load_catalog

from ..models import NodeState

CATALOG_KEY = "catalog_document"
CALENDAR_YEARS_KEY = "calendar_years"
CHINA = dt.timezone(dt.timedelta(hours=8))


def today() -> dt.date:
    """The station's working day: the date in China (UTC+8), whatever the PC's time zone."""
    return dt.datetime.now(CHINA).date()


@functools.lru_cache(maxsize=8)
def _parse_catalog(document: str) -> Catalog:
    return load_catalog(document)


def current_catalog() -> Catalog:
    document = NodeState.read(CATALOG_KEY)
    if document is None:
        return demo_catalog()
    return _parse_catalog(json.dumps(document, ensure_ascii=False, sort_keys=True))


def current_calendar() -> WorkingCalendar:
    calendar = default_calendar()
    for year_document in NodeState.read(CALENDAR_YEARS_KEY, []):
        calendar = calendar.with_year(load_year_calendar(year_document))
    return calendar


def working_days_after(start: dt.date, days: int) -> dt.date:
    """The n-th working day after ``start``; where the calendar year is missing, the Monday–Friday estimate (the
    case page shows the "calendar missing" warning from the clock, so the estimate is never silent)."""
    result = current_calendar().add_working_days_checked(start, days)
    date = result.date or result.estimate
    assert date is not None
    return date
