"""A case view kept between folds (办件折叠状态): a node that stores each case's folded view can fold only the
events that come after it instead of re-folding the case from its first event (central's projections do).

``view_state`` turns a :class:`~casework.caseview.CaseView` into plain JSON values, without the timeline (a
presentation list the stored projection does not keep); ``view_from_state`` turns them back, so
``view_from_state(view_state(v))`` equals ``v`` with an empty timeline, and folding more events onto it gives what
folding every event from the start gives. ``FOLD_FINGERPRINT`` names the code that folds: a state stored by other
code must not be continued (fold it again from the events).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import fields
from importlib import resources
from typing import Any

from casework.caseview import CaseView, Gap
from casework.deadlines import Pause
from casework.errors import message
from casework.lifecycle import CaseState

# The modules whose code decides what a fold produces; any change to them makes stored states stale.
_FOLD_MODULES = (
    "caseview.py",
    "deadlines.py",
    "errors.py",
    "events.py",
    "foldstate.py",
    "lifecycle.py",
    "wire.py",
)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    try:
        for name in _FOLD_MODULES:
            digest.update(resources.files("casework").joinpath(name).read_bytes())
    except OSError:  # pragma: no cover - an install without sources: never trust a stored state
        return "unknown-" + os.urandom(8).hex()
    return digest.hexdigest()[:16]


FOLD_FINGERPRINT = _fingerprint()
"""Changes whenever the folding code changes (a hash of its sources)."""

_NOT_KEPT = frozenset({"timeline"})
_DATES = frozenset(
    {
        "village_received_on",
        "received_on",
        "correction_notice_on",
        "accepted_on",
        "refused_on",
        "forwarded_on",
        "decided_on",
        "result_ready_on",
        "delivered_on",
        "closed_on",
    }
)


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _same(value: Any) -> Any:
    return value


_ENCODE: dict[str, Callable[[Any], Any]] = {
    "state": lambda s: s.value,
    "pauses": lambda ps: [[_date(p.start), _date(p.end), p.counts_toward_limit, p.reason] for p in ps],
    "gaps": lambda gs: {k: [g.material, _date(g.supply_by), _date(g.supplied_on)] for k, g in gs.items()},
    "anomalies": lambda ms: [[m.code, m.zh, m.en, dict(m.params)] for m in ms],
    **{name: _date for name in _DATES},
}
_DECODE: dict[str, Callable[[Any], Any]] = {
    "state": lambda s: CaseState(s),
    "pauses": lambda ps: [
        Pause(dt.date.fromisoformat(s), _day(e), counts, reason) for s, e, counts, reason in ps
    ],
    "gaps": lambda gs: {k: Gap(m, dt.date.fromisoformat(by), _day(on)) for k, (m, by, on) in gs.items()},
    "anomalies": lambda ms: [message(code, zh, en, **params) for code, zh, en, params in ms],
    **{name: _day for name in _DATES},
}
_KEPT = tuple(f.name for f in fields(CaseView) if f.name not in _NOT_KEPT)
_EMPTY = CaseView()
_EMPTY_VALUES = tuple((name, getattr(_EMPTY, name), _ENCODE.get(name)) for name in _KEPT)


def view_state(view: CaseView) -> dict[str, Any]:
    """The view as plain JSON values (only fields that differ from an empty view; no timeline)."""
    values = vars(view)
    out: dict[str, Any] = {}
    for name, empty, encode in _EMPTY_VALUES:
        value = values[name]
        if value != empty:
            out[name] = value if encode is None else encode(value)
    return out


def view_from_state(state: Mapping[str, Any]) -> CaseView:
    """The view ``view_state`` described (its timeline empty).

    Raises:
        ValueError: ``state`` names a field a view does not keep, or a value that does not decode.
    """
    view = CaseView()
    for name, value in state.items():
        if name not in _KEPT:
            raise ValueError(f"a case view keeps no field {name!r}")
        try:
            setattr(view, name, _DECODE.get(name, _same)(value))
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(f"field {name!r} does not decode: {e}") from e
    return view
