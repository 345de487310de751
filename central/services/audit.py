"""The append-only audit log (审计日志): who did what security-relevant thing, when, from where."""

from __future__ import annotations

import json
from typing import Any

from ..db import database
from ..models import AuditEntry

ACTIONS = (
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "user_created",
    "station_registered",
    "enrollment_code_issued",
    "station_enrolled",
    "enrollment_refused",
    "station_revoked",
    "key_used",
    "batch_quarantined",
    "batch_rejected",
    "export",
    "resolution",
    "published",
    "bundle_issued",
    "key_rotated",
    "blob_quarantined",
    "root_rotated",
)


def record_audit(
    actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None, ip: str = ""
) -> None:
    """Append one audit entry (inside the caller's transaction when there is one)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    database.connect(reuse_if_open=True)
    AuditEntry.create(
        actor=actor[:64],
        action=action,
        target=target[:200],
        detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
        ip=ip[:64],
    )


def recent_audit(limit: int = 100, offset: int = 0, action: str | None = None) -> list[AuditEntry]:
    query = AuditEntry.select().order_by(AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    return list(query.limit(limit).offset(offset))
