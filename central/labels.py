"""Readable (translated) words for stored codes: batch statuses, reasons, event types, case states, audit actions."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_babel import gettext as _

_ID_NUMBER = re.compile(r"\b(\d{6})\d{8}(\d{3}[\dXx])\b")


def batch_status_label(status: str) -> str:
    labels = {
        "stored": _("stored, waiting to be processed"),
        "applied": _("applied"),
        "pending_gap": _("pending: waiting for missing events"),
        "quarantined": _("quarantined"),
        "rejected": _("rejected"),
        "duplicate": _("duplicate (already held)"),
    }
    return labels.get(status, status)


def station_status_label(status: str) -> str:
    return {
        "registered": _("registered, not enrolled"),
        "enrolled": _("enrolled"),
        "revoked": _("revoked"),
    }.get(status, status)


def reason_label(reason: str) -> str:
    labels = {
        "seal_failed": _("the sealed file cannot be opened"),
        "seal_header": _("the sealed file's header is damaged or forged"),
        "seal_truncated": _("the file is truncated"),
        "seal_auth": _("the file was altered"),
        "seal_no_identity": _("the file was not sealed to this central"),
        "bad_signature": _("the signature does not verify"),
        "wrong_network": _("the batch belongs to another deployment"),
        "wrong_recipient": _("the batch names another recipient"),
        "unknown_key": _("the station or its key is not enrolled (yet)"),
        "revoked_key": _("signed by a revoked key"),
        "malformed": _("the content is malformed"),
        "non_canonical": _("an event is not in canonical form"),
        "size_limit": _("over the size limit"),
        "digest_mismatch": _("the content does not match its signed digest"),
        "chain": _("the hash chain is broken"),
        "fork": _("fork: the station reused sequence numbers"),
        "gap": _("gap: earlier events are missing"),
        "not_a_batch": _("the file is not a batch"),
    }
    return labels.get(reason, reason)


def event_type_label(event_type: str) -> str:
    labels = {
        "epoch.open": _("log epoch opened"),
        "key.rotate": _("station key rotated"),
        "rehome": _("re-issued after a fork"),
        "case.received": _("application received"),
        "case.accepted": _("application accepted"),
        "case.transition": _("case state changed"),
        "case.field_edited": _("case details edited"),
        "conflict_flagged": _("conflict waiting for central review"),
        "conflict_resolved": _("conflict resolved"),
        "unreadable": _("unreadable event"),
    }
    return labels.get(event_type, event_type)


def case_state_label(state: str) -> str:
    """casework's own state names (the station shows the same words); English from the state key."""
    from flask_babel import get_locale

    from casework.lifecycle import CaseState

    try:
        case_state = CaseState(state)
    except ValueError:
        return state
    return case_state.zh if str(get_locale() or "zh") == "zh" else state.replace("_", " ")


def audit_action_label(action: str) -> str:
    labels = {
        "login": _("logged in"),
        "login_failed": _("failed login"),
        "login_locked": _("login locked"),
        "logout": _("logged out"),
        "user_created": _("user created"),
        "station_registered": _("station registered"),
        "enrollment_code_issued": _("enrollment code issued"),
        "station_enrolled": _("station enrolled"),
        "enrollment_refused": _("enrollment refused"),
        "station_revoked": _("station revoked"),
        "key_used": _("key used"),
        "batch_quarantined": _("batch quarantined"),
        "batch_rejected": _("batch rejected"),
        "export": _("export"),
        "resolution": _("conflict resolved"),
        "published": _("reference data published"),
        "bundle_issued": _("downstream bundle issued"),
        "key_rotated": _("station key rotated"),
        "blob_quarantined": _("blob quarantined"),
        "root_rotated": _("central root key rotated"),
    }
    return labels.get(action, action)


def event_label(event: Any) -> str:
    """An event's readable name: casework's bilingual summary for domain events, ours for protocol events."""
    from flask_babel import get_locale

    if getattr(event, "summary", None) is not None:
        return event.summary.text(str(get_locale() or "zh"))
    return event_type_label(event.event_type)


def _mask(value: Any) -> str:
    return _ID_NUMBER.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(2), str(value))


def payload_text(payload: dict[str, Any], limit: int = 240) -> str:
    """A short one-line rendering of an event payload, with anything shaped like an ID number masked."""
    parts = []
    for key, value in sorted(payload.items()):
        if isinstance(value, list | dict):
            value = f"[{len(value)}]"
        parts.append(f"{key}: {_mask(value)}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def init_labels(app: Flask) -> None:
    for function in (
        batch_status_label,
        station_status_label,
        reason_label,
        event_type_label,
        event_label,
        case_state_label,
        audit_action_label,
        payload_text,
    ):
        app.add_template_global(function)
