"""Epoch authorizations at the station (开新纪元授权): central's signed permission for an epoch this station opened
(after a restore, a fork recovery, a re-enrollment) arrives in a downstream bundle's ``authorizations`` part.

The part is applied inside the bundle's transaction: every authorization must verify under the trust root the
bundle was verified with (a central online key, this network) and name this station, or the whole part is kept
unapplied and nothing is recorded. Each verified one is recorded once per epoch, with whether it covers exactly
the ``epoch.open`` this station's log holds. The sync page shows the current epoch as waiting for central or
authorized (and when).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sync_protocol.authorization import parse_authorizations, verify_epoch_authorization
from sync_protocol.errors import ProtocolError
from sync_protocol.events import EPOCH_OPEN, parse_event
from sync_protocol.trust import Root

from ..db import database
from ..models import EventLog, NodeState, StationIdentity

log = logging.getLogger(__name__)
AUTHORIZATIONS_KEY = "epoch_authorizations"


@dataclass(frozen=True)
class EpochStatus:
    """The station's current epoch as the sync page shows it."""

    epoch: int
    reason: str
    opened_at: str
    authorized_at: str | None
    """ISO time central signed its authorization; None while central has not authorized the epoch."""
    matches_log: bool = True

    @property
    def needs_central(self) -> bool:
        """Epoch 1 (installation) needs no authorization; any later one waits for a person at central."""
        return self.epoch > 1 and self.authorized_at is None


def _opening_event(epoch: int):
    row = EventLog.get_or_none((EventLog.epoch == epoch) & (EventLog.seq == 1))
    if row is None:
        return None
    event = parse_event(bytes(row.body))
    return event if event.type == EPOCH_OPEN else None


def recorded_authorizations() -> dict[int, dict]:
    return {int(epoch): entry for epoch, entry in (NodeState.read(AUTHORIZATIONS_KEY) or {}).items()}


def apply_authorizations_part(data: bytes, root: Root) -> bool:
    """Verify and record the authorizations of one part (call inside the bundle's transaction).

    Returns False, recording nothing, when the part does not parse or any authorization in it fails: a key that is
    not one of the root's central keys, a bad signature, another network, or another station.
    """
    identity = StationIdentity.current()
    if identity is None:
        return False
    try:
        authorizations = [
            verify_epoch_authorization(a, root.central_keys, network=identity.network_id)
            for a in parse_authorizations(data)
        ]
    except ProtocolError as e:
        log.warning("downstream authorizations part refused (%s): %s", e.reason, e.message)
        return False
    if any(a.station_id != identity.station_code for a in authorizations):
        log.warning("downstream authorizations part refused: it names another station")
        return False
    recorded = NodeState.read(AUTHORIZATIONS_KEY) or {}
    for auth in authorizations:
        opening = _opening_event(auth.epoch)
        matches = opening is not None and auth.covers(opening)
        if opening is not None and not matches:
            log.warning("central authorized epoch %s linked differently from this station's log", auth.epoch)
        recorded[str(auth.epoch)] = {
            "reason": auth.reason,
            "previous_head": [auth.prev_epoch, auth.prev_seq, auth.prev],
            "issued_at": datetime.fromtimestamp(auth.issued_ms / 1000, UTC).isoformat(timespec="seconds"),
            "issuer_key_id": auth.issuer_key_id,
            "matches_log": matches,
        }
    NodeState.write(AUTHORIZATIONS_KEY, recorded)
    return True


def current_epoch_status() -> EpochStatus | None:
    """The newest epoch of the log and whether central authorized it; None for an empty log."""
    row = _newest_epoch()
    if row is None:
        return None
    opening = _opening_event(row)
    reason = str(opening.payload["reason"]) if opening is not None else ""
    opened_at = (
        datetime.fromtimestamp(opening.wall_ms / 1000, UTC).isoformat(timespec="seconds") if opening else ""
    )
    entry = recorded_authorizations().get(row)
    return EpochStatus(
        epoch=row,
        reason=reason,
        opened_at=opened_at,
        authorized_at=entry["issued_at"] if entry else None,
        matches_log=bool(entry["matches_log"]) if entry else True,
    )


def _newest_epoch() -> int | None:
    value = database.execute_sql("SELECT MAX(epoch) FROM event_log").fetchone()[0]
    return None if value is None else int(value)
