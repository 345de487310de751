"""Central ingest decisions (入库判定): SYNC-DESIGN §7 as one pure function over what central already holds.

Batch-level checks (seal, signature, network, recipient, framing) happen in ``batch.open_batch``; this module
takes the verified events and a ``StationHistory`` view (central's store is an implementation detail) and says,
per event, what to do: accept, accept a late event of an older epoch, open a new epoch, no-op a duplicate,
quarantine a fork, hold a gap, quarantine for an unknown or revoked key, or route a new epoch to review.
It also holds the station-side fork-recovery plan: open a new epoch and re-issue the forked events as ``rehome``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .batch import OpenedBatch
from .events import EPOCH_OPEN, KEY_ROTATE, REHOME, Event, epoch_open_event, rehome_event
from .hlc import HLC, is_clock_suspect

Position = tuple[int, int]


class Outcome(StrEnum):
    """What central does with one event."""

    ACCEPT = "accept"  # append to the central log and apply (§9)
    ACCEPT_LATE = "accept_late"  # a late event of an older epoch, contiguous with its chain: accept
    OPEN_EPOCH = "open_epoch"  # an epoch.open whose link and authorization check out: accept
    DUPLICATE = "duplicate"  # central already holds this exact event: no-op, counted
    FORK = (
        "fork"  # another event holds this (epoch, seq), or prev is not seq-1's id: quarantine, tell station
    )
    GAP = "gap"  # a predecessor is missing: hold as pending, the ack lists the missing range
    UNKNOWN_KEY = (
        "unknown_key"  # station or key not (yet) enrolled: quarantine, re-evaluate on registry change
    )
    REVOKED = "revoked"  # key revoked before this position: quarantine for human review
    EPOCH_REVIEW = "epoch_review"  # a new epoch without authorization: hold for a human

    @property
    def appends(self) -> bool:
        """True when the event joins central's log for this station."""
        return self in (Outcome.ACCEPT, Outcome.ACCEPT_LATE, Outcome.OPEN_EPOCH)


@dataclass(frozen=True)
class KeyStatus:
    """The registry's view of the key that signed the batch."""

    known: bool
    revoked_after: Position | None = None


@dataclass(frozen=True)
class EpochHistory:
    """What central holds of one epoch: its contiguous head and ids by seq (at least for the batch's range and
    for seqs an ``epoch.open`` links to), plus events held pending beyond a gap. ``head_seq`` 0 (with
    ``head_id`` ZERO_ID) means central holds no contiguous part of the epoch yet, only ``held`` events."""

    head_seq: int
    head_id: str
    ids: Mapping[int, str] = field(default_factory=dict)
    held: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StationHistory:
    """Everything ``decide`` needs to know about one station, as central holds it before this batch."""

    station_id: str
    epochs: Mapping[int, EpochHistory] = field(default_factory=dict)
    authorized_epochs: frozenset[int] = frozenset()
    """Epochs central authorized ahead of time (a signed restore authorization, a re-enrollment certificate)."""
    has_open_fork: bool = False
    """Central recorded a fork for this station and told it; a fork_recovery epoch is then expected."""
    rehomed_originals: frozenset[str] = frozenset()
    """Ids of originals already re-issued by an accepted rehome."""
    applied_originals: frozenset[str] = frozenset()
    """Of the originals the batch's rehomes name, those central applied itself."""


@dataclass(frozen=True)
class EventDecision:
    event: Event
    outcome: Outcome
    reason: str
    apply: bool = False
    """Apply to the domain (only for appended events whose content is new)."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchDecision:
    decisions: tuple[EventDecision, ...]
    heads: dict[int, tuple[int, str]]
    """Per epoch, central's contiguous head after this batch: (seq, id)."""
    clock_suspect: bool = False

    def by_outcome(self, outcome: Outcome) -> list[EventDecision]:
        return [d for d in self.decisions if d.outcome is outcome]


