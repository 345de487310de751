from __future__ import annotations

import zlib

import pytest

from sync_protocol.bundles import (
    PART_CAPS,
    BundlePart,
    BundleState,
    build_bundle,
    make_bundle_plaintext,
    verify_bundle,
    verify_bundle_plaintext,
)
from sync_protocol.errors import (
    DigestMismatchError,
    MalformedError,
    NoIdentityError,
    RollbackError,
    RootRotationError,
    SizeLimitError,
    StaleBundleError,
    UnknownKeyError,
    WrongNetworkError,
)
from sync_protocol.layout import is_transfer_file_name
from sync_protocol.schema import ZERO_ID
from sync_protocol.trust import make_root, trust_initial_root

from .support import CENTRAL_KEY, NETWORK, STATION, STATION_BOX, T0, box_key, signing_key

ROOT_KEY = signing_key("root-1")
CENTRAL_KEY_2 = signing_key("central-2")
DAY = 86_400_000


def _root(version=1, central=CENTRAL_KEY, signer=ROOT_KEY):
    return make_root(
        network=NETWORK,
        version=version,
        root_keys=[ROOT_KEY.public_raw],
        central_keys=[central.public_raw],
        issued_ms=T0,
        signing_key=signer,
    )


ROOT = trust_initial_root(_root().raw, network=NETWORK)
REGISTRY = BundlePart("registry", 4, b'{"registry":"v4"}')
CATALOG = BundlePart("catalog", 13, b'{"catalog":"v13"}' * 50)


def _plain(
    version=1,
    prev=ZERO_ID,
    snapshot=True,
    parts=(REGISTRY, CATALOG),
    key=CENTRAL_KEY,
    roots=(),
    station=STATION,
    expires=T0 + 30 * DAY,
):
    return make_bundle_plaintext(
        network=NETWORK,
        station_id=station,
        version=version,
        prev_bundle_id=prev,
        snapshot=snapshot,
        issued_ms=T0,
        expires_ms=expires,
        central_time_ms=T0 + 5,
        parts=list(parts),
        central_key=key,
        roots=list(roots),
    )


def _verify(plaintext, state=None, root=ROOT, now=T0):
    return verify_bundle_plaintext(
        plaintext, root=root, network=NETWORK, station_id=STATION, state=state, local_clock_ms=now
    )


def test_first_snapshot_applies_every_part_and_records_state():
    manifest, plaintext = _plain()
    result = _verify(plaintext)
    assert [p.type for p in result.parts] == ["catalog", "registry"]
    assert result.state == BundleState(1, manifest.bundle_id, {"catalog": 13, "registry": 4}, T0 + 5)
    assert not result.stale and not result.noop


def test_delta_must_continue_from_the_last_applied_bundle():
    first_manifest, first = _plain()
    state = _verify(first).state
    _, delta = _plain(
        2, prev=first_manifest.bundle_id, snapshot=False, parts=(BundlePart("registry", 5, b"r5"),)
    )
    result = _verify(delta, state)
    assert [p.version for p in result.parts] == [5] and result.state.part_versions == {
        "catalog": 13,
        "registry": 5,
    }
    _, orphan = _plain(3, prev="ab" * 32, snapshot=False, parts=())
    with pytest.raises(StaleBundleError):
        _verify(orphan, result.state)


def test_older_bundle_is_a_rollback_and_equal_is_a_no_op():
    _, first = _plain()
    state = _verify(first).state
    later = BundleState(5, "cd" * 32, state.part_versions, state.trusted_time_ms)
    with pytest.raises(RollbackError):
        _verify(_plain(4)[1], later)
    same = _verify(_plain(5)[1], later)
    assert same.noop and same.parts == () and same.state == later


