"""What a station re-sends is exactly the seqs central does not hold, computed from ranges (fast for a station
with a long unacknowledged tail)."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from sync_protocol.acks import EpochAck, ForkNote, QuarantineNote

ranges = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 8)).map(lambda t: (t[0], t[0] + t[1])), max_size=5
)


def missing_seq_by_seq(ack: EpochAck, head: int) -> list[int]:
    return [seq for seq in range(1, head + 1) if not ack.is_received(seq)]


def expand(found: list[tuple[int, int]]) -> list[int]:
    return [seq for low, high in found for seq in range(low, high + 1)]


@settings(max_examples=400, deadline=None)
@given(
    through=st.integers(0, 30),
    held=ranges,
    quarantined=st.lists(st.integers(1, 60), max_size=3),
    forks=st.lists(st.integers(1, 60), max_size=3),
    head=st.integers(0, 70),
)
def test_to_resend_is_exactly_what_central_does_not_hold(through, held, quarantined, forks, head):
    ack = EpochAck(
        epoch=1,
        through=through,
        held=tuple(held),
        quarantined=tuple(QuarantineNote(s, "0" * 64, "malformed") for s in quarantined),
        forks=tuple(ForkNote(s, "0" * 64, "1" * 64) for s in forks),
    )
    found = ack.to_resend(head)
    assert expand(found) == missing_seq_by_seq(ack, head)
    assert all(low <= high for low, high in found)
    assert all(a[1] + 1 < b[0] for a, b in zip(found, found[1:], strict=False)), "ranges are maximal"


def test_to_resend_does_not_walk_a_long_tail_seq_by_seq():
    ack = EpochAck(epoch=1, through=10, held=((400_000, 400_010),))
    started = time.perf_counter()
    for _ in range(100):
        found = ack.to_resend(5_000_000)
    assert found == [(11, 399_999), (400_011, 5_000_000)]
    assert time.perf_counter() - started < 0.5
