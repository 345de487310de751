"""Cases across all stations, and one case with its timeline."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..auth import requires_roles
from ..roles import REVIEWERS
from ..services.case_labels import case_labels
from ..services.review import case_timeline, get_case, list_cases

bp = Blueprint("cases", __name__, url_prefix="/cases")


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_all():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    station = request.args.get("station", "").strip() or None
    size = current_app.config["PAGE_SIZE"]
    rows = list_cases(station, None, size + 1, (page - 1) * size)
    cases = rows[:size]
    return render_template(
        "cases/list.html", cases=cases, labels=case_labels(cases), has_next=len(rows) > size, page=page,
        station=station,
    )  # fmt: skip


@bp.route("/<case_id>")
@requires_roles(*REVIEWERS)
def show(case_id: str):
    case = get_case(case_id)
    return render_template(
        "cases/show.html", case=case, label=case_labels([case])[case.case_id], timeline=case_timeline(case_id)
    )
