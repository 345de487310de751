"""The names case events carry on the wire: one home for the mapping both nodes use.

casework names an event by what happened to the case (``received``, ``accepted`` …); in a station's log the
event type also says which aggregate it belongs to (``case.received``, ``applicant.created``), so a reader of the
log can route it without knowing casework's table.
"""

from __future__ import annotations

CASE_PREFIX = "case."
_APPLICANT_TYPES = {"applicant_created": "applicant.created", "applicant_edited": "applicant.edited"}
_APPLICANT_BY_WIRE = {wire: local for local, wire in _APPLICANT_TYPES.items()}


def wire_type(casework_type: str) -> str:
    """The log's event type for a casework event type (``received`` → ``case.received``)."""
    return _APPLICANT_TYPES.get(casework_type, CASE_PREFIX + casework_type)


def casework_type(wire: str) -> str | None:
    """The casework event type a log event carries, or None when it is not a case or applicant event."""
    if wire in _APPLICANT_BY_WIRE:
        return _APPLICANT_BY_WIRE[wire]
    if wire.startswith(CASE_PREFIX) and len(wire) > len(CASE_PREFIX):
        return wire[len(CASE_PREFIX) :]
    return None
