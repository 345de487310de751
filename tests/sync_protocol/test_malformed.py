"""SYNC-DESIGN §7 "body not canonical, schema invalid → reject THAT event as malformed, evidence kept": a batch the
station signed opens with its bad bodies set aside one by one, the chain still checked over the raw ids, and
``decide`` rejects each malformed event while its successors wait as a gap instead of being applied over it."""

from __future__ import annotations

import hashlib
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol.batch import MAGIC, read_batch_plaintext
from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.checkpoint import sign_checkpoint
from sync_protocol.errors import DigestMismatchError, ForkError, ProtocolError
from sync_protocol.events import Event, compute_event_id
from sync_protocol.hlc import HLC
from sync_protocol.ingest import EpochHistory, KeyStatus, Outcome, StationHistory, decide, decide_batch
from sync_protocol.schema import ZERO_ID

from .support import CENTRAL_BOX, NETWORK, STATION, STATION_KEY, T0, station_bodies

OK = KeyStatus(True)


def _non_canonical(body: bytes) -> bytes:
    return json.dumps(parse_canonical(body), sort_keys=True, ensure_ascii=False).encode()


def _unknown_field(body: bytes) -> bytes:
    return canonical_bytes({**parse_canonical(body), "zz": 1})


def _not_json(body: bytes) -> bytes:
    return body[:-1]


def signed_plaintext(
    bodies: list[bytes], *, first_seq: int = 1, prev: str = ZERO_ID, head: str | None = None
):
    """``zlib(container)`` with a genuine station checkpoint over exactly these bodies."""
    section = b"".join(b + b"\n" for b in bodies)
    checkpoint = sign_checkpoint(
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        epoch=1,
        first_seq=first_seq,
        last_seq=first_seq + len(bodies) - 1,
        prev=prev,
        head=head or compute_event_id(bodies[-1]),
        events_sha256=hashlib.sha256(section).hexdigest(),
        recipient_key_id=CENTRAL_BOX.key_id,
        bundle_version=0,
        hlc=HLC(T0 + 10**6, 0),
        wall_ms=T0,
    )
    container = b"".join(
        [
            MAGIC,
            b"checkpoint %d\n" % len(checkpoint.raw),
            checkpoint.raw,
            b"\n",
            b"events %d %d\n" % (len(bodies), len(section)),
            section,
            b"\nend\n",
        ]
    )
    return zlib.compress(container)


def open_plaintext(plaintext: bytes):
    return read_batch_plaintext(
        plaintext,
        network=NETWORK,
        public_key_for=lambda s, k: STATION_KEY.public_raw,
        recipient_key_ids=[CENTRAL_BOX.key_id],
    )


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [(_non_canonical, "non_canonical"), (_unknown_field, "malformed"), (_not_json, "malformed")],
)
def test_a_bad_body_is_set_aside_with_its_bytes_and_the_rest_still_opens(spoil, reason):
    bodies = station_bodies(5, {3: spoil})
    opened = open_plaintext(signed_plaintext(bodies))
    assert [e.seq for e in opened.events] == [1, 2, 4, 5]
    (bad,) = opened.malformed
    assert (bad.epoch, bad.seq, bad.reason) == (1, 3, reason)
    assert bad.body == bodies[2] and bad.event_id == compute_event_id(bodies[2])
    assert [item.seq for item in opened.items] == [1, 2, 3, 4, 5]


def test_decide_rejects_the_malformed_event_and_holds_its_successors():
    bodies = station_bodies(5, {3: _non_canonical})
    opened = open_plaintext(signed_plaintext(bodies))
    result = decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0 + 10**6)
    assert [d.outcome for d in result.decisions] == [
        Outcome.OPEN_EPOCH,
        Outcome.ACCEPT,
        Outcome.GAP,
        Outcome.GAP,
    ]
    assert [(m.item.seq, m.outcome, m.reason) for m in result.malformed] == [
        (3, Outcome.MALFORMED, "non_canonical")
    ]
    assert result.decisions[2].reason == "predecessor_malformed"
    assert result.decisions[2].details == {"missing_from": 3, "missing_to": 3, "malformed_seq": 3}
    assert result.heads == {1: (2, compute_event_id(bodies[1]))}
    assert not Outcome.MALFORMED.appends


