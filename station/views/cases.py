"""The window: intake (一窗受理), the case page with its timeline, and case search."""

from __future__ import annotations

import re
import secrets

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from casework.errors import UnknownItemError

from .. import current_node
from ..auth import ALL_STATION_USERS, STATION_STAFF, requires_roles
from ..errors import ActionRefusedError, StationError
from ..labels import localized_name, state_label
from ..models import Applicant, CaseMaterial, CaseRecord
from ..services import cases as case_service
from ..services.intake import receives_for_the_organ
from ..services.reference import current_catalog, today

bp = Blueprint("cases", __name__)
INTAKE_ROLES = (*STATION_STAFF, "proxy_agent")
# The form token becomes the idempotency key of the events (with suffixes): keep it short and plain.
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def _actor() -> case_service.Actor:
    identity = case_service.station()
    role = case_service.acting_role(g.user.role_set, identity.level)
    if role is None:
        abort(403)
    return case_service.Actor(g.user.username, role)


def _form_from_request(item) -> case_service.IntakeForm:
    form = request.form
    token = form.get("token", "")
    if not TOKEN.fullmatch(token):
        token = secrets.token_hex(16)
    return case_service.IntakeForm(
        token=token,
        item_code=item.code,
        applicant_name=form.get("applicant_name", "")[:100],
        id_number=form.get("id_number", "")[:40],
        phone=form.get("phone", "")[:40],
        address=form.get("address", "")[:200],
        materials={m.key: form.get(f"material_{m.key}", "") for m in item.materials},
        decision=form.get("decision", "receive"),
        agent_name=form.get("agent_name", "")[:100],
        agent_id_number=form.get("agent_id_number", "")[:40],
        agent_phone=form.get("agent_phone", "")[:40],
    )


@bp.route("/cases/new/<item_code>", methods=["GET", "POST"])
@requires_roles(*INTAKE_ROLES)
def intake(item_code: str):
    try:
        item = current_catalog().item(item_code)
    except UnknownItemError:
        abort(404)
    identity = case_service.station()
    node = current_node()
    problems: dict = {}
    existing_applicant = None
    open_cases: list = []
    if request.method == "POST":
        form = _form_from_request(item)
        resubmitted = case_service.case_for_token(form.token)
        if resubmitted is not None:
            return redirect(url_for("cases.show", case_id=resubmitted.id))
        problems = case_service.validate_intake(form, item, identity.level, today())
        existing_applicant = case_service.find_applicant(node.keys.field_cipher, form.id_number, today())
        if existing_applicant is not None:
            open_cases = case_service.open_cases_of(existing_applicant.id)
        duplicate = [c for c in open_cases if c.item_code == item.code]
        if duplicate and not request.form.get("confirm_duplicate"):
            problems["duplicate"] = case_service.form_problem(
                "open_case_exists",
                "该申请人已有同一事项的在办件 {number}；如确需另立一件，请勾选确认",
                "This applicant already has an open case {number} for this item; tick the box to file another",
                number=duplicate[0].number,
            )
        if not problems:
            try:
                record = case_service.receive_application(node.keys.field_cipher, _actor(), form)
            except StationError as e:  # refused, not enrolled, or work blocked after a rollback
                flash(str(e), "error")
            else:
                flash(_("Saved. Case number %(number)s.", number=record.number), "info")
                return redirect(url_for("cases.show", case_id=record.id))
    else:
        form = case_service.IntakeForm(token=secrets.token_hex(16), item_code=item.code)
        form.materials = {m.key: "" for m in item.materials}
        looked_up = request.args.get("id_number", "").strip()[:40]
        if looked_up:
            # Search before create: a known applicant is filled in and their open cases are shown first.
            form.id_number = looked_up
            existing_applicant = case_service.find_applicant(node.keys.field_cipher, looked_up, today())
            if existing_applicant is not None:
                form.applicant_name = existing_applicant.name
                form.phone = existing_applicant.phone
                form.address = existing_applicant.address
                open_cases = case_service.open_cases_of(existing_applicant.id)
    decisions = case_service.decisions_for(identity.level, item)
    status = 422 if problems else 200
    return render_template(
        "cases/intake.html",
        item=item,
        form=form,
        problems=problems,
        decisions=decisions,
        for_the_organ=receives_for_the_organ(item, identity.level),
        identity=identity,
        existing_applicant=existing_applicant,
        open_cases=open_cases,
    ), status


