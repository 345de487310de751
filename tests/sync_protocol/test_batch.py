from __future__ import annotations

import zlib

import pytest

from sync_protocol.batch import (
    MAX_BATCH_EVENTS,
    InlineBlob,
    build_batch,
    decode_container,
    encode_container,
    make_batch_plaintext,
    open_batch,
    read_batch_plaintext,
    split_into_batches,
)
from sync_protocol.checkpoint import sign_checkpoint
from sync_protocol.errors import (
    ChainError,
    DigestMismatchError,
    MalformedError,
    SealError,
    SignatureError,
    SizeLimitError,
    UnknownKeyError,
    WrongNetworkError,
    WrongRecipientError,
)
from sync_protocol.events import key_rotate_event
from sync_protocol.hlc import HLC
from sync_protocol.layout import parse_batch_file_name

from .support import (
    CENTRAL_BOX,
    ESCROW_BOX,
    NETWORK,
    STATION,
    STATION_KEY,
    T0,
    box_key,
    make_chain,
    signing_key,
)

PHOTO = InlineBlob(b"\x89PNG fake scan " * 100, "image/png")


def lookup(station, kid):
    if station == STATION and kid == STATION_KEY.key_id:
        return STATION_KEY.public_raw
    raise UnknownKeyError("not enrolled", station=station)


def _plaintext(events, blobs=(), key=STATION_KEY, recipient=CENTRAL_BOX.key_id):
    return make_batch_plaintext(
        events,
        signing_key=key,
        recipient_key_id=recipient,
        bundle_version=4,
        hlc=events[-1].hlc,
        wall_ms=T0,
        blobs=blobs,
    )


def _read(plaintext, network=NETWORK, recipients=(CENTRAL_BOX.key_id,)):
    return read_batch_plaintext(
        plaintext, network=network, public_key_for=lookup, recipient_key_ids=recipients
    )


def test_plaintext_batch_round_trips_with_events_and_blobs():
    events = make_chain(20)
    checkpoint, plaintext = _plaintext(events, [PHOTO])
    opened = _read(plaintext)
    assert opened.events == tuple(events)
    assert opened.checkpoint == checkpoint
    assert opened.blobs == (PHOTO,)
    assert checkpoint.head == events[-1].event_id and checkpoint.first_seq == 1 and checkpoint.last_seq == 20


def test_batch_may_start_mid_chain():
    events = make_chain(10)
    _, plaintext = _plaintext(events[4:])
    assert _read(plaintext).checkpoint.prev == events[3].event_id


def test_unknown_station_key_raises_unknown_key():
    _, plaintext = _plaintext(make_chain(3), key=signing_key("not-enrolled"))
    with pytest.raises(UnknownKeyError):
        _read(plaintext)


def test_wrong_network_and_wrong_recipient_are_refused():
    _, plaintext = _plaintext(make_chain(3))
    with pytest.raises(WrongNetworkError):
        _read(plaintext, network="production")
    with pytest.raises(WrongRecipientError):
        _read(plaintext, recipients=(box_key("other-central").key_id,))


def _container(events, blobs=()):
    checkpoint, plaintext = _plaintext(events, blobs)
    return checkpoint, zlib.decompress(plaintext)


def test_swapped_event_body_fails_the_digest():
    events = make_chain(4)
    checkpoint, _ = _container(events)
    other = make_chain(4, start_ms=T0 + 5)
    forged = encode_container(checkpoint, [*events[:3], other[3]], [])
    with pytest.raises(DigestMismatchError):
        _read(zlib.compress(forged))


def test_dropped_blob_fails_against_the_signed_blob_list():
    events = make_chain(3)
    checkpoint, _ = _container(events, [PHOTO])
    with pytest.raises(DigestMismatchError):
        _read(zlib.compress(encode_container(checkpoint, events, [])))


def test_every_flipped_bit_in_checkpoint_or_events_fails_closed():
    events = make_chain(3)
    _, container = _container(events)
    end_of_events = container.index(b"\nend\n")
    for i in range(len(container[:end_of_events])):
        tampered = bytearray(container)
        tampered[i] ^= 0x04
        with pytest.raises(
            (
                MalformedError,
                SignatureError,
                WrongNetworkError,
                ChainError,
                UnknownKeyError,
                WrongRecipientError,
            )
        ):
            _read(zlib.compress(bytes(tampered)))