class _State:
    """Central's view, advanced event by event as the batch is decided."""

    def __init__(self, history: StationHistory) -> None:
        self.history = history
        self.heads = {ep: (h.head_seq, h.head_id) for ep, h in history.epochs.items() if h.head_seq > 0}
        self.ids: dict[Position, str] = {}
        self.held: dict[Position, str] = {}
        for ep, h in history.epochs.items():
            self.ids.update({(ep, s): i for s, i in h.ids.items()})
            self.held.update({(ep, s): i for s, i in h.held.items()})
        self.rehomed = set(history.rehomed_originals)

    def id_at(self, position: Position) -> str | None:
        epoch, seq = position
        head = self.heads.get(epoch)
        if head is not None and head[0] == seq:
            return head[1]
        return self.ids.get(position)

    def append(self, event: Event) -> None:
        self.heads[event.epoch] = (event.seq, event.event_id)
        self.ids[event.position] = event.event_id
        self.held.pop(event.position, None)


def _decide_epoch_open(event: Event, state: _State) -> EventDecision:
    history = state.history
    reason = event.payload["reason"]
    prev_epoch, prev_seq = event.payload["prev_epoch"], event.payload["prev_seq"]
    if prev_epoch == 0:
        if not state.heads:
            return EventDecision(event, Outcome.OPEN_EPOCH, "install", apply=True)
        if event.epoch in history.authorized_epochs:
            return EventDecision(event, Outcome.OPEN_EPOCH, reason, apply=True)
        return EventDecision(event, Outcome.EPOCH_REVIEW, "install_over_existing_history")
    linked_head = state.heads.get(prev_epoch)
    if linked_head is None or prev_seq > linked_head[0]:
        return EventDecision(
            event, Outcome.GAP, "link_not_yet_received", details={"epoch": prev_epoch, "seq": prev_seq}
        )
    linked_id = state.id_at((prev_epoch, prev_seq))
    if linked_id is None:
        raise ValueError(f"history lacks the id of ({prev_epoch}, {prev_seq}) that an epoch.open links to")
    if linked_id != event.prev:
        return EventDecision(event, Outcome.FORK, "epoch_link_mismatch", details={"held": linked_id})
    authorized = event.epoch in history.authorized_epochs or (
        reason == "fork_recovery" and history.has_open_fork
    )
    if not authorized:
        return EventDecision(event, Outcome.EPOCH_REVIEW, f"{reason}_needs_authorization")
    return EventDecision(event, Outcome.OPEN_EPOCH, reason, apply=True)


def _decide_position(event: Event, state: _State) -> EventDecision:
    position = event.position
    held_here = state.held.get(position)
    known = state.id_at(position)
    head = state.heads.get(event.epoch)
    if head is not None and event.seq <= head[0]:
        if known is None:
            raise ValueError(f"history lacks the id at {position}, at or below the head")
        if known == event.event_id:
            return EventDecision(event, Outcome.DUPLICATE, "duplicate")
        return EventDecision(event, Outcome.FORK, "different_event_at_seq", details={"held": known})
    if held_here is not None and held_here != event.event_id:
        return EventDecision(event, Outcome.FORK, "different_event_at_seq", details={"held": held_here})
    if head is None and event.seq == 1:
        decision = _decide_epoch_open(event, state)
        if held_here is not None and not decision.outcome.appends:
            return EventDecision(event, Outcome.DUPLICATE, "already_held")
        return decision
    if head is not None and event.seq == head[0] + 1:
        if event.prev != head[1]:
            return EventDecision(event, Outcome.FORK, "prev_mismatch", details={"held": head[1]})
        newest = max(state.heads)
        outcome = Outcome.ACCEPT_LATE if event.epoch < newest else Outcome.ACCEPT
        return EventDecision(event, outcome, outcome.value, apply=True)
    if held_here is not None:
        return EventDecision(event, Outcome.DUPLICATE, "already_held")
    held_before = state.held.get((event.epoch, event.seq - 1))
    if held_before is not None and held_before != event.prev:
        return EventDecision(event, Outcome.FORK, "prev_mismatch", details={"held": held_before})
    first_missing = head[0] + 1 if head is not None else 1
    return EventDecision(
        event,
        Outcome.GAP,
        "predecessor_missing",
        details={"missing_from": first_missing, "missing_to": event.seq - 1},
    )


