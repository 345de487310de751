"""Blueprints, one per screen group; each view declares its roles (see auth.requires_roles)."""

from __future__ import annotations

from flask import Flask

from ..auth import public


def register_blueprints(app: Flask) -> None:
    from ..labels import install_labels
    from . import audit, auth, cases, custody, documents, home, items, reports, sync

    for module in (auth, home, items, cases, sync, custody, documents, reports, audit):
        app.register_blueprint(module.bp)
    install_labels(app)
    # Flask's own static endpoint serves our stylesheet to anyone, including the login page.
    app.view_functions["static"] = public(app.view_functions["static"])
    install_context(app)


def N_(text: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return text


# (endpoint, English label) in menu order; a link shows only when the user's roles may open it.
NAVIGATION = (
    ("items.find", N_("New application")),
    ("cases.search", N_("Search")),
    ("sync.status", N_("Sync")),
    ("audit.show", N_("Audit log")),
    ("documents.verify", N_("Verify")),
    ("documents.daily_sheet", N_("Daily sheet")),
    ("reports.show", N_("Reports")),
)


def navigation_links(app: Flask, roles: frozenset[str]) -> list[dict[str, str]]:
    from flask import url_for
    from flask_babel import gettext

    links = []
    for endpoint, label in NAVIGATION:
        view = app.view_functions.get(endpoint)
        allowed = getattr(view, "allowed_roles", None)
        if view is None or allowed is None:
            continue
        if allowed == "public" or (roles & set(allowed)):
            links.append({"url": url_for(endpoint), "label": gettext(label)})
    return links


def install_context(app: Flask) -> None:
    from flask import g
    from flask_babel import get_locale

    @app.context_processor
    def common_context() -> dict[str, object]:
        user = g.get("user")
        roles = user.role_set if user is not None else frozenset()
        return {"current_lang": str(get_locale() or "zh"), "nav_links": navigation_links(app, roles)}
