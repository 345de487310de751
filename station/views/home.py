"""The home screen: what the window has to do today."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import ALL_STATION_USERS, requires_roles
from ..models import StationIdentity
from ..services.home import home_lists
from ..services.reference import today

bp = Blueprint("home", __name__)


@bp.route("/")
@requires_roles(*ALL_STATION_USERS)
def index():
    from ..services.sync import sync_summary

    return render_template(
        "home/index.html", identity=StationIdentity.current(), lists=home_lists(today()), sync=sync_summary()
    )