def _with_rehome(decision: EventDecision, state: _State) -> EventDecision:
    event = decision.event
    if event.type != REHOME or not decision.outcome.appends:
        return decision
    original = event.payload["of"]
    if original in state.rehomed or original in state.history.applied_originals:
        return EventDecision(
            event, decision.outcome, "rehome_of_known_content", apply=False, details={"original": original}
        )
    state.rehomed.add(original)
    return decision


def decide(
    events: Sequence[Event],
    history: StationHistory,
    *,
    key: KeyStatus,
) -> BatchDecision:
    """Decide every event of one station, in the order given (a batch, or held events re-evaluated in seq order).

    Raises:
        ValueError: ``history`` is incomplete (lacks an id at or below a head the events touch) or an event is
            from another station — both are bugs in the caller, not in the input.
    """
    state = _State(history)
    decisions: list[EventDecision] = []
    for event in events:
        if event.station_id != history.station_id:
            raise ValueError("events of another station")
        if not key.known:
            decision = EventDecision(event, Outcome.UNKNOWN_KEY, "unknown_key")
        elif key.revoked_after is not None and event.position > key.revoked_after:
            decision = EventDecision(
                event, Outcome.REVOKED, "revoked_key", details={"revoked_after": list(key.revoked_after)}
            )
        else:
            decision = _with_rehome(_decide_position(event, state), state)
        if decision.outcome.appends:
            state.append(event)
        elif decision.outcome in (Outcome.GAP, Outcome.EPOCH_REVIEW):
            state.held[event.position] = event.event_id
        decisions.append(decision)
    return BatchDecision(tuple(decisions), dict(state.heads))


def decide_batch(
    batch: OpenedBatch, history: StationHistory, *, key: KeyStatus, central_wall_ms: int
) -> BatchDecision:
    """``decide`` for an opened batch, also flagging a station clock implausibly far ahead of central's."""
    decision = decide(batch.events, history, key=key)
    suspect = is_clock_suspect(HLC.from_string(batch.checkpoint.hlc), central_wall_ms)
    return BatchDecision(decision.decisions, decision.heads, clock_suspect=suspect)


# --- station side: fork recovery -----------------------------------------------------------------------------


def forked_events(local_epoch_events: Sequence[Event], fork_seq: int) -> list[Event]:
    """The station's own events from ``fork_seq`` on (its side of the fork) whose content must be re-issued."""
    return [e for e in local_epoch_events if e.seq >= fork_seq and e.type not in (EPOCH_OPEN, KEY_ROTATE)]


def fork_recovery_events(
    local_epoch_events: Sequence[Event],
    *,
    fork_seq: int,
    agreed_head: tuple[int, int, str],
    new_epoch: int,
    hlc: HLC,
    wall_ms: int,
    actor: str,
) -> list[Event]:
    """Open ``new_epoch`` (reason fork_recovery) linked to ``agreed_head`` — (epoch, seq, id) of the last event
    central and station agree on — and re-issue every forked event as a ``rehome`` naming its original.

    Nothing staff entered is lost; central applies each original's content at most once.
    """
    if not local_epoch_events:
        raise ValueError("no local events to recover")
    first = local_epoch_events[0]
    clock = hlc
    opened = epoch_open_event(
        network=first.network,
        station_id=first.station_id,
        epoch=new_epoch,
        reason="fork_recovery",
        previous_head=agreed_head,
        hlc=clock,
        wall_ms=wall_ms,
        actor=actor,
    )
    out = [opened]
    for original in forked_events(local_epoch_events, fork_seq):
        clock = clock.tick(wall_ms)
        out.append(
            rehome_event(
                original,
                epoch=new_epoch,
                seq=out[-1].seq + 1,
                prev=out[-1].event_id,
                hlc=clock,
                wall_ms=wall_ms,
                actor=actor,
            )
        )
    return out


__all__ = [
    "BatchDecision",
    "EpochHistory",
    "EventDecision",
    "KeyStatus",
    "Outcome",
    "StationHistory",
    "decide",
    "decide_batch",
    "fork_recovery_events",
    "forked_events",
]
