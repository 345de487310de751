"""The one conflict-detection rule (并发判定) of SYNC-DESIGN §9.

An incoming event is *concurrent* when the aggregate's central version is newer than the event's base and some
event applied since that base is not in the event's causal past — the station's own earlier events plus
everything at or below the base. Otherwise it fast-forwards. With a star topology this is exact; the merge
rules that then apply live in ``casework``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .events import Event

Position = tuple[int, int]


@dataclass(frozen=True)
class AppliedEvent:
    """An event central applied to the aggregate, and the aggregate version it produced."""

    central_version: int
    station_id: str
    position: Position
    """(epoch, seq) in its station's log — for a rehome, the original's position (``Event.effective_position``)."""
    event_id: str


@dataclass(frozen=True)
class ConcurrencyCheck:
    concurrent: bool
    competing: tuple[AppliedEvent, ...]
    """The applied events the incoming one did not see (empty when it fast-forwards)."""


def in_own_past(
    earlier: Position, later: Position, epoch_links: Mapping[int, Position] | None = None
) -> bool:
    """True when the station's event at ``earlier`` precedes ``later`` in its own history.

    ``epoch_links`` maps an epoch to the (epoch, seq) its ``epoch.open`` links to; across a restore, events of the
    old epoch after the link point were lost by the station and are NOT in its past. Without links, positions
    compare in (epoch, seq) order.
    """
    if epoch_links is None:
        return earlier < later
    current = later
    inclusive = False
    seen: set[int] = set()
    while True:
        if earlier[0] == current[0]:
            return earlier[1] <= current[1] if inclusive else earlier[1] < current[1]
        if current[0] < earlier[0] or current[0] in seen or current[0] not in epoch_links:
            return False
        seen.add(current[0])
        current = epoch_links[current[0]]
        inclusive = True


def check_concurrency(
    event: Event,
    *,
    aggregate_version: int,
    applied_since_base: Sequence[AppliedEvent],
    epoch_links: Mapping[int, Position] | None = None,
) -> ConcurrencyCheck:
    """Decide whether ``event`` is concurrent with what central applied to its aggregate since its base.

    Args:
        event: the incoming event (its ``base_version`` is the aggregate version the user saw).
        aggregate_version: the aggregate's current central version.
        applied_since_base: events applied to this aggregate with central_version > event.base_version.
        epoch_links: for the event's station, epoch -> (epoch, seq) its epoch.open links to.
    """
    base = event.base_version
    if aggregate_version <= base:
        return ConcurrencyCheck(False, ())
    here = event.effective_position
    competing = tuple(
        applied
        for applied in applied_since_base
        if applied.central_version > base
        and not (applied.station_id == event.station_id and in_own_past(applied.position, here, epoch_links))
    )
    return ConcurrencyCheck(bool(competing), competing)
