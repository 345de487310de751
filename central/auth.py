"""Who may open which page: ``@requires_roles`` / ``@public`` mark views; one guard enforces them for every request.

The roles are recorded on the view function (``allowed_roles``) so a test can enumerate ``app.url_map`` and prove
every endpoint declares them; an endpoint without a declaration is refused (deny by default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, redirect, request, session, url_for

from .db import database
from .models import User
from .roles import ROLES

PUBLIC = frozenset({"*"})
F = TypeVar("F", bound=Callable[..., Any])


def requires_roles(*roles: str) -> Callable[[F], F]:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"requires_roles needs known roles, got {roles}")

    def mark(view: F) -> F:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Open to anyone: the login page, static files, and the machine API (authenticated by signatures)."""
    view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def allowed_roles_of(app: Flask, endpoint: str) -> frozenset[str] | None:
    view = app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def current_user() -> User | None:
    return g.get("user")


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    database.connect(reuse_if_open=True)
    user = User.get_or_none(User.id == user_id)
    if user is None or not user.active or session.get("pw") != user.password_hash[-16:]:
        session.clear()
        return
    g.user = user


def _guard() -> Any:
    from flask import current_app

    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404/405 are produced by routing; the error handler renders them
    roles = allowed_roles_of(current_app, endpoint)
    if roles is None:
        abort(403)
    if roles is PUBLIC or roles == PUBLIC:
        return None
    _load_user()
    if g.user is None:
        if request.path.startswith("/api/"):
            return jsonify({"error": "login_required"}), 401
        return redirect(
            url_for("auth.login", next=request.full_path if request.query_string else request.path)
        )
    if g.user.role not in roles:
        abort(403)
    return None


def log_in(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    # A password change logs out every other session of that user.
    session["pw"] = user.password_hash[-16:]
    session.permanent = True


def init_auth(app: Flask) -> None:
    app.before_request(_guard)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        if "user" not in g:
            try:
                _load_user()
            except Exception:  # the error page must render even when the database is the problem
                g.user = None
        return {"current_user": g.get("user")}
