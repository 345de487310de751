"""The home screen: what the window has to do today."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import ALL_STATION_USERS, requires_roles
from ..models import StationIdentity

bp = Blueprint("home", __name__)


@bp.route("/")
@requires_roles(*ALL_STATION_USERS)
def index():
    return render_template("home/index.html", identity=StationIdentity.current())
