"""Catalog and calendar publishing (目录与日历发布): list what was published, upload a new file."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..auth import current_user, requires_roles
from ..roles import CENTRAL_ADMIN, REVIEWERS
from ..services.publications import (
    PublicationError,
    list_publications,
    publish_calendar,
    publish_catalog,
    publish_shipped,
)

bp = Blueprint("publications", __name__, url_prefix="/publications")
MAX_FILE = 16 * 1024 * 1024


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_all():
    return render_template("publications/list.html", publications=list_publications(), problems=[])


@bp.route("/", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def publish():
    actor = current_user().username
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    try:
        if kind == "shipped":
            done = publish_shipped(actor)
        elif kind in {"catalog", "calendar"} and upload is not None and upload.filename:
            data = upload.stream.read(MAX_FILE + 1)
            if len(data) > MAX_FILE:
                raise PublicationError(_("The file is larger than 16 MB."))
            done = [publish_catalog(data, actor) if kind == "catalog" else publish_calendar(data, actor)]
        else:
            flash(_("Choose what to publish and the file."), "error")
            return redirect(url_for("publications.list_all"))
    except PublicationError as e:
        locale = str(get_locale() or "zh")
        problems = [p.describe(locale) for p in e.problems[:50]]
        flash(_("Nothing was published: %(reason)s", reason=str(e)), "error")
        return render_template(
            "publications/list.html", publications=list_publications(), problems=problems
        ), 400
    if done:
        flash(
            _(
                "Published %(n)s file(s); stations receive them with their next downstream bundle.",
                n=len(done),
            ),
            "info",
        )
    else:
        flash(_("Nothing new to publish."), "info")
    return redirect(url_for("publications.list_all"))
