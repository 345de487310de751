"""A person's side of the conflict queue (冲突处理): the choices per class, resolving one conflict (a signed central
event that flows back to the stations), and reading both sides of a conflict for the review page."""

from __future__ import annotations

import json

from sync_protocol.errors import ProtocolError
from sync_protocol.events import EPOCH_OPEN, Event, parse_event

from ..errors import NotFoundError
from ..models import Conflict, LogEvent, utcnow
from .audit import record_audit
from .central_log import append_resolution
from .duplicates import duplicate_cases

HUMAN_CHOICES = {
    "apply_incoming": True,
    "keep_applied": False,
    "mark_distinct": True,
    "merge": True,
    "dismiss": False,
    "authorize_epoch": False,
}
# What a person may choose, by class. A duplicate's cases both stand (merge tombstones the later one and
# redirects it to the earlier; nothing is deleted); an application under an older catalog stands too.
CHOICES_BY_CLASS = {
    "A": ("apply_incoming", "keep_applied"),
    "B": ("apply_incoming", "keep_applied"),
    "C": ("merge", "mark_distinct"),
    "D": ("apply_incoming", "keep_applied", "mark_distinct", "dismiss"),
    "E": ("apply_incoming",),
    "F": ("apply_incoming", "keep_applied"),
    "G": ("dismiss", "authorize_epoch"),
}


def choices_for(conflict: Conflict) -> tuple[str, ...]:
    """The resolutions a person may choose for this conflict."""
    choices = CHOICES_BY_CLASS.get(conflict.conflict_class, tuple(HUMAN_CHOICES))
    return tuple(c for c in choices if c != "authorize_epoch" or is_epoch_review(conflict))


def resolve(conflict_id: int, choice: str, actor: str) -> Conflict:
    """A person's resolution of an open conflict; replaying it on a resolved conflict is a no-op."""
    from ..db import write_transaction
    from ..runtime import current_runtime
    from .acks import issue_ack
    from .projections import refresh_cases

    if choice not in HUMAN_CHOICES:
        raise ValueError(f"unknown resolution {choice!r}")
    with write_transaction():
        conflict = Conflict.get_or_none(Conflict.id == conflict_id)
        if conflict is None:
            raise NotFoundError(f"conflict {conflict_id} does not exist")
        if conflict.status != "open":
            return conflict
        if choice == "authorize_epoch" and not is_epoch_review(conflict):
            raise ValueError("only a new epoch waiting for review can be authorized")
        if choice not in choices_for(conflict):
            raise ValueError(f"{choice!r} does not resolve a class {conflict.conflict_class} conflict")
        conflict.incoming_applied = HUMAN_CHOICES[choice] and conflict.conflict_class != "G"
        conflict.status = "resolved"
        conflict.outcome = choice
        conflict.resolved_at = utcnow()
        conflict.resolved_by = actor
        conflict.resolution_event_id = append_resolution(conflict, choice, actor, automatic=False)
        conflict.save()
        record_audit(
            actor,
            "resolution",
            f"conflict {conflict.id}",
            {"class": conflict.conflict_class, "choice": choice},
        )
        if conflict.conflict_class == "C":
            refresh_cases(duplicate_cases(conflict))
        elif conflict.aggregate_id:
            refresh_cases([conflict.aggregate_id])
    runtime = current_runtime()
    if choice == "authorize_epoch":
        from .epochs import authorize_quarantined_epoch
        from .ingest import ingest_file

        for name in authorize_quarantined_epoch(runtime, conflict.incoming_event_id, actor):
            ingest_file(runtime, name)
    issue_ack(conflict.station_code, runtime.network_id, runtime.keys.central)  # the not-applied note is gone
    return conflict


def is_epoch_review(conflict: Conflict) -> bool:
    """A class-G conflict about a new epoch (restore, re-enrollment) that a person may authorize."""
    from ..models import QuarantinedEvent

    if conflict.conflict_class != "G" or not conflict.incoming_event_id:
        return False
    row = QuarantinedEvent.get_or_none(QuarantinedEvent.event_id == conflict.incoming_event_id)
    return row is not None and row.seq == 1 and parse_event(bytes(row.body)).type == EPOCH_OPEN


def list_conflicts(status: str | None, conflict_class: str | None, limit: int, offset: int) -> list[Conflict]:
    query = Conflict.select().order_by(Conflict.created_at.asc(), Conflict.id)
    if status:
        query = query.where(Conflict.status == status)
    if conflict_class:
        query = query.where(Conflict.conflict_class == conflict_class)
    return list(query.limit(limit).offset(offset))


def conflict_sides(conflict: Conflict) -> tuple[list[Event], Event | None]:
    """Both sides of a conflict: what central holds, and the event that arrived. An integrity conflict's event
    is not in the log: it is read from the fork evidence or the quarantine, and set against the event central
    holds at that position (or the one it should have followed)."""
    from ..models import ForkEvidence, QuarantinedEvent

    ids = json.loads(conflict.applied_event_ids or "[]")
    applied = [
        parse_event(bytes(r.body)) for r in LogEvent.select(LogEvent.body).where(LogEvent.event_id.in_(ids))
    ]
    incoming_row = LogEvent.get_or_none(LogEvent.event_id == conflict.incoming_event_id)
    if incoming_row is not None:
        return applied, parse_event(bytes(incoming_row.body))
    if conflict.conflict_class != "G" or not conflict.incoming_event_id:
        return applied, None
    fork = ForkEvidence.get_or_none(ForkEvidence.incoming_event_id == conflict.incoming_event_id)
    held = QuarantinedEvent.get_or_none(QuarantinedEvent.event_id == conflict.incoming_event_id)
    body = bytes(fork.incoming_body) if fork is not None else bytes(held.body) if held is not None else None
    try:
        incoming = parse_event(body) if body else None
    except ProtocolError:
        return applied, None
    if incoming is not None and not applied:
        for seq in (incoming.seq, incoming.seq - 1):
            row = LogEvent.get_or_none(
                LogEvent.station_code == incoming.station_id,
                LogEvent.epoch == incoming.epoch,
                LogEvent.seq == seq,
            )
            if row is not None:
                applied = [parse_event(bytes(row.body))]
                break
    return applied, incoming
