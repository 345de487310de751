"""The dashboard: what arrived, what waits for a human."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import requires_roles
from ..roles import REVIEWERS
from ..services.overview import dashboard_counts

bp = Blueprint("home", __name__)


@bp.route("/")
@requires_roles(*REVIEWERS)
def dashboard():
    return render_template("home/dashboard.html", counts=dashboard_counts())
