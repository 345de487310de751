"""Central ingest decisions (入库判定): SYNC-DESIGN §7 as one pure function over what central already holds.

Batch-level checks (seal, signature, network, recipient, framing) happen in ``batch.open_batch``; this module
takes the verified events and a ``StationHistory`` view (central's store is an implementation detail) and says,
per event, what to do: accept, accept a late event of an older epoch, open a new epoch, no-op a duplicate,
quarantine a fork, hold a gap, quarantine for an unknown or revoked key, reject a malformed body (kept as
evidence), or route a new epoch without a valid central-signed authorization to review.
It also holds the station-side fork-recovery plan: open a new epoch and re-issue the forked events as ``rehome``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .authorization import EpochAuthorization, authorizing
from .batch import OpenedBatch
from .events import (
    EPOCH_OPEN,
    KEY_ROTATE,
    REHOME,
    Event,
    MalformedEvent,
    epoch_open_event,
    rehome_event,
)
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
    EPOCH_REVIEW = "epoch_review"  # a new epoch without authorization: hold for a human (epoch_needs_review)
    MALFORMED = "malformed"  # the body does not parse: reject this event, keep its bytes as evidence

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
    malformed: Mapping[int, str] = field(default_factory=dict)
    """Seqs central rejected as malformed (id of the raw bytes): their successors are held, not applied."""


@dataclass(frozen=True)
class StationHistory:
    """Everything ``decide`` needs to know about one station, as central holds it before this batch."""

    station_id: str
    epochs: Mapping[int, EpochHistory] = field(default_factory=dict)
    authorized_epochs: frozenset[int] = frozenset()
    """Epochs whose opening the caller already verified a central signature for, without naming a link (the
    ``ep`` of a re-enrollment certificate central issued). Any link to a held id is then accepted."""
    epoch_authorizations: tuple[EpochAuthorization, ...] = ()
    """Central-signed epoch authorizations issued for this station (authorization.py); ``decide`` verifies each
    against ``central_keys`` and opens an epoch only when one names exactly its epoch, reason and link."""
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
class MalformedDecision:
    """A body that did not parse: rejected as malformed (quarantine its bytes as evidence), never applied."""

    item: MalformedEvent
    outcome: Outcome = Outcome.MALFORMED

    @property
    def reason(self) -> str:
        return self.item.reason


@dataclass(frozen=True)
class BatchDecision:
    decisions: tuple[EventDecision, ...]
    """One decision per parsed event, in the order given."""
    heads: dict[int, tuple[int, str]]
    """Per epoch, central's contiguous head after this batch: (seq, id)."""
    clock_suspect: bool = False
    malformed: tuple[MalformedDecision, ...] = ()
    """One decision per malformed body (outcome ``malformed``), in seq order."""

    def by_outcome(self, outcome: Outcome) -> list[EventDecision]:
        return [d for d in self.decisions if d.outcome is outcome]


class _State:
    """Central's view, advanced event by event as the batch is decided."""

    def __init__(self, history: StationHistory, central_keys: Collection[bytes]) -> None:
        self.history = history
        self.central_keys = central_keys
        self.heads = {ep: (h.head_seq, h.head_id) for ep, h in history.epochs.items() if h.head_seq > 0}
        self.ids: dict[Position, str] = {}
        self.held: dict[Position, str] = {}
        self.malformed: dict[Position, str] = {}
        for ep, h in history.epochs.items():
            self.ids.update({(ep, s): i for s, i in h.ids.items()})
            self.held.update({(ep, s): i for s, i in h.held.items()})
            self.malformed.update({(ep, s): i for s, i in h.malformed.items()})
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


def _authorization(event: Event, state: _State) -> tuple[str | None, dict[str, Any]]:
    """Who authorized opening this epoch, if anyone; details for the review queue otherwise."""
    history = state.history
    if event.epoch in history.authorized_epochs:
        return "certificate", {}
    if (
        event.payload["reason"] == "fork_recovery"
        and history.has_open_fork
        and event.payload["prev_epoch"] > 0
    ):
        return "recorded_fork", {}  # recovery continues from a head both sides hold, never from nothing
    found, rejected = authorizing(event, history.epoch_authorizations, state.central_keys)
    if found is not None:
        return "epoch_authorization", {"issued": found.issued_ms}
    return None, {"invalid_authorizations": rejected} if rejected else {}


