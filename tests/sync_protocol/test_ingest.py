from __future__ import annotations

import pytest

from sync_protocol.batch import make_batch_plaintext, read_batch_plaintext
from sync_protocol.hlc import HLC, MAX_DRIFT
from sync_protocol.ingest import (
    EpochHistory,
    KeyStatus,
    Outcome,
    StationHistory,
    decide,
    decide_batch,
    fork_recovery_events,
    forked_events,
)

from .support import CENTRAL_BOX, NETWORK, STATION, STATION_KEY, T0, domain_event, make_chain, uuid_for

OK = KeyStatus(known=True)


def _history(chain, upto, **extra):
    ids = {e.seq: e.event_id for e in chain[:upto]}
    epoch = chain[0].epoch
    epochs = {epoch: EpochHistory(upto, chain[upto - 1].event_id, ids)} if upto else {}
    epochs.update(extra.pop("epochs", {}))
    return StationHistory(STATION, epochs=epochs, **extra)


def _outcomes(result):
    return [d.outcome for d in result.decisions]


def test_first_install_opens_epoch_and_accepts_the_chain():
    chain = make_chain(5)
    result = decide(chain, StationHistory(STATION), key=OK)
    assert _outcomes(result) == [Outcome.OPEN_EPOCH] + [Outcome.ACCEPT] * 4
    assert all(d.apply for d in result.decisions)
    assert result.heads == {1: (5, chain[-1].event_id)}


def test_same_event_again_is_a_duplicate_no_op():
    chain = make_chain(5)
    result = decide(chain[2:], _history(chain, 5), key=OK)
    assert _outcomes(result) == [Outcome.DUPLICATE] * 3
    assert not any(d.apply for d in result.decisions)


def test_different_event_at_a_held_seq_is_a_fork():
    chain = make_chain(5)
    other = domain_event(chain[2], seq=4, hlc=HLC(T0 + 77_000), aggregate_id=uuid_for(5))
    result = decide([other], _history(chain, 5), key=OK)
    assert _outcomes(result) == [Outcome.FORK]
    assert result.decisions[0].details == {"held": chain[3].event_id}


def test_next_seq_whose_prev_is_not_the_head_is_a_fork():
    chain = make_chain(5)
    foreign = make_chain(6, start_ms=T0 + 3)
    result = decide([foreign[5]], _history(chain, 5), key=OK)
    assert _outcomes(result) == [Outcome.FORK]
    assert result.decisions[0].reason == "prev_mismatch"


def test_missing_predecessor_holds_the_rest_as_a_gap():
    chain = make_chain(10)
    result = decide(chain[6:], _history(chain, 4), key=OK)
    assert _outcomes(result) == [Outcome.GAP] * 4
    assert result.decisions[0].details == {"missing_from": 5, "missing_to": 6}
    assert result.heads[1][0] == 4


def test_held_events_are_accepted_when_the_gap_fills():
    chain = make_chain(10)
    held = {e.seq: e.event_id for e in chain[6:]}
    history = StationHistory(
        STATION, epochs={1: EpochHistory(4, chain[3].event_id, {e.seq: e.event_id for e in chain[:4]}, held)}
    )
    filler = decide(chain[4:6], history, key=OK)
    assert _outcomes(filler) == [Outcome.ACCEPT] * 2
    again = decide(chain[4:], history, key=OK)
    assert _outcomes(again) == [Outcome.ACCEPT] * 6


def test_unknown_key_quarantines_everything():
    chain = make_chain(3)
    assert (
        _outcomes(decide(chain, StationHistory(STATION), key=KeyStatus(False))) == [Outcome.UNKNOWN_KEY] * 3
    )


def test_revoked_key_quarantines_events_after_the_revocation_seq_only():
    chain = make_chain(6)
    result = decide(chain, StationHistory(STATION), key=KeyStatus(True, revoked_after=(1, 4)))
    assert _outcomes(result) == [Outcome.OPEN_EPOCH] + [Outcome.ACCEPT] * 3 + [Outcome.REVOKED] * 2


def test_late_batch_of_an_older_epoch_is_accepted():
    first = make_chain(8)
    second = make_chain(3, epoch=2, previous_head=(1, 5, first[4].event_id), reason="restore")
    history = StationHistory(
        STATION,
        epochs={
            1: EpochHistory(5, first[4].event_id, {e.seq: e.event_id for e in first[:5]}),
            2: EpochHistory(3, second[-1].event_id, {e.seq: e.event_id for e in second}),
        },
    )
    assert _outcomes(decide(first[5:], history, key=OK)) == [Outcome.ACCEPT_LATE] * 3


def _restore_history(first, **extra):
    return StationHistory(
        STATION, epochs={1: EpochHistory(8, first[-1].event_id, {e.seq: e.event_id for e in first})}, **extra
    )