def test_part_versions_never_go_backwards_and_equal_parts_are_skipped():
    state = BundleState(1, "ab" * 32, {"catalog": 13, "registry": 4}, T0)
    _, snap = _plain(2, parts=(BundlePart("registry", 4, b"same"), BundlePart("calendar", 1, b"cal")))
    assert [p.type for p in _verify(snap, state).parts] == ["calendar"]
    _, older = _plain(3, parts=(BundlePart("catalog", 12, b"old"),))
    with pytest.raises(RollbackError):
        _verify(older, state)


def test_soft_expiry_uses_the_trusted_time_floor():
    _, plaintext = _plain(expires=T0 + DAY)
    assert not _verify(plaintext, now=T0).stale
    assert _verify(plaintext, now=T0 + 2 * DAY).stale
    behind = BundleState(0, ZERO_ID, {}, T0 + 3 * DAY)  # local clock set back; central time seen is later
    assert _verify(plaintext, behind, now=T0).stale


def test_bundle_for_another_station_or_from_an_unknown_key_is_refused():
    with pytest.raises(WrongNetworkError):
        _verify(_plain(station="st-other")[1])
    with pytest.raises(UnknownKeyError):
        _verify(_plain(key=CENTRAL_KEY_2)[1])


def test_root_rotation_comes_first_and_authorizes_the_new_central_key():
    root2 = _root(2, central=CENTRAL_KEY_2)
    result = _verify(_plain(key=CENTRAL_KEY_2, roots=[root2.raw])[1])
    assert result.root.version == 2 and result.roots == (root2.raw,)
    rogue = _root(2, central=CENTRAL_KEY_2, signer=signing_key("rogue-root"))
    with pytest.raises(RootRotationError):
        _verify(_plain(key=CENTRAL_KEY_2, roots=[rogue.raw])[1])


def test_tampered_part_fails_hash_check():
    _, plaintext = _plain()
    container = zlib.decompress(plaintext).replace(b'{"registry":"v4"}', b'{"registry":"v5"}')
    with pytest.raises(DigestMismatchError):
        _verify(zlib.compress(container))


def test_parts_over_their_cap_are_refused():
    with pytest.raises(SizeLimitError):
        _plain(parts=(BundlePart("calendar", 1, b"x" * (PART_CAPS["calendar"] + 1)),))
    _, plaintext = _plain(parts=(BundlePart("calendar", 1, b"x"),))
    big = zlib.decompress(plaintext).replace(
        b"part calendar 1\nx\n",
        b"part calendar %d\n" % (PART_CAPS["calendar"] + 1) + b"x" * (PART_CAPS["calendar"] + 1) + b"\n",
    )
    with pytest.raises(SizeLimitError):
        _verify(zlib.compress(big))


def test_unknown_part_type_is_malformed():
    _, plaintext = _plain()
    container = zlib.decompress(plaintext).replace(b"part registry", b"part hackery")
    with pytest.raises((MalformedError, SizeLimitError)):
        _verify(zlib.compress(container))


def test_sealed_bundle_opens_only_for_its_station():
    bundle = build_bundle(
        station_box_public=STATION_BOX.public_raw,
        network=NETWORK,
        station_id=STATION,
        version=1,
        prev_bundle_id=ZERO_ID,
        snapshot=True,
        issued_ms=T0,
        expires_ms=T0 + DAY,
        central_time_ms=T0,
        parts=[REGISTRY],
        central_key=CENTRAL_KEY,
    )
    assert is_transfer_file_name(bundle.name)
    result = verify_bundle(
        bundle.data,
        identities=[STATION_BOX.private_raw],
        root=ROOT,
        network=NETWORK,
        station_id=STATION,
        state=None,
        local_clock_ms=T0,
    )
    assert result.manifest.bundle_id == bundle.bundle_id and result.parts == (REGISTRY,)
    with pytest.raises(NoIdentityError):
        verify_bundle(
            bundle.data,
            identities=[box_key("other").private_raw],
            root=ROOT,
            network=NETWORK,
            station_id=STATION,
            state=None,
            local_clock_ms=T0,
        )
