from __future__ import annotations

import pytest

from sync_protocol.acks import (
    EpochAck,
    ForkNote,
    NotAppliedNote,
    QuarantineNote,
    accept_ack,
    make_ack,
    parse_ack,
    verify_ack,
)
from sync_protocol.errors import MalformedError, SignatureError, WrongNetworkError

from .support import CENTRAL_KEY, NETWORK, STATION, T0, signing_key

FULL = EpochAck(
    epoch=2,
    through=100,
    through_id="a" * 64,
    held=((120, 130), (140, 140)),
    missing=((101, 119), (131, 139)),
    forks=(ForkNote(150, "b" * 64, "c" * 64),),
    quarantined=(QuarantineNote(160, "d" * 64, "revoked_key"),),
    not_applied=(NotAppliedNote(90, "e" * 64, "conflict-0192"),),
)


def _ack(version=5, epochs=(EpochAck(1, 3000, "f" * 64), FULL), key=CENTRAL_KEY, station=STATION):
    return make_ack(
        network=NETWORK,
        station_id=station,
        version=version,
        central_time_ms=T0,
        epochs=epochs,
        central_key=key,
    )


def test_ack_round_trips_with_every_selective_part():
    ack = verify_ack(_ack().raw, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION)
    assert ack.for_epoch(2) == FULL and ack.for_epoch(1).through == 3000
    assert ack.for_epoch(7) == EpochAck(7)
    assert parse_ack(ack.raw) == ack


def test_received_and_resend_ranges_follow_through_held_quarantine_and_forks():
    entry = FULL
    assert entry.is_received(100) and entry.is_received(125) and entry.is_received(150)
    assert entry.is_received(160)
    assert not entry.is_received(101) and not entry.is_received(141)
    assert entry.to_resend(165) == [(101, 119), (131, 139), (141, 149), (151, 159), (161, 165)]
    assert EpochAck(1).to_resend(3) == [(1, 3)]
    assert EpochAck(1, 3, "1" * 64).to_resend(3) == []


def test_station_keeps_only_newer_valid_acks():
    older, newer = _ack(4), _ack(6)
    kept = accept_ack(None, older.raw, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION)
    assert kept.version == 4
    kept = accept_ack(kept, newer.raw, [CENTRAL_KEY.public_raw], network=NETWORK, station_id=STATION)
    assert kept.version == 6
    assert accept_ack(kept, older.raw, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION) is kept


def test_forged_or_foreign_acks_are_refused():
    with pytest.raises(SignatureError):
        accept_ack(
            None,
            _ack(key=signing_key("rogue")).raw,
            CENTRAL_KEY.public_raw,
            network=NETWORK,
            station_id=STATION,
        )
    with pytest.raises(WrongNetworkError):
        accept_ack(
            None, _ack(station="st-other").raw, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION
        )
    tampered = _ack().raw.replace(b'"through":3000', b'"through":3001')
    with pytest.raises(SignatureError):
        verify_ack(tampered, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION)


@pytest.mark.parametrize(
    "entry",
    [
        EpochAck(1, 0, "a" * 64),
        EpochAck(1, 5, "0" * 64),
        EpochAck(1, 10, "a" * 64, held=((5, 12),)),
        EpochAck(1, 0, "0" * 64, held=((5, 6), (7, 8))),
        EpochAck(1, 0, "0" * 64, missing=((5, 4),)),
        EpochAck(1, 0, "0" * 64, forks=(ForkNote(3, "a" * 64, "b" * 64), ForkNote(3, "a" * 64, "c" * 64))),
        EpochAck(1, 0, "0" * 64, quarantined=(QuarantineNote(3, "a" * 64, "Bad Reason"),)),
    ],
)
def test_inconsistent_ack_contents_are_malformed(entry):
    with pytest.raises(MalformedError):
        _ack(epochs=(entry,))


def test_duplicate_epochs_are_malformed():
    with pytest.raises(MalformedError):
        _ack(epochs=(EpochAck(1), EpochAck(1)))


def test_log_behind_the_signed_ack_shows_a_rollback():
    from sync_protocol.acks import shows_rollback

    ack = _ack()
    assert not shows_rollback(None, {})
    assert not shows_rollback(ack, {1: 3000, 2: 100})
    assert not shows_rollback(ack, {1: 3005, 2: 170})
    assert shows_rollback(ack, {1: 2999, 2: 170})
    assert shows_rollback(ack, {1: 3000})
