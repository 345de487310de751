"""Mutational fuzzing of every parser sync_protocol owns (the age layer is fuzzed in test_seal*.py): whatever the
input, a parser returns a value or raises a ProtocolError subclass — never anything else."""

from __future__ import annotations

import contextlib
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol.acks import parse_ack, verify_ack
from sync_protocol.authorization import (
    parse_authorizations,
    parse_epoch_authorization,
    verify_epoch_authorization,
)
from sync_protocol.batch import read_batch_plaintext
from sync_protocol.bundles import parse_manifest, verify_bundle_plaintext
from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.central_events import parse_central_events, verify_central_event
from sync_protocol.checkpoint import parse_checkpoint
from sync_protocol.errors import ProtocolError
from sync_protocol.events import parse_event
from sync_protocol.hlc import HLC
from sync_protocol.layout import parse_batch_file_name
from sync_protocol.registry import parse_registry, verify_registry
from sync_protocol.trust import parse_certificate, parse_root, trust_initial_root, verify_certificate
from sync_protocol.trust import verify_enrollment_request as verify_request
from tests.strategies import canonical_documents

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "protocol"
KEYS = json.loads((VECTORS / "keys.json").read_text())
NETWORK, STATION = KEYS["network"], KEYS["station"]
STATION_PUBLIC = bytes.fromhex(KEYS["signing_keys"]["station"]["public"])
CENTRAL_PUBLIC = bytes.fromhex(KEYS["signing_keys"]["central"]["public"])
INGEST_KID = KEYS["box_keys"]["central-ingest"]["key_id"]
ROOT = trust_initial_root((VECTORS / "root-1.sig").read_bytes(), network=NETWORK)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(name: str) -> bytes:
    return (VECTORS / name).read_bytes()


def _batch(container: bytes) -> object:
    return read_batch_plaintext(
        zlib.compress(container),
        network=NETWORK,
        public_key_for=lambda s, k: STATION_PUBLIC,
        recipient_key_ids=[INGEST_KID],
    )


def _bundle(container: bytes) -> object:
    return verify_bundle_plaintext(
        zlib.compress(container), root=ROOT, network=NETWORK, station_id=STATION, state=None, local_clock_ms=0
    )


PARSERS = {
    "event": (_read("events.jsonl").splitlines()[2], parse_event),
    "checkpoint": (_read("checkpoint.sig"), parse_checkpoint),
    "batch": (_read("batch.container"), _batch),
    "batch-compressed": (
        _read("batch.zlib"),
        lambda data: read_batch_plaintext(
            data, network=NETWORK, public_key_for=lambda s, k: STATION_PUBLIC, recipient_key_ids=[INGEST_KID]
        ),
    ),
    "ack": (
        _read("ack.sig"),
        lambda d: (parse_ack(d), verify_ack(d, CENTRAL_PUBLIC, network=NETWORK, station_id=STATION)),
    ),
    "bundle": (_read("bundle.container"), _bundle),
    "bundle-manifest": (_read("bundle-manifest.sig"), parse_manifest),
    "certificate": (
        _read("certificate.sig"),
        lambda d: (parse_certificate(d), verify_certificate(d, ROOT, network=NETWORK)),
    ),
    "registry": (
        _read("registry.sig"),
        lambda d: (parse_registry(d), verify_registry(d, ROOT, network=NETWORK)),
    ),
    "root": (_read("root-1.sig"), lambda d: (parse_root(d), trust_initial_root(d, network=NETWORK))),
    "epoch-authorization": (
        _read("epoch-authorization.sig"),
        lambda d: (
            parse_epoch_authorization(d),
            verify_epoch_authorization(d, [CENTRAL_PUBLIC], network=NETWORK),
        ),
    ),
    "central-event": (
        _read("central-event.sig"),
        lambda d: verify_central_event(d, [CENTRAL_PUBLIC], network=NETWORK).resolution,
    ),
    "central-events-part": (_read("central-event.sig") + b"\n", parse_central_events),
    "authorizations-part": (_read("epoch-authorization.sig") + b"\n", parse_authorizations),
    "enrollment-request": (
        _read("enrollment-request.sig"),
        lambda d: verify_request(d, network=NETWORK, code="x"),
    ),
    "canonical": (_read("events.jsonl").splitlines()[0], parse_canonical),
    "hlc": (b"1767225600000-00000", lambda d: HLC.from_string(d.decode("utf-8", "replace"))),
    "batch-file-name": (
        b"batch-st-1-e1-000000001-000000009-0123456789abcdef.age",
        lambda d: parse_batch_file_name(d.decode("utf-8", "replace")),
    ),
}

byte_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(
        st.just("number"),
        st.integers(0, 10**6),
        st.sampled_from([b"0", b"-1", b"99999999999999999999", b"1e3", b"00", b"4294967296"]),
    ),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 200)),
)


def mutate_bytes(data: bytes, operations) -> bytes:
    out = bytearray(data)
    for kind, position, argument in operations:
        at = position % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] ^= 1 << argument
        elif kind == "delete":
            del out[at : at + argument]
        elif kind == "insert":
            out[at:at] = argument
        elif kind == "truncate":
            del out[at:]
        elif kind == "number":
            digits = [i for i, b in enumerate(out) if 0x30 <= b <= 0x39]
            if digits:
                i = digits[position % len(digits)]
                out[i : i + 1] = argument
        elif kind == "duplicate":
            out[at:at] = out[at : at + argument]
    return bytes(out)


@st.composite
def json_mutation(draw, value):
    """Replace, delete or add one value somewhere inside ``value`` (a parsed canonical document)."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        choice = draw(st.integers(0, 2))
        copy = dict(value)
        if choice == 0:
            del copy[key]
        elif choice == 1:
            copy[key] = draw(canonical_documents)
        else:
            copy[key] = draw(json_mutation(value[key]))
        if draw(st.booleans()):
            copy[draw(st.text(max_size=6).filter(str.isascii))] = draw(canonical_documents)
        return copy
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return value[:index] + [draw(json_mutation(value[index]))] + value[index + 1 :]
    return draw(canonical_documents)


def _raises_only_protocol_errors(parser, data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parser(data)


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(operations=st.lists(byte_mutation, min_size=1, max_size=4))
def test_byte_mutations_raise_only_protocol_errors(name, operations):
    seed, parser = PARSERS[name]
    _raises_only_protocol_errors(parser, mutate_bytes(seed, operations))


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes_raise_only_protocol_errors(name, data):
    _raises_only_protocol_errors(PARSERS[name][1], data)


SIGNED_BODIES = [
    "checkpoint",
    "ack",
    "bundle-manifest",
    "certificate",
    "registry",
    "root",
    "enrollment-request",
    "epoch-authorization",
    "central-event",
]


@pytest.mark.parametrize("name", SIGNED_BODIES + ["event"])
@FUZZ
@given(data=st.data())
def test_schema_mutations_of_canonical_bodies_raise_only_protocol_errors(name, data):
    """Bodies that are valid canonical JSON but violate the schema reach every field validator."""
    seed, parser = PARSERS[name]
    header, _, body = seed.partition(b"\n") if name != "event" else (b"", b"", seed)
    mutated = canonical_bytes(data.draw(json_mutation(parse_canonical(body))))
    _raises_only_protocol_errors(parser, header + b"\n" + mutated if header else mutated)