def _render_case(
    record: CaseRecord, problems: dict | None = None, typed: dict | None = None, active: str = ""
):
    from ..services.actions import EDITABLE_FIELDS, current_field, new_token
    from ..services.case_levels import available_actions, completes_here, paper_here
    from ..services.ratings import RATING_CHANNELS

    case_id = record.id
    identity = case_service.station()
    role = case_service.acting_role(g.user.role_set, identity.level)
    view = case_service.case_view(case_id)
    item = current_catalog().item(record.item_code, record.item_version)
    clock = case_service.clock_of(view, item, today())
    materials = list(
        CaseMaterial.select().where(CaseMaterial.case_id == case_id).order_by(CaseMaterial.material_key)
    )
    notes = case_service.central_notes(case_id)
    duplicates = case_service.open_duplicate_flags(case_id, notes)
    known = {
        r.id
        for r in CaseRecord.select(CaseRecord.id).where(
            CaseRecord.id.in_([f.other_case_id for f in duplicates])
        )
    }
    return render_template(
        "cases/show.html",
        case=record,
        view=view,
        item=item,
        clock=clock,
        materials=materials,
        actions=available_actions(view, identity.level, role, paper=paper_here(case_id)),
        completes_here=completes_here(item, identity.level),
        can_rate=role is not None and role != "proxy_agent",
        rating_channels=RATING_CHANNELS,
        material_names={m.key: localized_name(m) for m in item.materials},
        problems=problems or {},
        typed=typed or {},
        active=active,
        new_token=new_token,
        agent=Applicant.get_or_none(Applicant.id == view.agent_id) if view.agent_id else None,
        central_notes=notes,
        duplicate_flags=duplicates,
        known_cases=known,
        identity=identity,
        details={name: current_field(case_id, name, view) for name in EDITABLE_FIELDS},
        can_edit=role is not None and role != "proxy_agent" and not (view.state and view.state.terminal),
    ), (422 if problems else 200)


@bp.route("/cases/<case_id>")
@requires_roles(*ALL_STATION_USERS)
def show(case_id: str):
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        abort(404)
    return _render_case(record)


def _case_or_404(case_id: str) -> CaseRecord:
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        abort(404)
    return record


def _action_token() -> str:
    token = request.form.get("token", "")
    return token if TOKEN.fullmatch(token) else secrets.token_hex(16)


