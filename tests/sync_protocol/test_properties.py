"""Property tests for SYNC-DESIGN §12 invariants 1, 2 (inside the simulator), 3 (non-seal layers), 4, 6 and 7."""

from __future__ import annotations

import zlib

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol.acks import EpochAck, make_ack, verify_ack
from sync_protocol.batch import make_batch_plaintext, read_batch_plaintext
from sync_protocol.bundles import BundlePart, BundleState, make_bundle_plaintext, verify_bundle_plaintext
from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.errors import ProtocolError
from sync_protocol.events import (
    Event,
    MalformedEvent,
    build_event,
    compute_event_id,
    parse_event,
    verify_chain,
)
from sync_protocol.hlc import HLC
from sync_protocol.ingest import EpochHistory, KeyStatus, Outcome, StationHistory, decide
from sync_protocol.schema import ZERO_ID
from sync_protocol.trust import issue_certificate, make_root, trust_initial_root, verify_certificate
from tests.strategies import canonical_documents, chain_lengths_and_cuts, deliveries, payloads, split_at

from .support import (
    CENTRAL_BOX,
    CENTRAL_KEY,
    NETWORK,
    STATION,
    STATION_BOX,
    STATION_KEY,
    T0,
    domain_event,
    make_chain,
    signing_key,
    station_bodies,
    uuid_for,
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OK = KeyStatus(True)
CHAIN = make_chain(40)
ROOT_KEY = signing_key("root")
ROOT = trust_initial_root(
    make_root(
        network=NETWORK,
        version=1,
        root_keys=[ROOT_KEY.public_raw],
        central_keys=[CENTRAL_KEY.public_raw],
        issued_ms=T0,
        signing_key=ROOT_KEY,
    ).raw,
    network=NETWORK,
)


class CentralSimulator:
    """A minimal central store over ``ingest.decide``: log, heads, pending, forks (no database; the decision is
    the thing under test)."""

    def __init__(self, authorized_epochs: frozenset[int] = frozenset()) -> None:
        self.log: list[Event] = []
        self.ids: dict[tuple[int, int], str] = {}
        self.heads: dict[int, tuple[int, str]] = {}
        self.pending: dict[tuple[int, int], Event] = {}
        self.forks: list[Event] = []
        self.malformed: dict[tuple[int, int], str] = {}
        self.authorized = authorized_epochs

    def history(self) -> StationHistory:
        epochs = {}
        for epoch in {*self.heads, *(p[0] for p in self.pending), *(p[0] for p in self.malformed)}:
            head_seq, head_id = self.heads.get(epoch, (0, ZERO_ID))
            epochs[epoch] = EpochHistory(
                head_seq,
                head_id,
                {s: i for (e, s), i in self.ids.items() if e == epoch},
                {s: ev.event_id for (e, s), ev in self.pending.items() if e == epoch},
                {s: i for (e, s), i in self.malformed.items() if e == epoch},
            )
        return StationHistory(STATION, epochs=epochs, authorized_epochs=self.authorized)

    def _apply(self, events) -> bool:
        result = decide(events, self.history(), key=OK)
        progressed = False
        for m in result.malformed:
            self.malformed[m.item.position] = m.item.event_id
        for d in result.decisions:
            position = d.event.position
            if d.outcome.appends:
                # invariant 2: nothing is applied before all its predecessors in its (station, epoch)
                assert d.event.seq == 1 or (d.event.epoch, d.event.seq - 1) in self.ids
                self.log.append(d.event)
                self.ids[position] = d.event.event_id
                self.heads[d.event.epoch] = (d.event.seq, d.event.event_id)
                held = self.pending.pop(position, None)
                assert held is None or held.event_id == d.event.event_id, (
                    "appended over a different held event"
                )
                progressed = True
            elif d.outcome in (Outcome.GAP, Outcome.EPOCH_REVIEW):
                self.pending.setdefault(position, d.event)
            elif d.outcome is Outcome.FORK:
                self.forks.append(d.event)
                if self.pending.get(position) is d.event:
                    del self.pending[position]
        return progressed

    def receive(self, events) -> None:
        self._apply(events)
        while self.pending and self._apply(sorted(self.pending.values(), key=lambda e: e.position)):
            pass


# --- invariant 1: any multiset and permutation of batches yields the same log and projection ------------------


def projection(log: list[Event]) -> dict[str, object]:
    state: dict[str, object] = {}
    for event in log:
        state[event.aggregate_id] = event.payload.get("new")
    return state


@PROPERTY
@given(chain_lengths_and_cuts(), st.data())
def test_any_delivery_order_with_duplicates_yields_the_same_log(length_and_cuts, data):
    length, cuts = length_and_cuts
    batches = split_at(CHAIN[:length], cuts)
    order = data.draw(deliveries(len(batches)))
    central = CentralSimulator()
    for index in order:
        central.receive(batches[index])
    assert [e.event_id for e in central.log] == [e.event_id for e in CHAIN[:length]]
    assert not central.pending and not central.forks
    assert projection(central.log) == projection(CHAIN[:length])


RESTORED = make_chain(6, epoch=2, previous_head=(1, 20, CHAIN[19].event_id), reason="restore")


@PROPERTY
@given(st.permutations(list(range(6))))
def test_late_batches_of_an_older_epoch_interleave_without_changing_either_chain(order):
    batches = [CHAIN[:10], CHAIN[10:20], CHAIN[20:30], RESTORED[:2], RESTORED[2:4], RESTORED[4:]]
    central = CentralSimulator(authorized_epochs=frozenset({2}))
    for index in order:
        central.receive(batches[index])
    for epoch, expected in ((1, CHAIN[:30]), (2, RESTORED)):
        assert [e.event_id for e in central.log if e.epoch == epoch] == [e.event_id for e in expected]
    assert not central.pending and not central.forks


def _items(bodies: list[bytes]) -> list[Event | MalformedEvent]:
    out: list[Event | MalformedEvent] = []
    for seq, body in enumerate(bodies, start=1):
        try:
            out.append(parse_event(body))
        except ProtocolError as error:
            out.append(MalformedEvent(body, compute_event_id(body), 1, seq, error.reason, error.message))
    return out


def _spoil(body: bytes) -> bytes:
    return body.replace(b'"v":1', b'"v": 1')


@PROPERTY
@given(st.integers(1, 20), chain_lengths_and_cuts(20), st.data())
def test_any_delivery_order_stops_the_log_at_a_malformed_event(bad_seq, length_and_cuts, data):
    length, cuts = length_and_cuts
    length = max(length, bad_seq)
    items = _items(station_bodies(length, {bad_seq: _spoil}))
    batches = split_at(items, [c for c in cuts if c < length])
    central = CentralSimulator()
    for index in data.draw(deliveries(len(batches))):
        central.receive(batches[index])
    assert [e.seq for e in central.log] == list(range(1, bad_seq))
    assert central.malformed == {(1, bad_seq): items[bad_seq - 1].event_id}
    assert sorted(p[1] for p in central.pending) == list(range(bad_seq + 1, length + 1))
    assert not central.forks


# --- invariant 4: a fork is always detected and never silently merged ------------------------------------------


def _branch(divergence: int, length: int) -> list[Event]:
    branch = list(CHAIN[:divergence])
    for seq in range(divergence + 1, length + 1):
        branch.append(
            domain_event(
                branch[-1],
                seq=seq,
                hlc=HLC(T0 + 10**8 + seq),
                aggregate_id=uuid_for(seq),
                payload={"field": "phone", "old": "1", "new": f"fork-{seq}"},
            )
        )
    return branch


@PROPERTY
@given(st.integers(1, 25), chain_lengths_and_cuts(30), chain_lengths_and_cuts(30), st.data())
def test_fork_is_detected_and_never_merged(divergence, a_cuts, b_cuts, data):
    a_len = max(a_cuts[0], divergence + 1)
    b_len = max(b_cuts[0], divergence + 1)
    a_batches = split_at(CHAIN[:a_len], [c for c in a_cuts[1] if c < a_len])
    b_batches = split_at(_branch(divergence, b_len), [c for c in b_cuts[1] if c < b_len])
    tagged = [("a", b) for b in a_batches] + [("b", b) for b in b_batches]
    order = data.draw(deliveries(len(tagged)))
    central = CentralSimulator()
    for index in order:
        central.receive(tagged[index][1])
    log = central.log
    verify_chain(log, ZERO_ID)
    a_ids = {e.event_id for e in CHAIN[:a_len]}
    b_ids = {e.event_id for e in _branch(divergence, b_len)}
    assert all(e.event_id in a_ids for e in log) or all(e.event_id in b_ids for e in log)
    if len(log) > divergence:
        assert central.forks, "the other branch's event at the divergence point must be reported as a fork"


# --- invariant 3 (checkpoint and events layers): any flipped bit fails closed ---------------------------------


def _lookup(station, kid):
    return STATION_KEY.public_raw


@PROPERTY
@given(st.integers(1, 12), st.data())
def test_any_flipped_bit_of_a_batch_container_fails_closed(count, data):
    _, plaintext = make_batch_plaintext(
        CHAIN[:count],
        signing_key=STATION_KEY,
        recipient_key_id=CENTRAL_BOX.key_id,
        bundle_version=1,
        hlc=CHAIN[count - 1].hlc,
        wall_ms=T0,
    )
    container = bytearray(zlib.decompress(plaintext))
    bit = data.draw(st.integers(0, len(container) * 8 - 1))
    container[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ProtocolError):
        read_batch_plaintext(
            zlib.compress(bytes(container)),
            network=NETWORK,
            public_key_for=_lookup,
            recipient_key_ids=[CENTRAL_BOX.key_id],
        )


SIGNED = {
    "ack": (
        make_ack(
            network=NETWORK,
            station_id=STATION,
            version=3,
            central_time_ms=T0,
            epochs=[EpochAck(1, 7, "ab" * 32, held=((9, 12),))],
            central_key=CENTRAL_KEY,
        ).raw,
        lambda raw: verify_ack(raw, CENTRAL_KEY.public_raw, network=NETWORK, station_id=STATION),
    ),
    "certificate": (
        issue_certificate(
            network=NETWORK,
            station_id=STATION,
            level="village",
            parent="",
            sign_public=STATION_KEY.public_raw,
            box_public=STATION_BOX.public_raw,
            epoch=1,
            serial=1,
            issued_ms=T0,
            central_key=CENTRAL_KEY,
        ).raw,
        lambda raw: verify_certificate(raw, ROOT, network=NETWORK),
    ),
}


@PROPERTY
@given(st.sampled_from(sorted(SIGNED)), st.data())
def test_any_flipped_bit_of_a_signed_object_fails_closed(kind, data):
    raw, verify = SIGNED[kind]
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    tampered = bytearray(raw)
    tampered[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ProtocolError):
        verify(bytes(tampered))


# --- invariant 6: bundle versions never decrease on a station; parts never roll back ---------------------------


def _bundle_chain(count: int, snapshots: set[int]) -> list[bytes]:
    out, prev = [], ZERO_ID
    for version in range(1, count + 1):
        parts = [BundlePart("registry", version, b"r%d" % version)]
        if version % 2 == 0:
            parts.append(BundlePart("catalog", version // 2, b"c%d" % version))
        manifest, plaintext = make_bundle_plaintext(
            network=NETWORK,
            station_id=STATION,
            version=version,
            prev_bundle_id=prev,
            snapshot=version == 1 or version in snapshots,
            issued_ms=T0,
            expires_ms=T0 + 10**9,
            central_time_ms=T0 + version,
            parts=parts,
            central_key=CENTRAL_KEY,
        )
        out.append(plaintext)
        prev = manifest.bundle_id
    return out


@PROPERTY
@given(st.integers(1, 8), st.sets(st.integers(2, 8), max_size=3), st.data())
def test_bundle_and_part_versions_never_decrease(count, snapshots, data):
    bundles = _bundle_chain(count, snapshots)
    order = data.draw(deliveries(count))
    state: BundleState | None = None
    for index in order:
        try:
            result = verify_bundle_plaintext(
                bundles[index], root=ROOT, network=NETWORK, station_id=STATION, state=state, local_clock_ms=T0
            )
        except ProtocolError:
            continue
        if state is not None:
            assert result.state.version >= state.version
            for part_type, version in state.part_versions.items():
                assert result.state.part_versions[part_type] >= version
        state = result.state
    assert state is None or state.version <= count


# --- invariant 7: canon(parse(b)) == b, and equality with rfc8785 ---------------------------------------------


@settings(max_examples=300, deadline=None)
@given(canonical_documents)
def test_canonical_bytes_equal_rfc8785_and_round_trip(document):
    encoded = canonical_bytes(document)
    assert encoded == rfc8785.dumps(document)
    assert canonical_bytes(parse_canonical(encoded)) == encoded
    assert parse_canonical(encoded) == document


@settings(max_examples=100, deadline=None)
@given(payloads, st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and "\x00" not in s))
def test_stored_event_bodies_are_their_own_canonical_form(payload, actor):
    event = build_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        seq=2,
        prev=CHAIN[0].event_id,
        hlc=HLC(T0 + 1),
        wall_ms=T0,
        actor=actor,
        idempotency_key="op-1",
        type="case.edited",
        schema_version=1,
        aggregate_kind="case",
        aggregate_id=uuid_for(1),
        payload=payload,
    )
    assert canonical_bytes(parse_canonical(event.body)) == event.body
    assert parse_event(event.body) == event
    assert rfc8785.dumps(parse_canonical(event.body)) == event.body
