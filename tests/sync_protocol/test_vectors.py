"""The files in tests/vectors/protocol/ are what docs/PROTOCOL.md explains; this test regenerates them and checks
them byte for byte, then reads each one through the public API as a receiver would."""

from __future__ import annotations

import importlib.util
import json
import zlib
from pathlib import Path

import pytest

from sync_protocol.acks import verify_ack
from sync_protocol.batch import open_batch
from sync_protocol.bundles import verify_bundle
from sync_protocol.events import ZERO_ID, parse_event, verify_chain
from sync_protocol.ingest import KeyStatus, Outcome, StationHistory, decide
from sync_protocol.registry import verify_registry
from sync_protocol.trust import trust_initial_root, verify_certificate, verify_enrollment_request

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FOLDER = VECTORS / "protocol"


def _generator():
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()
EXPECTED = GENERATOR.build(GENERATOR.stored_zlib_payloads(FOLDER))
KEYS = json.loads((FOLDER / "keys.json").read_text())


def _read(name: str) -> bytes:
    return (FOLDER / name).read_bytes()


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not n.endswith(".zlib")))
def test_vector_file_is_reproduced_byte_for_byte(name):
    assert _read(name) == EXPECTED[name]


@pytest.mark.parametrize(
    ("compressed", "container"), [("batch.zlib", "batch.container"), ("bundle.zlib", "bundle.container")]
)
def test_compressed_payload_inflates_to_the_container(compressed, container):
    assert zlib.decompress(_read(compressed)) == _read(container)


def test_no_vector_file_is_missing_or_extra():
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(EXPECTED)


def _box(label: str) -> bytes:
    return bytes.fromhex(KEYS["box_keys"][label]["private"])


def _public(label: str) -> bytes:
    return bytes.fromhex(KEYS["signing_keys"][label]["public"])


NETWORK, STATION = KEYS["network"], KEYS["station"]
ROOT = trust_initial_root(
    _read("root-1.sig"), network=NETWORK, pinned_key_id=KEYS["signing_keys"]["root"]["key_id"]
)


def test_events_vector_is_a_valid_chain_with_the_listed_ids():
    events = [parse_event(line) for line in _read("events.jsonl").splitlines()]
    assert [e.event_id for e in events] == _read("event-ids.txt").decode().split()
    assert verify_chain(events, ZERO_ID) == events[-1].event_id


def test_sealed_batch_vector_is_accepted_by_central():
    def lookup(station, kid):
        assert (station, kid) == (STATION, KEYS["signing_keys"]["station"]["key_id"])
        return _public("station")

    opened = open_batch(_read("batch.age"), [_box("central-ingest")], network=NETWORK, public_key_for=lookup)
    assert opened.checkpoint.raw == _read("checkpoint.sig")
    assert b"".join(e.body + b"\n" for e in opened.events) == _read("events.jsonl")
    result = decide(opened.events, StationHistory(STATION), key=KeyStatus(True))
    assert [d.outcome for d in result.decisions] == [Outcome.OPEN_EPOCH] + [Outcome.ACCEPT] * 3


def test_signed_vectors_verify():
    ack = verify_ack(_read("ack.sig"), _public("central"), network=NETWORK, station_id=STATION)
    assert ack.for_epoch(1).through == 4
    request = verify_enrollment_request(
        _read("enrollment-request.sig"), network=NETWORK, code=KEYS["enrollment_code"]
    )
    cert = verify_certificate(_read("certificate.sig"), ROOT, network=NETWORK)
    assert cert.sign_public == request.sign_public
    assert verify_registry(_read("registry.sig"), ROOT, network=NETWORK).public_key_for(
        STATION, cert.station_key_id
    ) == _public("station")


def test_sealed_bundle_vector_verifies_for_the_station():
    result = verify_bundle(
        _read("bundle.age"),
        identities=[_box("station-box")],
        root=ROOT,
        network=NETWORK,
        station_id=STATION,
        state=None,
        local_clock_ms=0,
    )
    assert result.manifest.raw == _read("bundle-manifest.sig")
    assert [p.type for p in result.parts] == ["acks", "registry"]
    assert result.parts[0].data == _read("ack.sig")


def test_epoch_authorization_vector_opens_the_restore_epoch_it_names():
    from sync_protocol.authorization import verify_epoch_authorization
    from sync_protocol.events import epoch_open_event
    from sync_protocol.ingest import EpochHistory

    auth = verify_epoch_authorization(_read("epoch-authorization.sig"), ROOT.central_keys, network=NETWORK)
    ids = _read("event-ids.txt").decode().split()
    assert (auth.station_id, auth.epoch, auth.reason, auth.previous_head) == (
        STATION,
        2,
        "restore",
        (1, 4, ids[3]),
    )
    opened = epoch_open_event(
        network=NETWORK,
        station_id=STATION,
        epoch=2,
        reason="restore",
        previous_head=auth.previous_head,
        hlc="1767226600000-00000",
        wall_ms=1767226600000,
        actor="system",
    )
    history = StationHistory(
        STATION,
        epochs={1: EpochHistory(4, ids[3], {i + 1: v for i, v in enumerate(ids)})},
        epoch_authorizations=(auth,),
    )
    result = decide([opened], history, key=KeyStatus(True), central_keys=ROOT.central_keys)
    assert result.decisions[0].outcome is Outcome.OPEN_EPOCH


def test_central_event_vector_is_a_resolution_naming_two_vector_events():
    from sync_protocol.central_events import verify_central_event

    event = verify_central_event(_read("central-event.sig"), ROOT.central_keys, network=NETWORK)
    ids = _read("event-ids.txt").decode().split()
    resolution = event.resolution
    assert resolution is not None and resolution.events == tuple(sorted(ids[2:4]))
