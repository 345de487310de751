"""Batches by station and status, and one batch with its events."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..auth import requires_roles
from ..roles import REVIEWERS
from ..services.review import BATCH_STATUSES, batch_detail, batch_events, get_batch, list_batches

bp = Blueprint("batches", __name__, url_prefix="/batches")


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_all():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    station = request.args.get("station", "").strip() or None
    status = request.args.get("status") or None
    size = current_app.config["PAGE_SIZE"]
    rows = list_batches(station, status, size + 1, (page - 1) * size)
    return render_template(
        "batches/list.html",
        batches=rows[:size],
        has_next=len(rows) > size,
        page=page,
        station=station,
        status=status,
        statuses=BATCH_STATUSES,
    )


@bp.route("/<int:batch_id>")
@requires_roles(*REVIEWERS)
def show(batch_id: int):
    batch = get_batch(batch_id)
    return render_template(
        "batches/show.html", batch=batch, detail=batch_detail(batch), events=batch_events(batch)
    )
