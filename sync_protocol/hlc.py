"""Hybrid logical clock (混合逻辑时钟): orders events for display and breaks ties for low-stakes fields only.

A timestamp is ``(wall_ms, counter)`` written as the fixed-width, lexically sortable string
``"WWWWWWWWWWWWW-CCCCC"`` (13 decimal digits of milliseconds since the Unix epoch, a hyphen, 5 decimal digits of
counter). The node persists the string of the last timestamp it issued; values are immutable, and ``tick`` and
``receive`` return the next one. No state transition is ever decided by a station's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MalformedError

MAX_WALL_MS = 10**13 - 1
MAX_COUNTER = 10**5 - 1
MAX_DRIFT = 15 * 60 * 1000
"""Milliseconds a remote clock may run ahead of ours before it is 'clock suspect' and not adopted."""

_PATTERN = re.compile(r"([0-9]{13})-([0-9]{5})")


@dataclass(frozen=True, order=True)
class HLC:
    """One hybrid-logical-clock timestamp; compare with < and ==, persist with ``to_string``."""

    wall_ms: int
    counter: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.wall_ms <= MAX_WALL_MS and 0 <= self.counter <= MAX_COUNTER):
            raise MalformedError("hybrid logical clock out of range")

    @classmethod
    def zero(cls) -> HLC:
        """The clock of a node that has issued nothing yet."""
        return cls(0, 0)

    @classmethod
    def from_string(cls, text: str) -> HLC:
        """Parse ``"WWWWWWWWWWWWW-CCCCC"``.

        Raises:
            MalformedError: any other shape.
        """
        match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise MalformedError("hybrid logical clock must look like 1700000000000-00000")
        return cls(int(match.group(1)), int(match.group(2)))

    def to_string(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:05d}"

    def __str__(self) -> str:
        return self.to_string()

    def _after(self, wall_ms: int, counter: int) -> HLC:
        # Counter overflow borrows one millisecond from the future rather than failing a save.
        if counter > MAX_COUNTER:
            return HLC(wall_ms + 1, 0)
        return HLC(wall_ms, counter)

    def tick(self, wall_ms: int) -> HLC:
        """The timestamp for a local event at physical time ``wall_ms``: strictly greater than ``self``."""
        if wall_ms > self.wall_ms:
            return HLC(min(wall_ms, MAX_WALL_MS), 0)
        return self._after(self.wall_ms, self.counter + 1)

    def receive(self, remote: HLC, wall_ms: int) -> HLC:
        """The timestamp after learning of ``remote`` at physical time ``wall_ms``: greater than both.

        A remote clock more than ``MAX_DRIFT`` ahead of ``wall_ms`` is not adopted (the caller flags it with
        ``is_clock_suspect``); the result is then just ``tick(wall_ms)``.
        """
        if is_clock_suspect(remote, wall_ms):
            return self.tick(wall_ms)
        top = max(self.wall_ms, remote.wall_ms, wall_ms)
        if top == self.wall_ms == remote.wall_ms:
            return self._after(top, max(self.counter, remote.counter) + 1)
        if top == self.wall_ms:
            return self._after(top, self.counter + 1)
        if top == remote.wall_ms:
            return self._after(top, remote.counter + 1)
        return HLC(top, 0)


def is_clock_suspect(remote: HLC, wall_ms: int) -> bool:
    """True when ``remote`` runs implausibly far (more than MAX_DRIFT) ahead of our physical clock."""
    return remote.wall_ms > wall_ms + MAX_DRIFT
