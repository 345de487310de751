from __future__ import annotations

import hashlib
import uuid

import pytest

from sync_protocol import tags
from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.errors import (
    ChainError,
    ForkError,
    GapError,
    MalformedError,
    NonCanonicalError,
    SizeLimitError,
)
from sync_protocol.events import (
    MAX_EVENT_BODY,
    ZERO_ID,
    AttachmentRef,
    build_event,
    epoch_open_event,
    key_rotate_event,
    new_uuid7,
    parse_event,
    rehome_event,
    verify_chain,
)
from sync_protocol.hlc import HLC

from .support import NETWORK, STATION, T0, domain_event, make_chain, signing_key, uuid_for


def _mutate(event, **changes):
    obj = parse_canonical(event.body)
    obj.update(changes)
    return canonical_bytes(obj)


def test_event_id_is_sha256_of_tag_and_exact_body():
    event = make_chain(2)[1]
    assert event.event_id == hashlib.sha256(tags.EVENT_ID + event.body).hexdigest()
    assert parse_event(event.body) == event


def test_first_event_of_first_epoch_links_to_zeros():
    first = make_chain(1)[0]
    assert first.seq == 1 and first.prev == ZERO_ID and first.type == "epoch.open"
    assert first.payload == {"reason": "install", "prev_epoch": 0, "prev_seq": 0}


def test_epoch_open_links_to_previous_epoch_head():
    old = make_chain(3)
    head = (1, 3, old[-1].event_id)
    opened = make_chain(1, epoch=2, previous_head=head, reason="restore")[0]
    assert opened.prev == old[-1].event_id
    assert opened.payload == {"reason": "restore", "prev_epoch": 1, "prev_seq": 3}


@pytest.mark.parametrize(
    ("epoch", "reason", "head"),
    [
        (1, "install", (1, 3, "a" * 64)),  # links to its own epoch
        (2, "reboot", (1, 3, "a" * 64)),  # unknown reason
        (2, "restore", (1, 0, "a" * 64)),  # non-zero link with zero seq
    ],
)
def test_epoch_open_rejects_bad_links_and_reasons(epoch, reason, head):
    with pytest.raises(MalformedError):
        epoch_open_event(
            network=NETWORK,
            station_id=STATION,
            epoch=epoch,
            reason=reason,
            previous_head=head,
            hlc=HLC(T0),
            wall_ms=T0,
            actor="system",
        )


def test_seq_one_must_be_epoch_open():
    chain = make_chain(2)
    with pytest.raises(MalformedError):
        parse_event(_mutate(chain[1], seq=1))


def test_non_canonical_body_is_rejected():
    event = make_chain(2)[1]
    spaced = event.body.replace(b'"seq":2', b'"seq": 2')
    with pytest.raises(NonCanonicalError):
        parse_event(spaced)


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},
        {"net": "Test"},
        {"st": "st/1"},
        {"ep": 0},
        {"seq": 0},
        {"prev": "A" * 64},
        {"hlc": "yesterday"},
        {"wall": -1},
        {"actor": ""},
        {"ik": "has space"},
        {"t": "Case.Edited"},
        {"sv": 0},
        {"ak": "Case"},
        {"aid": ""},
        {"bv": -1},
        {"bo": "xyz"},
        {"cat": True},
        {"p": []},
        {"att": [{"sha256": "0" * 64, "size": 1}]},
        {"extra": 1},
    ],
)
def test_schema_violations_are_malformed(changes):
    with pytest.raises(MalformedError):
        parse_event(_mutate(make_chain(2)[1], **changes))


def test_missing_field_is_malformed():
    obj = parse_canonical(make_chain(2)[1].body)
    del obj["actor"]
    with pytest.raises(MalformedError):
        parse_event(canonical_bytes(obj))


def test_oversized_body_is_rejected_before_parsing():
    with pytest.raises(SizeLimitError):
        parse_event(b"{" + b" " * MAX_EVENT_BODY + b"}")


