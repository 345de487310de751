"""The one place errors become responses: HTML for pages, JSON for /api/, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .errors import CentralError

log = logging.getLogger("central")


def _title_for(status: int) -> str:
    titles = {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have permission to open this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
    }
    return titles.get(status, _("Something went wrong on the server. The error was recorded."))


def _respond(status: int, code: str, message: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": code, "message": message}), status
    return render_template("error.html", status=status, title=_title_for(status), message=message), status


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        return _respond(
            400, "csrf", _("The form expired or was sent from elsewhere. Reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        return _respond(status, code, _title_for(status))

    @app.errorhandler(CentralError)
    def central_error(error: CentralError):
        if error.http_status >= 500:
            log.error("central error on %s: %s", request.path, error.message)
        return _respond(error.http_status, error.code, error.message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s", request.path)
        return _respond(500, "internal", _title_for(500))
