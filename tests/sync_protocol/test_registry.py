from __future__ import annotations

import pytest

from sync_protocol.errors import (
    MalformedError,
    RollbackError,
    SignatureError,
    UnknownKeyError,
    WrongNetworkError,
)
from sync_protocol.registry import StationEntry, StationKey, build_registry, parse_registry, verify_registry
from sync_protocol.trust import make_root, trust_initial_root

from .support import CENTRAL_KEY, NETWORK, STATION, STATION_BOX, STATION_KEY, T0, signing_key

NEW_KEY = signing_key("station-new")
ROOT = trust_initial_root(
    make_root(
        network=NETWORK,
        version=1,
        root_keys=[signing_key("root").public_raw],
        central_keys=[CENTRAL_KEY.public_raw],
        issued_ms=T0,
        signing_key=signing_key("root"),
    ).raw,
    network=NETWORK,
)


def _registry(version=3, revoked=(1, 500), key=CENTRAL_KEY, network=NETWORK):
    entries = [
        StationEntry("st-b", "township", "", (StationKey(NEW_KEY.public_raw, b"\x02" * 32),)),
        StationEntry(
            STATION,
            "village",
            "st-b",
            (
                StationKey(STATION_KEY.public_raw, STATION_BOX.public_raw, revoked),
                StationKey(NEW_KEY.public_raw, b"\x03" * 32),
            ),
        ),
    ]
    return build_registry(network=network, version=version, issued_ms=T0, stations=entries, central_key=key)


def test_registry_round_trips_and_looks_up_keys():
    registry = verify_registry(_registry().raw, ROOT, network=NETWORK)
    assert list(registry.stations) == ["st-330106001", "st-b"]
    assert registry.public_key_for(STATION, STATION_KEY.key_id) == STATION_KEY.public_raw
    assert registry.box_key_for(STATION) == b"\x03" * 32
    assert parse_registry(registry.raw) == registry


def test_revocation_is_by_epoch_and_seq_not_time():
    registry = _registry(revoked=(1, 500))
    assert not registry.is_revoked_at(STATION, STATION_KEY.key_id, (1, 500))
    assert registry.is_revoked_at(STATION, STATION_KEY.key_id, (1, 501))
    assert registry.is_revoked_at(STATION, STATION_KEY.key_id, (2, 1))
    assert not registry.is_revoked_at(STATION, NEW_KEY.key_id, (9, 9))


def test_unknown_station_or_key_raises_unknown_key():
    registry = _registry()
    with pytest.raises(UnknownKeyError):
        registry.public_key_for("st-zzz", STATION_KEY.key_id)
    with pytest.raises(UnknownKeyError):
        registry.public_key_for(STATION, "0" * 64)


def test_registry_version_never_goes_backwards():
    with pytest.raises(RollbackError):
        verify_registry(_registry(version=2).raw, ROOT, network=NETWORK, current_version=3)
    assert verify_registry(_registry(version=3).raw, ROOT, network=NETWORK, current_version=3).version == 3


def test_registry_signed_by_a_key_outside_the_root_or_for_another_network_fails():
    with pytest.raises(UnknownKeyError):
        verify_registry(_registry(key=signing_key("rogue")).raw, ROOT, network=NETWORK)
    with pytest.raises(WrongNetworkError):
        verify_registry(_registry(network="other").raw, ROOT, network=NETWORK)
    tampered = _registry().raw.replace(b'"rev":[1,500]', b'"rev":[1,900]')
    with pytest.raises(SignatureError):
        verify_registry(tampered, ROOT, network=NETWORK)


@pytest.mark.parametrize("rev", [b'"rev":[0,5]', b'"rev":[1]', b'"rev":"1,5"', b'"rev":[1,-1]'])
def test_malformed_revocation_is_refused(rev):
    data = _registry().raw.replace(b'"rev":[1,500]', rev)
    with pytest.raises(MalformedError):
        parse_registry(data)


def test_key_status_feeds_the_ingest_decision():
    from sync_protocol.ingest import KeyStatus

    registry = _registry(revoked=(2, 40))
    assert registry.key_status(STATION, STATION_KEY.key_id) == KeyStatus(True, (2, 40))
    assert registry.key_status(STATION, NEW_KEY.key_id) == KeyStatus(True, None)
    assert registry.key_status("st-nope", NEW_KEY.key_id) == KeyStatus(False)