@bp.route("/cases/<case_id>/act/<action>", methods=["POST"])
@requires_roles(*INTAKE_ROLES)
def act(case_id: str, action: str):
    from ..services.action_forms import BUILDERS
    from ..services.actions import perform_action

    record = _case_or_404(case_id)
    if action not in BUILDERS:
        abort(404)
    updated, problems = perform_action(_actor(), case_id, action, request.form, _action_token())
    if problems:
        return _render_case(record, problems, request.form.to_dict(), action)
    flash(_("Saved: %(state)s.", state=state_label(updated.state)), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<case_id>/complete", methods=["POST"])
@requires_roles(*STATION_STAFF)
def complete(case_id: str):
    from ..services.actions import complete_on_the_spot

    record = _case_or_404(case_id)
    signed_by = request.form.get("signed_by", "").strip()[:50]
    if not signed_by:
        problem = case_service.form_problem(
            "signed_by_required", "请填写签收人", "Enter who signed for the result"
        )
        return _render_case(record, {"signed_by": problem}, request.form.to_dict(), "complete")
    try:
        complete_on_the_spot(_actor(), case_id, _action_token(), signed_by)
    except ActionRefusedError as e:
        flash(str(e), "error")
    else:
        flash(_("Completed on the spot and handed over."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<case_id>/rate", methods=["POST"])
@requires_roles(*STATION_STAFF)
def rate(case_id: str):
    from ..services.ratings import rate_case

    record = _case_or_404(case_id)
    updated, problems = rate_case(_actor(), case_id, request.form, _action_token())
    if problems:
        return _render_case(record, problems, request.form.to_dict(), "rate")
    flash(_("Rating recorded."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/search")
@requires_roles(*ALL_STATION_USERS)
def search():
    from ..services.home import calendar_missing_ids
    from ..services.reference import today
    from ..services.search import search_cases

    query = request.args.get("q", "").strip()[:60]
    results = search_cases(current_node().keys.field_cipher, query) if query else []
    missing = calendar_missing_ids(results, today())
    return render_template("cases/search.html", query=query, results=results, calendar_missing_ids=missing)


@bp.route("/cases/<case_id>/followups/<followup_id>", methods=["POST"])
@requires_roles(*STATION_STAFF)
def followup(case_id: str, followup_id: str):
    from ..services.ratings import record_followup

    record = _case_or_404(case_id)
    updated, problems = record_followup(_actor(), case_id, followup_id, request.form, _action_token())
    if problems:
        return _render_case(record, problems, request.form.to_dict(), f"followup-{followup_id}")
    flash(_("Follow-up recorded."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<case_id>/attachments", methods=["POST"])
@requires_roles(*INTAKE_ROLES)
def upload_attachment(case_id: str):
    from ..services.attachments import attach_scan

    record = _case_or_404(case_id)
    upload = request.files.get("file")
    content = upload.read(current_app.config["MAX_UPLOAD_BYTES"] + 1) if upload else b""
    node = current_node()
    updated, problems = attach_scan(
        node.instance / "blobs", _actor(), case_id, content, request.form.get("material", ""), _action_token(),
        current_app.config["MAX_UPLOAD_BYTES"],
    )  # fmt: skip
    if problems:
        return _render_case(record, problems, request.form.to_dict(), "attach")
    flash(_("Scan attached."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<case_id>/attachments/<sha256>")
@requires_roles(*ALL_STATION_USERS)
def attachment(case_id: str, sha256: str):
    from ..services.attachments import read_blob, sniff_media_type

    _case_or_404(case_id)
    if sha256 not in case_service.case_view(case_id).attachments:
        abort(404)
    content = read_blob(current_node().instance / "blobs", sha256)
    if content is None:
        abort(404)
    return Response(content, mimetype=sniff_media_type(content) or "application/octet-stream",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})  # fmt: skip


@bp.route("/bundles/<code>/new", methods=["GET", "POST"])
@requires_roles(*INTAKE_ROLES)
def bundle_intake(code: str):
    """一件事: one form for several items."""
    from casework.catalog import bundle_materials

    from ..services import bundles as bundle_service

    catalog = current_catalog()
    try:
        bundle = catalog.bundle(code)
        merged = bundle_materials(catalog, code)
    except UnknownItemError:
        abort(404)
    identity = case_service.station()
    problems: dict = {}
    shared = _MaterialsOf([m.material for m in merged])
    if request.method == "POST":
        form = _form_from_request(shared)
        form.item_code = code
        done = bundle_service.cases_of_bundle(form.token)
        if done:
            return redirect(url_for("home.index"))
        problems = bundle_service.validate_bundle(form, bundle, today())
        if not problems:
            try:
                records = bundle_service.receive_bundle(
                    current_node().keys.field_cipher, _actor(), form, bundle
                )
            except StationError as e:  # refused, not enrolled, or work blocked after a rollback
                flash(str(e), "error")
            else:
                numbers = ", ".join(r.number for r in records)
                flash(_("Saved %(count)s cases: %(numbers)s.", count=len(records), numbers=numbers), "info")
                return redirect(url_for("home.index"))
    else:
        form = case_service.IntakeForm(token=secrets.token_hex(16), item_code=code)
    members = [catalog.item(c) for c in bundle_service.receivable_items(catalog, bundle, identity.level)]
    return render_template(
        "cases/intake.html",
        item=shared,
        bundle=bundle,
        members=members,
        merged=merged,
        form=form,
        problems=problems,
        decisions=case_service.decisions_for(identity.level),
        for_the_organ=identity.level == "village",
        identity=identity,
        existing_applicant=None,
        open_cases=[],
    ), (422 if problems else 200)


class _MaterialsOf:
    """The merged materials list shaped like an item for the intake template and form parsing."""

    def __init__(self, materials):
        self.materials = materials
        self.code = ""
        self.name_zh = ""
        self.name_en = ""


@bp.route("/cases/<case_id>/notes", methods=["POST"])
@requires_roles(*INTAKE_ROLES)
def add_note(case_id: str):
    from ..services.actions import add_note as add_case_note

    record = _case_or_404(case_id)
    updated, problems = add_case_note(_actor(), case_id, request.form.get("note", ""), _action_token())
    if problems:
        return _render_case(record, problems, request.form.to_dict(), "note")
    flash(_("Note added."), "info")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.route("/cases/<case_id>/fields", methods=["POST"])
@requires_roles(*STATION_STAFF)
def edit_field(case_id: str):
    from ..services.actions import edit_field as edit_case_field

    record = _case_or_404(case_id)
    form = request.form
    updated, problems = edit_case_field(
        _actor(), case_id, form.get("field", ""), form.get("new", ""), _action_token()
    )
    if problems:
        return _render_case(record, problems, form.to_dict(), "fields")
    flash(_("Details corrected."), "info")
    return redirect(url_for("cases.show", case_id=case_id))