def _decide_epoch_open(event: Event, state: _State) -> EventDecision:
    reason = event.payload["reason"]
    prev_epoch, prev_seq = event.payload["prev_epoch"], event.payload["prev_seq"]
    if prev_epoch == 0 and not state.heads:
        return EventDecision(event, Outcome.OPEN_EPOCH, "install", apply=True)
    if prev_epoch > 0:
        linked_head = state.heads.get(prev_epoch)
        if linked_head is None or prev_seq > linked_head[0]:
            return EventDecision(
                event, Outcome.GAP, "link_not_yet_received", details={"epoch": prev_epoch, "seq": prev_seq}
            )
        linked_id = state.id_at((prev_epoch, prev_seq))
        if linked_id is None:
            raise ValueError(
                f"history lacks the id of ({prev_epoch}, {prev_seq}) that an epoch.open links to"
            )
        if linked_id != event.prev:
            return EventDecision(event, Outcome.FORK, "epoch_link_mismatch", details={"held": linked_id})
    authorized_by, details = _authorization(event, state)
    if authorized_by is None:
        return EventDecision(
            event,
            Outcome.EPOCH_REVIEW,
            "epoch_needs_review",
            details={"epoch_reason": reason, "link": [prev_epoch, prev_seq], **details},
        )
    return EventDecision(
        event, Outcome.OPEN_EPOCH, reason, apply=True, details={"authorized_by": authorized_by, **details}
    )


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
    details: dict[str, Any] = {"missing_from": first_missing, "missing_to": event.seq - 1}
    malformed_before = state.malformed.get((event.epoch, event.seq - 1))
    if malformed_before is not None and malformed_before != event.prev:
        return EventDecision(event, Outcome.FORK, "prev_mismatch", details={"held": malformed_before})
    if malformed_before is not None:
        return EventDecision(
            event, Outcome.GAP, "predecessor_malformed", details={**details, "malformed_seq": event.seq - 1}
        )
    return EventDecision(event, Outcome.GAP, "predecessor_missing", details=details)


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
    events: Sequence[Event | MalformedEvent],
    history: StationHistory,
    *,
    key: KeyStatus,
    central_keys: Collection[bytes] = (),
) -> BatchDecision:
    """Decide every event of one station, in the order given (a batch's ``items``, or held events re-evaluated
    in seq order). A ``MalformedEvent`` is rejected on its own (outcome ``malformed``); its successors are then
    held as a gap (reason ``predecessor_malformed``), never applied over it.

    ``central_keys`` are central's online public keys (the trust root's ``central_keys``); they verify
    ``history.epoch_authorizations``.

    Raises:
        ValueError: ``history`` is incomplete (lacks an id at or below a head the events touch), an event is
            from another station, or authorizations are given without keys to verify them — all bugs in the
            caller, not in the input.
    """
    if history.epoch_authorizations and not central_keys:
        raise ValueError("epoch authorizations need central_keys to be verified")
    state = _State(history, central_keys)
    decisions: list[EventDecision] = []
    malformed: list[MalformedDecision] = []
    for item in events:
        if isinstance(item, MalformedEvent):
            malformed.append(MalformedDecision(item))
            state.malformed[item.position] = item.event_id
            continue
        event = item
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
    return BatchDecision(tuple(decisions), dict(state.heads), malformed=tuple(malformed))


def decide_batch(
    batch: OpenedBatch,
    history: StationHistory,
    *,
    key: KeyStatus,
    central_wall_ms: int,
    central_keys: Collection[bytes] = (),
) -> BatchDecision:
    """``decide`` over every item of an opened batch (parsed and malformed, in seq order), also flagging a
    station clock implausibly far ahead of central's."""
    decision = decide(batch.items, history, key=key, central_keys=central_keys)
    suspect = is_clock_suspect(HLC.from_string(batch.checkpoint.hlc), central_wall_ms)
    return BatchDecision(
        decision.decisions, decision.heads, clock_suspect=suspect, malformed=decision.malformed
    )


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
    "MalformedDecision",
    "Outcome",
    "StationHistory",
    "decide",
    "decide_batch",
    "fork_recovery_events",
    "forked_events",
]
