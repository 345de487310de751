"""A tiny run of bench/prefecture.py (SPEC.md §5's prefecture simulation): the whole path — stations enrolled over
HTTP, days of work, outages, USB sticks out of order and copied twice, the final deliveries — converges, and the
convergence check it relies on does see an event central lost."""

from __future__ import annotations

import datetime as dt

from bench.prefecture import check, simulate
from bench.prefecture_delivery import convergence
from central.db import database


def test_a_tiny_prefecture_converges_and_the_check_sees_a_missing_event(tmp_path):
    out = simulate(tmp_path, 0.002, 3, 7, 5, dt.date.today() - dt.timedelta(days=3), quiet=True)
    result = out["convergence"]
    assert check(result) == []
    assert result.events == result.logged > 100
    assert any(name.startswith("usb") for name in out["files"])  # sticks did travel
    prefecture = out["prefecture"]
    village = prefecture.villages[0]  # one more event at a station that central never received
    prefecture.emit(
        village, village.head.wall_ms + 60_000, "note_added", "case", "case-x", {"note_id": "n", "text": "x"}
    )
    out["central"].activate()  # the run's raw measurement bound the database to its own file last
    database.connect(reuse_if_open=True)
    try:
        broken = convergence(out["central"], prefecture)
    finally:
        database.close()
    assert (broken.lost, broken.logged, broken.behind_acks) == (1, result.logged, 1)
    assert "lost 1" in check(broken)
