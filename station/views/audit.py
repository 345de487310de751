"""The audit log (审计日志): append-only record of logins, exports, key use, enrollment and restores."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..auth import requires_roles
from ..models import AuditLog

bp = Blueprint("audit", __name__)
PAGE_SIZE = 100


@bp.route("/audit")
@requires_roles("auditor", "township_clerk", "county_clerk")
def show():
    try:
        before = int(request.args.get("before", "0"))
    except ValueError:
        before = 0
    query = AuditLog.select().order_by(AuditLog.id.desc())
    if before > 0:
        query = query.where(AuditLog.id < before)
    rows = list(query.limit(PAGE_SIZE))
    return render_template(
        "audit/show.html", rows=rows, next_before=rows[-1].id if len(rows) == PAGE_SIZE else None
    )
