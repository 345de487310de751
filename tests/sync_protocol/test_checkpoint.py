from __future__ import annotations

import hashlib

import pytest

from sync_protocol.checkpoint import is_fork_proof, parse_checkpoint, sign_checkpoint, verify_checkpoint
from sync_protocol.errors import MalformedError, SignatureError, WrongNetworkError
from sync_protocol.events import AttachmentRef

from .support import CENTRAL_BOX, NETWORK, STATION, STATION_KEY, T0, make_chain, signing_key


def _checkpoint(events, **overrides):
    section = b"".join(e.body + b"\n" for e in events)
    fields = dict(
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        epoch=1,
        first_seq=events[0].seq,
        last_seq=events[-1].seq,
        prev=events[0].prev,
        head=events[-1].event_id,
        events_sha256=hashlib.sha256(section).hexdigest(),
        recipient_key_id=CENTRAL_BOX.key_id,
        bundle_version=3,
        hlc=events[-1].hlc,
        wall_ms=T0,
    )
    fields.update(overrides)
    return sign_checkpoint(**fields)


def test_signed_checkpoint_verifies_and_round_trips():
    cp = _checkpoint(make_chain(5), blobs=[AttachmentRef("cd" * 32, 10, "image/png")])
    assert verify_checkpoint(cp.raw, STATION_KEY.public_raw, network=NETWORK) == cp
    assert parse_checkpoint(cp.raw) == cp
    assert cp.event_count == 5 and cp.key_id == STATION_KEY.key_id


def test_checkpoint_under_other_key_fails():
    cp = _checkpoint(make_chain(2))
    with pytest.raises(SignatureError):
        verify_checkpoint(cp, signing_key("intruder").public_raw, network=NETWORK)


def test_checkpoint_for_other_network_fails():
    cp = _checkpoint(make_chain(2))
    with pytest.raises(WrongNetworkError):
        verify_checkpoint(cp, STATION_KEY.public_raw, network="production")


def test_checkpoint_signed_by_unnamed_key_fails_even_if_signature_is_valid():
    other = signing_key("other")
    cp = _checkpoint(make_chain(2), signing_key=other)
    with pytest.raises(SignatureError):
        verify_checkpoint(cp, STATION_KEY.public_raw, network=NETWORK)


def test_every_flipped_bit_of_a_checkpoint_fails_closed():
    cp = _checkpoint(make_chain(2))
    for i in range(len(cp.raw)):
        for bit in (0x01, 0x20, 0x80):
            tampered = bytearray(cp.raw)
            tampered[i] ^= bit
            with pytest.raises((MalformedError, SignatureError, WrongNetworkError)):
                verify_checkpoint(bytes(tampered), STATION_KEY.public_raw, network=NETWORK)


def test_empty_range_is_malformed():
    with pytest.raises(MalformedError):
        _checkpoint(make_chain(3), first_seq=3, last_seq=2)


def test_two_checkpoints_disagreeing_on_one_seq_prove_a_fork():
    chain = make_chain(4)
    a = _checkpoint(chain[:3])
    b = _checkpoint(chain[:3], head="e" * 64)
    following = _checkpoint(chain[3:])
    assert is_fork_proof(a, b)
    assert not is_fork_proof(a, following)
    forged_following = _checkpoint(chain[3:], prev="9" * 64)
    assert is_fork_proof(a, forged_following)
