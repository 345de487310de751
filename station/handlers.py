"""The one place that turns errors into pages: HTML for people, JSON under /api/; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .errors import StationError

log = logging.getLogger(__name__)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Go back and try again."),
        403: _("Your role does not allow this page."),
        404: _("This page does not exist."),
        405: _("This action is not allowed here."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait and try again."),
        500: _("Something went wrong on this station. The error was recorded; please try again."),
    }


def _respond(status: int, message: str, code: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": code, "message": message}), status
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        message = _(
            "The form has expired or was not sent from this station. Reload the page and submit again."
        )
        return _respond(400, message, "csrf")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        return _respond(status, _messages().get(status, error.name), f"http_{status}")

    @app.errorhandler(StationError)
    def station_error(error: StationError):
        log.warning("station error %s: %s", error.code, error)
        return _respond(409, str(error), error.code)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return http_error(error)
        log.exception("unhandled error on %s", request.path)
        return _respond(500, _messages()[500], InternalServerError.code and "internal")
