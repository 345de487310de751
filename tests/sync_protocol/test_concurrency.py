from __future__ import annotations

from sync_protocol.concurrency import AppliedEvent, check_concurrency, in_own_past
from sync_protocol.hlc import HLC
from sync_protocol.ingest import fork_recovery_events

from .support import STATION, T0, domain_event, make_chain, uuid_for

CASE = uuid_for(1)


def _edit(chain, seq, base_version):
    return domain_event(
        chain[-1], seq=seq, hlc=HLC(T0 + seq * 10_000), aggregate_id=CASE, base_version=base_version
    )


def test_event_on_the_current_version_fast_forwards():
    chain = make_chain(3)
    result = check_concurrency(_edit(chain, 4, 7), aggregate_version=7, applied_since_base=[])
    assert not result.concurrent and result.competing == ()


def test_own_earlier_events_after_the_base_are_in_the_causal_past():
    chain = make_chain(3)
    own = [AppliedEvent(8, STATION, (1, 2), "a" * 64), AppliedEvent(9, STATION, (1, 3), "b" * 64)]
    result = check_concurrency(_edit(chain, 4, 7), aggregate_version=9, applied_since_base=own)
    assert not result.concurrent


def test_another_stations_event_since_the_base_is_concurrent():
    chain = make_chain(3)
    theirs = AppliedEvent(8, "st-township", (1, 40), "c" * 64)
    result = check_concurrency(_edit(chain, 4, 7), aggregate_version=8, applied_since_base=[theirs])
    assert result.concurrent and result.competing == (theirs,)


def test_events_at_or_below_the_base_never_compete():
    chain = make_chain(3)
    seen = AppliedEvent(7, "st-township", (1, 40), "c" * 64)
    result = check_concurrency(
        _edit(chain, 4, 7),
        aggregate_version=8,
        applied_since_base=[seen, AppliedEvent(8, STATION, (1, 2), "d" * 64)],
    )
    assert not result.concurrent


def test_own_later_event_is_not_in_the_past():
    chain = make_chain(3)
    later_own = AppliedEvent(8, STATION, (1, 9), "e" * 64)
    assert check_concurrency(
        _edit(chain, 4, 7), aggregate_version=8, applied_since_base=[later_own]
    ).concurrent


def test_epoch_links_cut_the_past_at_a_restore_point():
    links = {2: (1, 450)}
    assert in_own_past((1, 450), (2, 5), links)
    assert not in_own_past((1, 451), (2, 5), links)
    assert in_own_past((1, 451), (2, 5))  # without links: plain (epoch, seq) order
    assert in_own_past((1, 3), (3, 1), {2: (1, 10), 3: (2, 4)})
    assert not in_own_past((2, 5), (3, 1), {2: (1, 10), 3: (2, 4)})
    assert not in_own_past((1, 3), (3, 1), {3: (2, 4)})


def test_rehomed_event_is_judged_from_its_original_position():
    central_branch = make_chain(8)
    station_branch = central_branch[:5] + [_edit(central_branch[:5], 6, 3)]
    recovery = fork_recovery_events(
        station_branch,
        fork_seq=6,
        agreed_head=(1, 5, central_branch[4].event_id),
        new_epoch=2,
        hlc=HLC(T0 + 10**7),
        wall_ms=T0,
        actor="system",
    )
    rehomed = recovery[1]
    accepted_branch_edit = AppliedEvent(4, STATION, (1, 7), "f" * 64)  # central's branch, never seen by staff
    common_prefix_edit = AppliedEvent(3, STATION, (1, 4), "9" * 64)
    result = check_concurrency(
        rehomed,
        aggregate_version=4,
        applied_since_base=[common_prefix_edit, accepted_branch_edit],
        epoch_links={2: (1, 5)},
    )
    assert result.competing == (accepted_branch_edit,)
