"""核验: paste or scan a receipt QR or folder label; it is checked against the enrolled station keys."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from ..auth import requires_roles
from ..roles import AUDITOR, CENTRAL_ADMIN, COUNTY_CLERK, TOWNSHIP_CLERK
from ..services.verify import VerificationFailedError, verify_text

bp = Blueprint("verify", __name__)
VERIFY_ROLES = (CENTRAL_ADMIN, AUDITOR, COUNTY_CLERK, TOWNSHIP_CLERK)


@bp.route("/verify")
@requires_roles(*VERIFY_ROLES)
def verify():
    payload = request.args.get("payload", "")[:4096]
    result = error = None
    if payload.strip():
        try:
            result = verify_text(payload)
        except VerificationFailedError as e:
            error = e.bilingual.text(str(get_locale() or "zh"))
    status = 422 if error else 200
    return render_template("verify/verify.html", payload=payload, result=result, error=error), status
