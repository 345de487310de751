"""Blueprints, one per screen group; each view declares its roles with @requires_roles or @public."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        api,
        audit,
        auth,
        batches,
        cases,
        conflicts,
        custody,
        home,
        publications,
        reports,
        stations,
        verify,
    )

    for module in (
        auth,
        home,
        stations,
        batches,
        cases,
        conflicts,
        publications,
        audit,
        reports,
        custody,
        verify,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    from flask_wtf.csrf import CSRFProtect

    csrf = app.extensions.get("csrf")
    if isinstance(csrf, CSRFProtect):
        csrf.exempt(api.bp)  # the machine API is authenticated by signatures, not cookies
