"""Custody issues (交接异常, conflict class D) across all stations: the queue, and a human's resolution."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from casework.custody import CustodyError, CustodyLimits

from ..auth import current_user, requires_roles
from ..roles import CENTRAL_ADMIN, REVIEWERS
from ..services import custody as custody_service

bp = Blueprint("custody", __name__, url_prefix="/custody")
STATUSES = ("open", "cleared", "resolved")


def _limits() -> CustodyLimits:
    """Custody limits from the CUSTODY_* settings; a setting that cannot be read is logged and the defaults hold."""
    try:
        return CustodyLimits.from_settings(current_app.config)
    except CustodyError as e:
        current_app.logger.warning("custody settings: %s", e.text("en"))
        return CustodyLimits()


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_issues():
    # The queue is brought up to date when it is looked at; a periodic task calls the same function.
    custody_service.refresh_custody(limits=_limits())
    status = request.args.get("status", "open")
    if status not in STATUSES:
        status = "open"
    station = request.args.get("station", "").strip()[:12] or None
    return render_template(
        "custody/list.html",
        issues=custody_service.list_issues(status, station),
        status=status,
        station=station,
        statuses=STATUSES,
        zh=str(get_locale() or "zh").startswith("zh"),
    )


@bp.route("/resolve", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def resolve():
    key = request.form.get("key", "")[:200]
    note = request.form.get("note", "").strip()
    if not note:
        flash(_("Write down where the folder really is before resolving the issue."), "error")
        return redirect(url_for("custody.list_issues"))
    user = current_user()
    if custody_service.resolve_issue(key, user.username if user else "admin", note) is None:
        abort(404)
    flash(_("Custody issue resolved; the stations concerned will be told."), "info")
    return redirect(url_for("custody.list_issues"))
