"""Find an item (事项) by name, pinyin initials, code or life event; read its guide (办事指南)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from casework.catalog import search_items

from ..auth import ALL_STATION_USERS, requires_roles
from ..services.reference import current_catalog

bp = Blueprint("items", __name__, url_prefix="/items")


@bp.route("/")
@requires_roles(*ALL_STATION_USERS)
def find():
    catalog = current_catalog()
    query = request.args.get("q", "").strip()[:50]
    life_event = request.args.get("event") or None
    if query or life_event:
        items = search_items(catalog, query, life_event=life_event)
    else:
        items = catalog.current_items()
    folded = query.lower()
    bundles = [
        b for b in catalog.bundles
        if (not query or folded in b.name_zh.lower() or folded in b.name_initials or folded in b.code.lower())
        and (life_event is None or life_event in b.life_events)
    ]  # fmt: skip
    return render_template(
        "items/find.html", items=items, query=query, life_event=life_event, life_events=catalog.life_events,
        bundles=bundles,
    )  # fmt: skip


@bp.route("/<code>")
@requires_roles(*ALL_STATION_USERS)
def guide(code: str):
    from casework.errors import UnknownItemError

    catalog = current_catalog()
    try:
        item = catalog.item(code)
    except UnknownItemError:
        abort(404)
    return render_template("items/guide.html", item=item, supply_days=catalog.supply_days)
