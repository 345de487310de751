"""Printed documents: a case's documents (print view and PDF), an item's 办事指南, the daily sheet, and 核验.

Opening a numbered document (print view or PDF) gives it its 文书编号 the first time; later opens show the same
number (the issue is keyed by case, kind and the act it rests on).
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from casework.errors import UnknownItemError
from printing import DocumentError, FontConfig, FontMissingError, render, render_html

from .. import current_node
from ..auth import ALL_STATION_USERS, STATION_STAFF, requires_roles
from ..models import CaseRecord
from ..services import cases as case_service
from ..services import documents as document_service
from ..services.reference import current_catalog, today
from ..services.sheets import daily_sheet as build_daily_sheet
from ..services.sheets import service_guide
from ..services.verify import VerificationFailedError, verify_text

bp = Blueprint("documents", __name__)
PRINT_ROLES = STATION_STAFF
ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _locale() -> str:
    return str(get_locale() or "zh")


@bp.app_context_processor
def documents_context() -> dict[str, object]:
    """The case page include asks for the documents lazily, and only for users who may print."""

    def case_documents(case_id: str) -> list[document_service.AvailableDocument]:
        return document_service.available_documents(case_id)

    def can_print_documents() -> bool:
        user = g.get("user")
        return user is not None and bool(user.role_set & set(PRINT_ROLES))

    return {"case_documents": case_documents, "can_print_documents": can_print_documents}


def _fonts() -> FontConfig:
    path = current_app.config.get("PRINT_FONT_PATH") or None
    return FontConfig(path=path)


def _printing_failed(error: Exception) -> tuple[str, int]:
    if isinstance(error, FontMissingError):
        text = _(
            "No Chinese font that can be embedded in a PDF was found. Install the Debian package "
            "fonts-wqy-microhei (or set PRINT_FONT_PATH); the browser print view still works."
        )
        return render_template("errors/error.html", status=503, message=text), 503
    text = _("This document cannot be printed with the case as it stands: %(reason)s", reason=str(error))
    return render_template("errors/error.html", status=409, message=text), 409


def _pdf_response(pdf: bytes, filename: str) -> Response:
    safe = ASCII_NAME.sub("-", filename).strip("-") or "document.pdf"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _print_view(html: str, pdf_url: str, back_url: str) -> Response:
    """printing's self-contained page plus a toolbar (print button, PDF, back) that is not printed."""
    toolbar = Markup(
        "<style>@media print{{.print-toolbar{{display:none}}}}"
        ".print-toolbar{{font:14px sans-serif;text-align:center;padding:8px;background:#fff;"
        "border-bottom:1px solid #888}}.print-toolbar>*{{margin:0 6px}}</style>"
        '<div class="print-toolbar" role="toolbar"><button type="button" onclick="window.print()">{print}</button>'
        '<a href="{pdf}">{pdf_label}</a><a href="{back}">{back_label}</a></div>'
    ).format(print=_("Print"), pdf=pdf_url, pdf_label=_("Download PDF"), back=back_url, back_label=_("Back"))
    page = html.replace("<body>", "<body>" + str(toolbar), 1)
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _case_or_404(case_id: str) -> CaseRecord:
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        abort(404)
    return record


def _case_document(case_id: str, kind: str) -> tuple[CaseRecord, object]:
    record = _case_or_404(case_id)
    available = document_service.find_available(case_id, kind)
    if available is None:
        abort(404)
    issued = None
    if available.numbered:
        issued = document_service.issue_number(case_id, available, g.user.username)
    document = document_service.build_document(
        record, available, issued, current_node().keys.signing_key, g.user.username
    )
    return record, document


@bp.route("/cases/<case_id>/documents")
@requires_roles(*PRINT_ROLES)
def case_documents(case_id: str):
    record = _case_or_404(case_id)
    return render_template(
        "documents/list.html",
        case=record,
        documents=document_service.available_documents(case_id),
        issued=document_service.issued_documents(case_id),
        level=case_service.station().level,
    )


@bp.route("/cases/<case_id>/documents/<kind>.pdf")
@requires_roles(*PRINT_ROLES)
def case_document_pdf(case_id: str, kind: str):
    record, document = _case_document(case_id, kind)
    try:
        pdf = render(document, _fonts())
    except (FontMissingError, DocumentError) as e:
        return _printing_failed(e)
    return _pdf_response(pdf, f"{kind}-{record.number}.pdf")


@bp.route("/cases/<case_id>/documents/<kind>")
@requires_roles(*PRINT_ROLES)
def case_document(case_id: str, kind: str):
    record, document = _case_document(case_id, kind)
    try:
        html = render_html(document)
    except DocumentError as e:
        return _printing_failed(e)
    return _print_view(
        html,
        url_for("documents.case_document_pdf", case_id=case_id, kind=kind),
        url_for("documents.case_documents", case_id=record.id),
    )


def _guide(code: str):
    catalog = current_catalog()
    try:
        item = catalog.item(code)
    except UnknownItemError:
        abort(404)
    return item, service_guide(catalog, item, case_service.station())


@bp.route("/items/<code>/guide")
@requires_roles(*ALL_STATION_USERS)
def item_guide(code: str):
    item, guide = _guide(code)
    return _print_view(
        render_html(guide),
        url_for("documents.item_guide_pdf", code=item.code),
        url_for("items.guide", code=item.code),
    )


@bp.route("/items/<code>/guide.pdf")
@requires_roles(*ALL_STATION_USERS)
def item_guide_pdf(code: str):
    item, guide = _guide(code)
    try:
        pdf = render(guide, _fonts())
    except FontMissingError as e:
        return _printing_failed(e)
    return _pdf_response(pdf, f"service_guide-{item.code}-v{item.version}.pdf")


def _sheet_day() -> dt.date:
    raw = request.args.get("date", "").strip()
    if not raw:
        return today()
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        abort(400)


def _daily_sheet(day: dt.date):
    return build_daily_sheet(case_service.station(), day, g.user.display_name)


@bp.route("/daily-sheet")
@requires_roles(*PRINT_ROLES)
def daily_sheet():
    day = _sheet_day()
    return _print_view(
        render_html(_daily_sheet(day)),
        url_for("documents.daily_sheet_pdf", date=day.isoformat()),
        url_for("home.index"),
    )


@bp.route("/daily-sheet.pdf")
@requires_roles(*PRINT_ROLES)
def daily_sheet_pdf():
    day = _sheet_day()
    try:
        pdf = render(_daily_sheet(day), _fonts())
    except FontMissingError as e:
        return _printing_failed(e)
    identity = case_service.station()
    return _pdf_response(pdf, f"daily_sheet-{identity.station_code}-{day.isoformat()}.pdf")


@bp.route("/verify")
@requires_roles(*ALL_STATION_USERS)
def verify():
    payload = request.args.get("payload", "")[:4096]
    result = error = None
    if payload.strip():
        try:
            result = verify_text(payload, current_node().keys.signing_key)
        except VerificationFailedError as e:
            error = e.message.text(_locale())
    status = 422 if error else 200
    return render_template("documents/verify.html", payload=payload, result=result, error=error), status
