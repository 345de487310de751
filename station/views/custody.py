"""代办 screens: 交接单 (draft, print, dispatch), 签收 by label, the agent's folders, the 代办委托书, home issues."""

from __future__ import annotations

import datetime as dt
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
from flask_babel import get_locale
from flask_babel import gettext as _

from casework.custody import POWER_LABELS, CustodyError, CustodyLimits
from casework.errors import message

from .. import current_node
from ..auth import ALL_STATION_USERS, STATION_STAFF, requires_roles
from ..errors import ActionRefusedError
from ..models import CaseRecord
from ..services import cases as case_service
from ..services import custody as custody_service
from ..services.custody import CustodyRefusedError
from ..services.reference import CHINA, today

bp = Blueprint("custody", __name__, url_prefix="/custody")
CUSTODY_ROLES = (*STATION_STAFF, "proxy_agent")
TOKEN = re.compile(r"[0-9a-f]{32}")


def _limits() -> CustodyLimits:
    """Custody limits from the CUSTODY_* settings; a setting that cannot be read is logged and the defaults hold."""
    try:
        return CustodyLimits.from_settings(current_app.config)
    except CustodyError as e:
        current_app.logger.warning("custody settings: %s", e.text("en"))
        return CustodyLimits()


def _locale() -> str:
    return str(get_locale() or "zh")


def _actor() -> case_service.Actor:
    identity = case_service.station()
    role = case_service.acting_role(g.user.role_set, identity.level)
    if role is None:
        raise CustodyRefusedError(
            message(
                "custody_role_not_here",
                "您的角色不能在{level}级站点办理交接",
                "Your role cannot hand folders over at a {level_en} station",
                level={"village": "村", "township": "乡镇", "county": "县"}[identity.level],
                level_en=identity.level,
            )
        )
    return case_service.Actor(g.user.username, role)


def _refused(error: ActionRefusedError) -> str:
    return error.text(_locale()) if isinstance(error, CustodyRefusedError) else str(error)


@bp.app_context_processor
def custody_home_context() -> dict[str, object]:
    """The home page include asks for its issues lazily, so other pages pay nothing."""

    def custody_issues() -> list[custody_service.StationIssue]:
        return custody_service.station_issues(today(), _limits())

    return {
        "custody_issues": custody_issues,
        "custody_of_case": custody_service.custody_of_case,
        "custody_locale": _locale,
        "custody_time": local_time,
    }