def test_trailing_junk_and_truncation_are_malformed():
    _, container = _container(make_chain(3))
    with pytest.raises(MalformedError):
        decode_container(container + b"x")
    with pytest.raises(MalformedError):
        decode_container(container[:-3])
    with pytest.raises(MalformedError):
        _read(zlib.compress(container)[:-4])


def test_decompression_bomb_is_stopped():
    with pytest.raises(SizeLimitError):
        _read(zlib.compress(b"\x00" * (6 * 1024 * 1024)))


def test_batch_refuses_more_than_the_event_cap():
    events = make_chain(MAX_BATCH_EVENTS + 1)
    with pytest.raises(SizeLimitError):
        _plaintext(events)


def test_key_rotate_must_end_its_batch():
    events = make_chain(3)
    rotate = key_rotate_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        seq=4,
        prev=events[-1].event_id,
        new_sign_public=signing_key("new").public_raw,
        new_box_public=b"\x01" * 32,
        hlc=HLC(T0 + 10**6),
        wall_ms=T0,
        actor="system",
    )
    _plaintext([*events, rotate])
    more = make_chain(5)
    with pytest.raises(ChainError):
        _plaintext([*events, rotate, more[4]])
    runs = split_into_batches([*events, rotate], max_events=2)
    assert [len(r) for r in runs] == [2, 2]


def test_split_into_batches_respects_count_and_bytes():
    events = make_chain(25)
    assert [len(r) for r in split_into_batches(events, max_events=10)] == [10, 10, 5]
    by_bytes = split_into_batches(events, max_bytes=len(events[1].body) * 3 + 10)
    assert all(sum(len(e.body) for e in run) <= len(events[1].body) * 3 + 10 for run in by_bytes)
    assert [e for run in by_bytes for e in run] == events


def test_sealed_batch_round_trips_and_is_named_without_personal_data():
    events = make_chain(30)
    batch = build_batch(
        events,
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        recipient_keys=[CENTRAL_BOX.public_raw, ESCROW_BOX.public_raw],
        bundle_version=2,
        hlc=events[-1].hlc,
        wall_ms=T0,
        blobs=[PHOTO],
    )
    name = parse_batch_file_name(batch.name)
    assert (name.station_id, name.epoch, name.first_seq, name.last_seq) == (STATION, 1, 1, 30)
    assert batch.name == batch.name.lower() and batch.name.isascii()
    opened = open_batch(batch.data, [CENTRAL_BOX.private_raw], network=NETWORK, public_key_for=lookup)
    assert opened.events == tuple(events) and opened.blobs == (PHOTO,)


def test_escrow_can_decrypt_but_central_check_names_the_ingest_key():
    events = make_chain(3)
    batch = build_batch(
        events,
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        recipient_keys=[CENTRAL_BOX.public_raw, ESCROW_BOX.public_raw],
        bundle_version=0,
        hlc=events[-1].hlc,
        wall_ms=T0,
    )
    with pytest.raises(WrongRecipientError):
        open_batch(batch.data, [ESCROW_BOX.private_raw], network=NETWORK, public_key_for=lookup)
    with pytest.raises(SealError):
        open_batch(batch.data, [box_key("stranger").private_raw], network=NETWORK, public_key_for=lookup)


def test_batch_refuses_events_of_another_station():
    events = make_chain(3, station="st-other")
    with pytest.raises(MalformedError):
        build_batch(
            events,
            network=NETWORK,
            station_id=STATION,
            signing_key=STATION_KEY,
            recipient_keys=[CENTRAL_BOX.public_raw],
            bundle_version=0,
            hlc=events[-1].hlc,
            wall_ms=T0,
        )


def test_oversized_inline_blob_is_refused_on_both_sides():
    big = InlineBlob(b"x" * (256 * 1024 + 1), "image/jpeg")
    with pytest.raises(SizeLimitError):
        _plaintext(make_chain(2), [big])
    events = make_chain(2)
    checkpoint, _ = _plaintext(events)
    forged = sign_checkpoint(
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        epoch=1,
        first_seq=1,
        last_seq=2,
        prev=checkpoint.prev,
        head=checkpoint.head,
        events_sha256=checkpoint.events_sha256,
        recipient_key_id=CENTRAL_BOX.key_id,
        bundle_version=0,
        hlc=checkpoint.hlc,
        wall_ms=T0,
        blobs=[big.ref],
    )
    with pytest.raises(SizeLimitError):
        _read(zlib.compress(encode_container(forged, events, [big])))
