"""The audit log page (read-only)."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, render_template, request

from ..auth import requires_roles
from ..roles import REVIEWERS
from ..services.audit import ACTIONS, recent_audit

bp = Blueprint("audit", __name__)


@bp.route("/audit")
@requires_roles(*REVIEWERS)
def list_entries():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    action = request.args.get("action") or None
    if action not in ACTIONS:
        action = None
    size = current_app.config["PAGE_SIZE"]
    entries = recent_audit(limit=size + 1, offset=(page - 1) * size, action=action)
    rows = [(e, json.loads(e.detail or "{}")) for e in entries[:size]]
    return render_template(
        "audit/list.html", rows=rows, page=page, has_next=len(entries) > size, action=action, actions=ACTIONS
    )