def test_successors_of_a_recorded_malformed_event_are_held_when_they_arrive_later():
    bodies = station_bodies(5, {3: _unknown_field})
    events = open_plaintext(signed_plaintext(bodies)).events
    history = StationHistory(
        STATION,
        epochs={
            1: EpochHistory(
                2,
                events[1].event_id,
                {1: events[0].event_id, 2: events[1].event_id},
                malformed={3: compute_event_id(bodies[2])},
            )
        },
    )
    again = decide(events[2:], history, key=OK)
    assert [(d.outcome, d.reason) for d in again.decisions] == [
        (Outcome.GAP, "predecessor_malformed"),
        (Outcome.GAP, "predecessor_missing"),
    ]
    other = station_bodies(5, {3: _not_json})  # a different body at seq 3: its successor forks from central's
    foreign = open_plaintext(signed_plaintext(other)).events[2]
    assert decide([foreign], history, key=OK).decisions[0].outcome is Outcome.FORK


def test_a_malformed_first_event_takes_its_seq_from_the_checkpoint():
    bodies = station_bodies(3, {1: _non_canonical})
    opened = open_plaintext(signed_plaintext(bodies))
    assert [m.seq for m in opened.malformed] == [1]
    result = decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0)
    assert [d.outcome for d in result.decisions] == [Outcome.GAP, Outcome.GAP]
    assert result.heads == {}


def test_the_chain_is_still_checked_over_the_raw_ids():
    bodies = station_bodies(4, {2: _non_canonical})
    relinked = station_bodies(4, {2: _unknown_field})  # seq 3 of this chain links to a different seq-2 body
    with pytest.raises(ForkError):
        open_plaintext(signed_plaintext([*bodies[:3], relinked[3]]))
    with pytest.raises(DigestMismatchError):
        open_plaintext(signed_plaintext(bodies, head="ab" * 32))


def test_a_body_that_parses_in_the_wrong_place_still_refuses_the_batch():
    bodies = station_bodies(4, {})
    with pytest.raises(DigestMismatchError):
        open_plaintext(signed_plaintext(bodies[1:], first_seq=1, prev=compute_event_id(bodies[0])))


def _spoilers():
    return st.sampled_from([_non_canonical, _unknown_field, _not_json])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(2, 12), data=st.data())
def test_nothing_is_applied_at_or_after_a_malformed_event(count, data):
    bad_seqs = data.draw(st.sets(st.integers(1, count), max_size=3))
    bodies = station_bodies(count, {seq: data.draw(_spoilers()) for seq in bad_seqs})
    opened = open_plaintext(signed_plaintext(bodies))
    assert sorted(m.seq for m in opened.malformed) == sorted(bad_seqs)
    result = decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0)
    first_bad = min(bad_seqs, default=count + 1)
    appended = [d.event.seq for d in result.decisions if d.outcome.appends]
    assert appended == list(range(1, first_bad))
    assert all(d.outcome is Outcome.GAP for d in result.decisions if d.event.seq > first_bad)
    assert len(result.decisions) + len(result.malformed) == count


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq=st.integers(1, 6), garbage=st.binary(min_size=1, max_size=300))
def test_any_signed_garbage_body_is_one_malformed_event_or_a_protocol_error(seq, garbage):
    bodies = station_bodies(6, {seq: lambda _body: garbage.replace(b"\n", b" ")})
    try:
        opened = open_plaintext(signed_plaintext(bodies))
    except ProtocolError:
        return
    items = opened.items
    assert [i.seq for i in items] == list(range(1, 7))
    assert all(isinstance(i, Event) for i in items if i.seq != seq)


def test_a_batch_of_only_malformed_events_opens_and_decides_to_nothing_applied():
    bodies = station_bodies(2, {1: _not_json, 2: _not_json})
    opened = open_plaintext(signed_plaintext(bodies))
    assert opened.events == () and len(opened.malformed) == 2
    result = decide_batch(opened, StationHistory(STATION), key=OK, central_wall_ms=T0)
    assert result.decisions == () and [m.reason for m in result.malformed] == ["malformed", "malformed"]