def test_restore_epoch_needs_authorization_or_goes_to_review():
    first = make_chain(8)
    second = make_chain(3, epoch=2, previous_head=(1, 6, first[5].event_id), reason="restore")
    review = decide(second, _restore_history(first), key=OK)
    assert _outcomes(review) == [Outcome.EPOCH_REVIEW, Outcome.GAP, Outcome.GAP]
    authorized = decide(second, _restore_history(first, authorized_epochs=frozenset({2})), key=OK)
    assert _outcomes(authorized) == [Outcome.OPEN_EPOCH, Outcome.ACCEPT, Outcome.ACCEPT]


def test_new_epoch_linking_to_an_id_central_does_not_hold_is_a_fork():
    first = make_chain(8)
    second = make_chain(2, epoch=2, previous_head=(1, 6, "ab" * 32), reason="restore")
    result = decide(second, _restore_history(first, authorized_epochs=frozenset({2})), key=OK)
    assert result.decisions[0].outcome is Outcome.FORK


def test_new_epoch_linking_beyond_what_central_holds_waits():
    first = make_chain(8)
    second = make_chain(2, epoch=2, previous_head=(1, 12, "ab" * 32), reason="restore")
    result = decide(second, _restore_history(first, authorized_epochs=frozenset({2})), key=OK)
    assert _outcomes(result) == [Outcome.GAP, Outcome.GAP]


def test_second_install_over_existing_history_goes_to_review():
    first = make_chain(8)
    reinstall = make_chain(2, epoch=2)
    assert decide(reinstall, _restore_history(first), key=OK).decisions[0].outcome is Outcome.EPOCH_REVIEW


def test_fork_recovery_rehomes_the_forked_branch_and_applies_each_content_once():
    central_branch = make_chain(8)
    station_branch = [*central_branch[:5]]
    previous = central_branch[4]
    for seq in range(6, 10):
        previous = domain_event(previous, seq=seq, hlc=HLC(T0 + 500_000 + seq), aggregate_id=uuid_for(seq))
        station_branch.append(previous)
    history = _restore_history(central_branch, has_open_fork=True)
    fork = decide(station_branch[5:], history, key=OK)
    assert fork.decisions[0].outcome is Outcome.FORK

    assert [e.seq for e in forked_events(station_branch, 6)] == [6, 7, 8, 9]
    recovery = fork_recovery_events(
        station_branch,
        fork_seq=6,
        agreed_head=(1, 5, central_branch[4].event_id),
        new_epoch=2,
        hlc=HLC(T0 + 10**7),
        wall_ms=T0 + 10**7,
        actor="system",
    )
    assert [e.type for e in recovery] == ["epoch.open"] + ["rehome"] * 4
    result = decide(recovery, history, key=OK)
    assert _outcomes(result) == [Outcome.OPEN_EPOCH] + [Outcome.ACCEPT] * 4
    assert all(d.apply for d in result.decisions)

    replay = decide(recovery[1:2], history, key=OK)  # epoch 2 not yet open in this history: held
    assert replay.decisions[0].outcome is Outcome.GAP
    originals = frozenset({station_branch[5].event_id})
    second_time = decide(
        recovery, _restore_history(central_branch, has_open_fork=True, rehomed_originals=originals), key=OK
    )
    assert [d.apply for d in second_time.decisions] == [True, False, True, True, True]


def test_fork_recovery_without_a_recorded_fork_needs_review():
    chain = make_chain(8)
    recovery = fork_recovery_events(
        chain,
        fork_seq=6,
        agreed_head=(1, 5, chain[4].event_id),
        new_epoch=2,
        hlc=HLC(T0 + 10**7),
        wall_ms=T0,
        actor="system",
    )
    assert decide(recovery, _restore_history(chain), key=OK).decisions[0].outcome is Outcome.EPOCH_REVIEW


def test_decide_batch_flags_a_station_clock_far_ahead():
    chain = make_chain(3, start_ms=T0 + MAX_DRIFT + 60_000)
    _, plaintext = make_batch_plaintext(
        chain,
        signing_key=STATION_KEY,
        recipient_key_id=CENTRAL_BOX.key_id,
        bundle_version=0,
        hlc=chain[-1].hlc,
        wall_ms=T0,
    )
    opened = read_batch_plaintext(
        plaintext,
        network=NETWORK,
        public_key_for=lambda s, k: STATION_KEY.public_raw,
        recipient_key_ids=[CENTRAL_BOX.key_id],
    )
    assert decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0).clock_suspect
    assert not decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0 + 10**6).clock_suspect


def test_incomplete_history_is_a_caller_bug():
    chain = make_chain(5)
    history = StationHistory(STATION, epochs={1: EpochHistory(5, chain[4].event_id, {})})
    with pytest.raises(ValueError):
        decide(chain[1:2], history, key=OK)
