"""The names case events carry on the wire: one home for the mapping both nodes use.

casework names an event by what happened to the case (``received``, ``accepted`` …); in a station's log the
event type also says which aggregate it belongs to (``case.received``, ``applicant.created``), so a reader of the
log can route it without knowing casework's table.
"""

from __future__ import annotations

from typing import Any, Protocol

from casework.events import CaseEvent

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


class LoggedEvent(Protocol):
    """What a log event (``sync_protocol.events.Event``) offers a reader: the domain type and payload it carries —
    for a ``rehome`` re-issued after fork recovery, its original's — and who acted where and when."""

    @property
    def effective_type(self) -> str: ...
    @property
    def effective_payload(self) -> dict[str, Any]: ...
    @property
    def wall_ms(self) -> int: ...
    @property
    def actor(self) -> str: ...
    @property
    def station_id(self) -> str: ...


def effective_casework_type(event: LoggedEvent) -> str:
    """The casework type a log event counts as: a rehome counts as the event it re-issues (``custody_dispatched``
    …), never as ``rehome``; a type outside casework stays as logged."""
    return casework_type(event.effective_type) or event.effective_type


def case_event(event: LoggedEvent) -> CaseEvent:
    """A log event as casework folds it (the one conversion the station and central both use)."""
    return CaseEvent(
        effective_casework_type(event),
        event.effective_payload,
        at=event.wall_ms,
        actor=event.actor,
        station=event.station_id,
    )
