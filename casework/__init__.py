"""casework: the domain every yiciban node shares — catalog, identifiers, working-day calendar, deadlines and
lights, case lifecycle, event payloads, merge policy, ratings and KPIs. Pure Python: standard library and
``chinese_calendar`` (calendar data only, to seed and check our own calendar files); no storage, web or wire.

The package root exports only the handful of names most callers need; everything else is imported from its
module (``casework.identifiers``, ``casework.deadlines``, ``casework.lifecycle``, ``casework.events``,
``casework.merge``, ``casework.ratings``, ``casework.kpi``).
"""

from casework.calendar import WorkingCalendar, default_calendar
from casework.catalog import Catalog, Item, demo_catalog, load_catalog, search_items
from casework.deadlines import Light, compute_clock
from casework.errors import CaseworkError, Message
from casework.events import CaseEvent, fold, validate_payload
from casework.lifecycle import CaseState, Role, check_transition

__all__ = [
    "CaseEvent",
    "CaseState",
    "CaseworkError",
    "Catalog",
    "Item",
    "Light",
    "Message",
    "Role",
    "WorkingCalendar",
    "check_transition",
    "compute_clock",
    "default_calendar",
    "demo_catalog",
    "fold",
    "load_catalog",
    "search_items",
    "validate_payload",
]
