"""Login, logout and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..auth import ALL_STATION_USERS, LoginLocked, authenticate, public, record_audit, requires_roles

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL in ?next= would make the login page an open redirect.
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        ip = request.remote_addr or ""
        try:
            user = authenticate(
                username,
                password,
                ip,
                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
            )
        except LoginLocked as locked:
            flash(
                _(
                    "Too many failed logins. This login is locked until %(time)s (UTC).",
                    time=locked.until.strftime("%H:%M"),
                ),
                "error",
            )
            return render_template("auth/login.html", username=username), 429
        if user is None:
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", username=username), 401
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        session["user_id"] = user.id
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username=username)


@bp.route("/logout", methods=["POST"])
@requires_roles(*ALL_STATION_USERS)
def logout():
    record_audit(g.user.username, "logout", request.remote_addr or "")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
