"""casework: the domain every yiciban node shares — catalog, identifiers, working-day calendar, deadlines and
lights, case lifecycle, event payloads, merge policy, ratings and KPIs. Pure Python: standard library and
``chinese_calendar`` (calendar data only); no storage, web or wire.
"""

from casework.catalog import Catalog, Item, demo_catalog, load_catalog, search_items
from casework.errors import CaseworkError, Message

__all__ = ["Catalog", "CaseworkError", "Item", "Message", "demo_catalog", "load_catalog", "search_items"]