def test_attachments_are_references_only():
    chain = make_chain(1)
    ref = AttachmentRef("ab" * 32, 123_456, "image/jpeg")
    event = build_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        seq=2,
        prev=chain[0].event_id,
        hlc=HLC(T0 + 1),
        wall_ms=T0 + 1,
        actor="clerk-07",
        idempotency_key="op-1",
        type="case.material_scanned",
        schema_version=1,
        aggregate_kind="case",
        aggregate_id=uuid_for(1),
        payload={"material": "id_card"},
        attachments=[ref],
    )
    assert event.attachments == (ref,)
    assert b'"att":[{"mt":"image/jpeg","sha256":"' in event.body


def test_new_uuid7_has_version_7_variant_and_time_prefix():
    value = new_uuid7(T0, b"\xff" * 10)
    parsed = uuid.UUID(value)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert int(value.replace("-", "")[:12], 16) == T0
    assert new_uuid7(T0 + 1) > new_uuid7(T0)


def test_verify_chain_accepts_contiguous_run_and_returns_head():
    chain = make_chain(5)
    assert verify_chain(chain, ZERO_ID) == chain[-1].event_id
    assert verify_chain(chain[2:], chain[1].event_id) == chain[-1].event_id
    assert verify_chain([], "f" * 64) == "f" * 64


def test_verify_chain_detects_gap():
    chain = make_chain(5)
    with pytest.raises(GapError):
        verify_chain(chain[:2] + chain[3:], ZERO_ID)


def test_verify_chain_detects_wrong_prev_as_fork():
    chain = make_chain(4)
    with pytest.raises(ForkError):
        verify_chain(chain[1:], ZERO_ID)


def test_verify_chain_detects_two_events_at_one_seq():
    chain = make_chain(3)
    other = domain_event(chain[1], seq=3, hlc=HLC(T0 + 99_000), aggregate_id=uuid_for(3))
    with pytest.raises(ForkError):
        verify_chain([*chain, other], ZERO_ID)
    with pytest.raises(ChainError):
        verify_chain([*chain, chain[-1]], ZERO_ID)


def test_verify_chain_refuses_mixed_epochs():
    first = make_chain(2)
    second = make_chain(2, epoch=2, previous_head=(1, 2, first[-1].event_id), reason="restore")
    with pytest.raises(ChainError):
        verify_chain([*first, *second], ZERO_ID)


def test_rehome_carries_original_content_base_and_clock():
    old = make_chain(4)
    original = domain_event(old[-1], seq=5, hlc=HLC(T0 + 50_000), aggregate_id=uuid_for(2), base_version=9)
    opened = make_chain(1, epoch=2, previous_head=(1, 4, old[-1].event_id), reason="fork_recovery")[0]
    re = rehome_event(
        original, epoch=2, seq=2, prev=opened.event_id, hlc=HLC(T0 + 900_000), wall_ms=T0, actor="system"
    )
    assert re.type == "rehome" and re.rehomed_from == (1, 5, original.event_id)
    assert re.effective_type == original.type and re.effective_payload == original.payload
    assert re.effective_hlc == original.hlc and re.base_version == 9
    assert re.idempotency_key == original.idempotency_key
    assert re.effective_position == (1, 5)
    again = rehome_event(re, epoch=3, seq=2, prev="1" * 64, hlc=HLC(T0 + 999_000), wall_ms=T0, actor="system")
    assert again.rehomed_from == (1, 5, original.event_id)


def test_key_rotate_switches_at_next_seq():
    chain = make_chain(3)
    new = signing_key("station-2")
    event = key_rotate_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        seq=4,
        prev=chain[-1].event_id,
        new_sign_public=new.public_raw,
        new_box_public=b"\x09" * 32,
        hlc=HLC(T0 + 9_000_000),
        wall_ms=T0,
        actor="system",
    )
    assert event.payload["from_seq"] == 5
    with pytest.raises(MalformedError):
        parse_event(_mutate(event, p={**event.payload, "from_seq": 9}))
