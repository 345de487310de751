"""The sync page: last contact, queue sizes, progress, last error in words; sync now; USB export and import."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import current_node
from ..auth import ALL_STATION_USERS, STATION_STAFF, requires_roles
from ..errors import NotEnrolledError, SyncError
from ..services import usb
from ..services.sync import sync_summary

bp = Blueprint("sync", __name__, url_prefix="/sync")
SYNC_ROLES = (*STATION_STAFF, "proxy_agent")


@bp.route("/")
@requires_roles(*ALL_STATION_USERS)
def status():
    return render_template(
        "sync/status.html", sync=sync_summary(), central_url=current_app.config["CENTRAL_URL"]
    )


@bp.route("/now", methods=["POST"])
@requires_roles(*SYNC_ROLES)
def sync_now():
    huey = current_app.extensions["huey"]
    result = current_app.extensions["station_tasks"]["sync_now"]()
    if not huey.immediate:
        # The consumer runs it; the sync page refreshes itself and shows the progress until it is done.
        flash(_("Sync started."), "info")
        return redirect(url_for("sync.status"))
    outcome = result.get(blocking=True, timeout=120) if hasattr(result, "get") else result
    if outcome and outcome.get("ok"):
        pushed = outcome["pushed"]
        flash(_("Sync finished: %(events)s events sent.", events=pushed["events"]), "info")
    elif outcome:
        flash(_("Sync failed: %(error)s", error=outcome.get("error")), "error")
    return redirect(url_for("sync.status"))


def _stick() -> Path | None:
    raw = request.form.get("folder", "").strip()
    return Path(raw) if raw else None


@bp.route("/export", methods=["POST"])
@requires_roles(*SYNC_ROLES)
def export():
    stick = _stick()
    try:
        if stick is None:
            raise SyncError(_("Enter the folder of the USB stick."))
        names = usb.export_batches(current_node(), stick, g.user.username)
    except (SyncError, NotEnrolledError) as e:
        flash(_("Export failed: %(error)s", error=str(e)), "error")
    else:
        flash(_("%(count)s sealed files written to the stick.", count=len(names)), "info")
    return redirect(url_for("sync.status"))


@bp.route("/import", methods=["POST"])
@requires_roles(*SYNC_ROLES)
def import_files():
    stick = _stick()
    try:
        if stick is None:
            raise SyncError(_("Enter the folder of the USB stick."))
        result = usb.import_from(current_node(), stick, g.user.username)
    except (SyncError, NotEnrolledError) as e:
        flash(_("Import failed: %(error)s", error=str(e)), "error")
    else:
        flash(
            _("Read %(acks)s acknowledgements and %(bundles)s bundles; relayed %(relayed)s files.",
              acks=result.acks, bundles=result.bundles, relayed=result.relayed),
            "info",
        )  # fmt: skip
        if result.replies:
            flash(
                _("Brought back %(count)s files from central for the other stations on the stick.",
                  count=result.replies),
                "info",
            )  # fmt: skip
        for refused in result.refused:
            flash(_("Refused: %(file)s", file=refused), "error")
    return redirect(url_for("sync.status"))
