"""The conflict queue (冲突队列): class, owner, age; one conflict with both sides side by side and the choices."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import current_user, requires_roles
from ..errors import NotFoundError
from ..labels import case_state_label
from ..models import Conflict, Station, utcnow
from ..roles import CENTRAL_ADMIN, REVIEWERS
from ..services.conflicts import HUMAN_CHOICES, choices_for, conflict_sides, list_conflicts, resolve
from ..services.duplicates import duplicate_cases
from ..services.review import event_view

bp = Blueprint("conflicts", __name__, url_prefix="/conflicts")
STATUSES = ("open", "auto_resolved", "resolved")
CLASSES = ("A", "B", "C", "D", "E", "F", "G")


def class_labels() -> dict[str, str]:
    return {
        "A": _("A · concurrent state changes"),
        "B": _("B · concurrent field edits"),
        "C": _("C · duplicate applications"),
        "D": _("D · custody"),
        "E": _("E · stale reference data"),
        "F": _("F · late event on a closed case"),
        "G": _("G · integrity"),
    }


def status_labels() -> dict[str, str]:
    return {
        "open": _("waiting for a person"),
        "auto_resolved": _("resolved automatically"),
        "resolved": _("resolved"),
    }


def choice_labels() -> dict[str, str]:
    return {
        "apply_incoming": _("Apply the incoming event"),
        "keep_applied": _("Keep what central has; do not apply the incoming event"),
        "mark_distinct": _("Not a conflict: apply both"),
        "merge": _(
            "The same application: merge the later case into the earlier one (it is kept, marked merged)"
        ),
        "dismiss": _("Close without applying"),
        "authorize_epoch": _("Authorize this new epoch (the station was restored from a backup)"),
    }


def field_labels() -> dict[str, str]:
    return {"phone": _("Phone"), "address": _("Address"), "name": _("Name")}


def readable_payload(payload: dict) -> list[tuple[str, str]]:
    """The facts of one side of a conflict in words (state change, the detail edited, reasons, note, case
    number); the raw payload stays below it for the record."""
    facts = []
    if payload.get("to"):
        before = case_state_label(payload["from"]) if payload.get("from") else "—"
        facts.append((_("State"), f"{before} → {case_state_label(payload['to'])}"))
    if "field" in payload and "new" in payload:
        name = field_labels().get(payload["field"], payload["field"])
        facts.append((_("Detail changed"), f"{name}: {payload.get('old') or '—'} → {payload['new']}"))
    if payload.get("case_no"):
        facts.append((_("Case number"), str(payload["case_no"])))
    reasons = payload.get("reasons") or ([payload["reason"]] if payload.get("reason") else [])
    if reasons:
        facts.append((_("Reason"), "；".join(str(r) for r in reasons)))
    if payload.get("text"):
        facts.append((_("Note"), str(payload["text"])))
    return facts


def station_names(codes) -> dict[str, str]:
    return {
        row.code: row.name
        for row in Station.select(Station.code, Station.name).where(Station.code.in_(list(codes)))
    }


@bp.route("/")
@requires_roles(*REVIEWERS)
def list_all():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    status = request.args.get("status", "open")
    status = status if status in STATUSES else None
    conflict_class = request.args.get("class") if request.args.get("class") in CLASSES else None
    size = current_app.config["PAGE_SIZE"]
    rows = list_conflicts(status, conflict_class, size + 1, (page - 1) * size)
    return render_template(
        "conflicts/list.html",
        conflicts=rows[:size],
        has_next=len(rows) > size,
        page=page,
        status=status,
        conflict_class=conflict_class,
        statuses=STATUSES,
        classes=CLASSES,
        class_labels=class_labels(),
        status_labels=status_labels(),
        station_names=station_names({c.station_code for c in rows[:size]}),
        now=utcnow(),
    )


def _get(conflict_id: int) -> Conflict:
    conflict = Conflict.get_or_none(Conflict.id == conflict_id)
    if conflict is None:
        raise NotFoundError(f"conflict {conflict_id} does not exist")
    return conflict


@bp.route("/<int:conflict_id>")
@requires_roles(*REVIEWERS)
def show(conflict_id: int):
    conflict = _get(conflict_id)
    applied, incoming = conflict_sides(conflict)
    labels = choice_labels()
    choices = {choice: labels[choice] for choice in choices_for(conflict)}
    return render_template(
        "conflicts/show.html",
        conflict=conflict,
        applied=[event_view(e.body) for e in applied],
        incoming=event_view(incoming.body) if incoming else None,
        class_labels=class_labels(),
        status_labels=status_labels(),
        choices=choices,
        cases=duplicate_cases(conflict) if conflict.conflict_class == "C" else [],
        readable_payload=readable_payload,
        station_names=station_names({conflict.station_code, *(e.station_id for e in applied)}),
        now=utcnow(),
    )


@bp.route("/<int:conflict_id>/resolve", methods=["POST"])
@requires_roles(CENTRAL_ADMIN)
def resolve_one(conflict_id: int):
    choice = request.form.get("choice", "")
    if choice not in HUMAN_CHOICES:
        flash(_("Choose one of the resolutions."), "error")
        return redirect(url_for("conflicts.show", conflict_id=conflict_id))
    conflict = _get(conflict_id)
    if conflict.status == "open" and choice not in choices_for(conflict):
        flash(_("Choose one of the resolutions."), "error")
        return redirect(url_for("conflicts.show", conflict_id=conflict_id))
    resolve(conflict_id, choice, current_user().username)
    flash(
        _("Resolved. The stations concerned receive the decision with their next downstream bundle."), "info"
    )
    return redirect(url_for("conflicts.show", conflict_id=conflict_id))
