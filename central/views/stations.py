"""Stations: the registry, registering a station, issuing a one-time enrollment code."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import current_user, requires_roles
from ..errors import RegistrationError
from ..roles import CENTRAL_ADMIN, REVIEWERS
from ..runtime import current_runtime
from ..services.custody import open_issue_counts
from ..services.health import health_overview, station_health
from ..services.stations import (
    LEVELS,
    get_station,
    issue_enrollment_code,
    list_stations,
    register_station,
    revoke_station,
)

bp = Blueprint("stations", __name__, url_prefix="/stations")


def registration_messages() -> dict[str, str]:
    return {
        "code_format": _("The station code must be the 12-digit statistical division code."),
        "name_required": _("Enter the station name (at most 100 characters)."),
        "level_unknown": _("Choose the level: village, township or county."),
        "parent_format": _("The parent code must be a 12-digit division code."),
        "parent_self": _("A station cannot be its own parent."),
        "parent_required": _("Village and township stations need a parent station."),
        "duplicate": _("A station with this code is already registered."),
        "parent_unknown": _("Register the parent station first."),
        "parent_level": _("A village's parent must be a township; a township's parent must be a county."),
        "revoked": _("This station is revoked."),
    }


def level_labels() -> dict[str, str]:
    return {"village": _("village"), "township": _("township"), "county": _("county")}


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_all():
    return render_template(
        "stations/list.html",
        stations=list_stations(),
        levels=LEVELS,
        level_labels=level_labels(),
        form={},
        health=health_overview(),
        custody_issues=open_issue_counts(),
    )


@bp.route("/", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def register():
    form = {key: request.form.get(key, "").strip() for key in ("code", "name", "level", "parent_code")}
    try:
        station = register_station(
            form["code"], form["name"], form["level"], form["parent_code"], current_user().username
        )
    except RegistrationError as e:
        flash(registration_messages().get(e.code, e.message), "error")
        return (
            render_template(
                "stations/list.html",
                stations=list_stations(),
                levels=LEVELS,
                level_labels=level_labels(),
                form=form,
                health=health_overview(),
                custody_issues=open_issue_counts(),
            ),
            400,
        )
    flash(_("Station %(code)s registered. Issue an enrollment code next.", code=station.code), "info")
    return redirect(url_for("stations.show", code=station.code))


@bp.route("/<code>")
@requires_roles(*REVIEWERS)
def show(code: str):
    station = get_station(code)
    return render_template(
        "stations/show.html",
        station=station,
        health=station_health(station),
        custody_issues=open_issue_counts().get(station.code, 0),
        level_labels=level_labels(),
        issued=None,
    )


@bp.route("/<code>/enrollment-code", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def issue_code(code: str):
    from flask import current_app

    try:
        issued = issue_enrollment_code(
            code,
            current_user().username,
            current_runtime().cipher,
            current_app.config["ENROLLMENT_CODE_HOURS"],
        )
    except RegistrationError as e:
        flash(registration_messages().get(e.code, e.message), "error")
        return redirect(url_for("stations.show", code=code))
    station = get_station(code)
    return render_template(
        "stations/show.html",
        station=station,
        health=station_health(station),
        level_labels=level_labels(),
        issued=issued,
    )


@bp.route("/<code>/revoke", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def revoke(code: str):
    """A lost or stolen station PC: events up to the given (epoch, seq) stay accepted, later ones are quarantined."""
    epoch, seq = request.form.get("after_epoch", "").strip(), request.form.get("after_seq", "").strip()
    after = None
    if epoch or seq:
        if not (epoch.isdigit() and seq.isdigit()):
            flash(_("Enter the epoch and sequence number as whole numbers, or leave both empty."), "error")
            return redirect(url_for("stations.show", code=code))
        after = (int(epoch), int(seq))
    runtime = current_runtime()
    try:
        epoch_seq = revoke_station(
            code, current_user().username, runtime.network_id, runtime.keys.central, after=after
        )
    except RegistrationError as e:
        flash(registration_messages().get(e.code, e.message), "error")
        return redirect(url_for("stations.show", code=code))
    flash(
        _(
            "Station %(code)s revoked: events after epoch %(epoch)s, seq %(seq)s will be quarantined for review.",
            code=code,
            epoch=epoch_seq[0],
            seq=epoch_seq[1],
        ),
        "info",
    )
    return redirect(url_for("stations.show", code=code))