def local_time(value: str | dt.datetime | None) -> str:
    """A stored UTC time as the clerk reads it: China time to the minute."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


@bp.route("/")
@requires_roles(*CUSTODY_ROLES)
def index():
    identity = case_service.station()
    return render_template(
        "custody/index.html",
        identity=identity,
        candidates=custody_service.manifest_candidates(identity),
        agents=custody_service.agents(),
        manifests=custody_service.recent_manifests(),
        station_name=lambda code: custody_service.station_name(code, identity),
    )


@bp.route("/manifests", methods=["POST"])
@requires_roles(*CUSTODY_ROLES)
def create_manifest():
    case_ids = request.form.getlist("case_id")
    if not case_ids:
        flash(_("Tick at least one folder for the manifest."), "error")
        return redirect(url_for("custody.index"))
    try:
        manifest = custody_service.create_manifest(
            current_node().keys.signing_key,
            _actor(),
            case_ids[:200],
            request.form.get("to_station", "")[:20],
            request.form.get("agent", "")[:80],
        )
    except ActionRefusedError as e:
        flash(_refused(e), "error")
        return redirect(url_for("custody.index"))
    flash(
        _("Manifest %(number)s drafted. Print it, have the agent sign, then dispatch.", number=manifest.id),
        "info",
    )
    return redirect(url_for("custody.manifest", manifest_id=manifest.id))


def _manifest_or_404(manifest_id: str) -> custody_service.CustodyManifest:
    manifest = custody_service.CustodyManifest.get_or_none(custody_service.CustodyManifest.id == manifest_id)
    if manifest is None:
        abort(404)
    return manifest


@bp.route("/manifests/<manifest_id>")
@requires_roles(*CUSTODY_ROLES, "auditor")
def manifest(manifest_id: str):
    from printing import qr_svg

    row = _manifest_or_404(manifest_id)
    identity = case_service.station()
    return render_template(
        "custody/manifest.html",
        manifest=row,
        folders=custody_service.manifest_folders(manifest_id),
        qr_svg=qr_svg,
        station_name=lambda code: custody_service.station_name(code, identity),
    )


@bp.route("/manifests/<manifest_id>/print")
@requires_roles(*CUSTODY_ROLES, "auditor")
def print_manifest(manifest_id: str):
    from printing import render_html

    _manifest_or_404(manifest_id)
    return render_html(custody_service.manifest_document(manifest_id))


@bp.route("/manifests/<manifest_id>/pdf")
@requires_roles(*CUSTODY_ROLES, "auditor")
def manifest_pdf(manifest_id: str):
    from printing import DocumentError, FontMissingError, render

    from .documents import _fonts, _printing_failed

    _manifest_or_404(manifest_id)
    try:
        pdf = render(custody_service.manifest_document(manifest_id), _fonts())
    except (FontMissingError, DocumentError) as e:
        return _printing_failed(e)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename={manifest_id}.pdf"},
    )


@bp.route("/manifests/<manifest_id>/dispatch", methods=["POST"])
@requires_roles(*CUSTODY_ROLES)
def dispatch(manifest_id: str):
    _manifest_or_404(manifest_id)
    try:
        custody_service.dispatch_manifest(_actor(), manifest_id)
    except ActionRefusedError as e:
        flash(_refused(e), "error")
    else:
        flash(_("Dispatched: the agent now carries the folders of %(number)s.", number=manifest_id), "info")
    return redirect(url_for("custody.manifest", manifest_id=manifest_id))


@bp.route("/manifests/<manifest_id>/discard", methods=["POST"])
@requires_roles(*CUSTODY_ROLES)
def discard(manifest_id: str):
    _manifest_or_404(manifest_id)
    try:
        custody_service.discard_manifest(manifest_id)
    except ActionRefusedError as e:
        flash(_refused(e), "error")
        return redirect(url_for("custody.manifest", manifest_id=manifest_id))
    flash(_("Draft manifest discarded."), "info")
    return redirect(url_for("custody.index"))


@bp.route("/receive", methods=["GET", "POST"])
@requires_roles(*CUSTODY_ROLES)
def receive():
    label, registered, problem, status = "", None, None, 200
    if request.method == "POST":
        label = request.form.get("label", "")[:2000]
        try:
            registered = custody_service.receive_folder(current_node().keys.signing_key, _actor(), label)
        except ActionRefusedError as e:
            problem, status = _refused(e), 422
        else:
            label = ""
    return render_template(
        "custody/receive.html",
        label=label,
        registered=registered,
        problem=problem,
        receipts=custody_service.recent_receipts(),
    ), status


@bp.route("/mine")
@requires_roles(*CUSTODY_ROLES)
def mine():
    identity = case_service.station()
    return render_template(
        "custody/mine.html",
        folders=custody_service.carried_by(g.user.username, today(), _limits()),
        station_name=lambda code: custody_service.station_name(code, identity),
        today=today(),
    )


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


@bp.route("/cases/<case_id>/authorization", methods=["GET", "POST"])
@requires_roles(*CUSTODY_ROLES)
def authorization(case_id: str):
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        abort(404)
    form = request.form
    token = form.get("token", "") if TOKEN.fullmatch(form.get("token", "")) else secrets.token_hex(16)
    problem, status = None, 200
    if request.method == "POST":
        signed_on = _parse_date(form.get("signed_on", "")) or today()
        valid_text = form.get("valid_until", "").strip()
        valid_until = _parse_date(valid_text) if valid_text else None
        if valid_text and valid_until is None:
            problem, status = _("Write the end date as YYYY-MM-DD, or leave it empty."), 422
        else:
            try:
                row = custody_service.record_authorization(
                    _actor(), case_id, form.get("agent", "")[:80], form.getlist("power")[:10], signed_on,
                    valid_until, bool(form.get("full_proxy")), token,
                )  # fmt: skip
            except ActionRefusedError as e:
                problem, status = _refused(e), 422
            else:
                flash(_("Authorization recorded. Print it for both to sign."), "info")
                return redirect(url_for("custody.authorization", case_id=case_id, recorded=row.event_id))
    return render_template(
        "custody/authorization.html",
        case=record,
        token=token,
        problem=problem,
        agents=custody_service.agents(),
        powers=POWER_LABELS,
        chosen=form.getlist("power") if request.method == "POST" else ["submit_materials", "sign_for_result"],
        warnings=custody_service.item_warnings(case_id),
        existing=custody_service.authorizations_of(case_id),
        today=today(),
        locale=_locale(),
    ), status


def _authorization_or_404(case_id: str, event_id: str):
    row = custody_service.CustodyAuthorization.get_or_none(
        custody_service.CustodyAuthorization.event_id == event_id
    )
    if row is None or row.case_id != case_id:
        abort(404)
    return row


@bp.route("/cases/<case_id>/authorization/<event_id>/print")
@requires_roles(*CUSTODY_ROLES, "auditor")
def print_authorization(case_id: str, event_id: str):
    from printing import render_html

    _authorization_or_404(case_id, event_id)
    return render_html(custody_service.authorization_document(event_id))


@bp.route("/cases/<case_id>/authorization/<event_id>/pdf")
@requires_roles(*CUSTODY_ROLES, "auditor")
def authorization_pdf(case_id: str, event_id: str):
    from printing import DocumentError, FontMissingError, render

    from .documents import _fonts, _printing_failed

    _authorization_or_404(case_id, event_id)
    try:
        pdf = render(custody_service.authorization_document(event_id), _fonts())
    except (FontMissingError, DocumentError) as e:
        return _printing_failed(e)
    return Response(pdf, mimetype="application/pdf")


@bp.route("/issues")
@requires_roles(*ALL_STATION_USERS)
def issues():
    return render_template(
        "custody/issues.html", issues=custody_service.station_issues(today(), _limits()), locale=_locale()
    )
