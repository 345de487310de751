"""Log in and out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..auth import current_user, log_in, public, requires_roles
from ..db import write_transaction
from ..roles import ROLES
from ..services.accounts import authenticate
from ..services.audit import record_audit

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an attacker must not turn the login page into an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        outcome = authenticate(
            username,
            password,
            request.remote_addr or "",
            max_failures=current_app.config["LOGIN_MAX_FAILURES"],
            lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"],
        )
        if outcome.user is not None:
            lang = session.get("lang")
            log_in(outcome.user)
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
        if outcome.locked_until is not None:
            flash(
                _(
                    "Too many failed logins. This login is locked until %(time)s UTC.",
                    time=outcome.locked_until.strftime("%H:%M"),
                ),
                "error",
            )
        else:
            flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", username=username), 401
    return render_template("auth/login.html", username=username)


@bp.route("/logout", methods=["POST"])
@requires_roles(*ROLES)
def logout():
    user = current_user()
    if user is not None:
        with write_transaction():
            record_audit(user.username, "logout", user.username, {}, request.remote_addr or "")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
