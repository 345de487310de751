"""`yiciban-central rotate-root`: root N signs root N+1; a station that trusts root N verifies the next bundle."""

from __future__ import annotations

import time

import pytest

from central.cli import cli
from central.models import AuditEntry, TrustDocument
from central.runtime import current_runtime
from central.services.publications import publish_shipped
from central.services.roots import root_key_path, rotate_central_root
from sync_protocol.bundles import verify_bundle
from sync_protocol.errors import ProtocolError, RootRotationError
from sync_protocol.keys import SigningKey
from sync_protocol.trust import make_root, parse_root, rotate_root, trust_initial_root

pytestmark = pytest.mark.usefixtures("stations")


def station_opens(data, village, root, state=None):
    return verify_bundle(
        data,
        identities=[village.box.private_raw],
        root=root,
        network="test-net",
        station_id=village.code,
        state=state,
        local_clock_ms=int(time.time() * 1000),
    )


def test_rotate_root_from_the_cli_keeps_the_old_key_and_audits(app, runner, instance_path, central_info):
    old_key = (instance_path / "keys" / "root_ed25519.key").read_bytes()
    result = runner.invoke(cli, ["rotate-root", "--instance", str(instance_path)])
    assert result.exit_code == 0, result.output
    assert "root 2" in result.output
    assert (instance_path / "keys" / "root_ed25519.key").read_bytes() == old_key  # root 1 key kept
    new_key = SigningKey.from_private_bytes(root_key_path(instance_path, 2).read_bytes())
    assert oct(root_key_path(instance_path, 2).stat().st_mode & 0o777) == "0o600"
    root2 = parse_root((instance_path / "trust" / "root-2.signed").read_bytes())
    assert root2.version == 2 and root2.root_key_ids == {new_key.key_id}
    root1 = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    assert root2.signer_key_id in root1.root_key_ids and root2.central_keys == root1.central_keys
    with app.app_context():
        entry = AuditEntry.get(AuditEntry.action == "root_rotated")
        assert entry.target == "root-2" and new_key.key_id in entry.detail
        assert TrustDocument.select().where(TrustDocument.kind == "root").count() == 2


def test_each_rotation_is_signed_by_the_previous_root_key(app, client, central_info):
    with app.app_context():
        instance = current_runtime().instance
        first = rotate_central_root(instance)
        second = rotate_central_root(instance)
    assert (first.version, second.version) == (2, 3)
    assert second.previous_key_id == first.root_key_id
    info = client.get("/api/v1/info").get_json()
    assert len(info["roots"]) == 3  # new stations enroll with the whole chain
    assert info["root_public"] == central_info["root_public"]  # the installers' pin never moves
    root1 = trust_initial_root(info["roots"][0].encode(), network="test-net")
    root2 = rotate_root(root1, info["roots"][1].encode())
    assert rotate_root(root2, info["roots"][2].encode()).version == 3
    with pytest.raises(RootRotationError):
        rotate_root(root1, info["roots"][2].encode())  # root 3 is not signed by root 1


def test_a_station_trusting_root_1_verifies_the_bundle_after_a_rotation(app, client, village, central_info):
    root1 = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    with app.app_context():
        publish_shipped("admin")
    first = client.get(f"/api/v1/stations/{village.code}/bundles?after=0")
    state = station_opens(first.data, village, root1).state
    assert client.get(f"/api/v1/stations/{village.code}/bundles?after=1").status_code == 204

    with app.app_context():
        rotation = rotate_central_root(current_runtime().instance)
    # Nothing else changed, yet the new root alone makes a bundle.
    response = client.get(f"/api/v1/stations/{village.code}/bundles?after=1")
    assert response.status_code == 200 and response.headers["X-Bundle-Version"] == "2"
    verified = station_opens(response.data, village, root1, state)
    assert verified.root.version == 2 and verified.root.root_key_ids == {rotation.root_key_id}
    assert [parse_root(r).version for r in verified.roots] == [2]  # what the station stores
    assert client.get(f"/api/v1/stations/{village.code}/bundles?after=2").status_code == 204


def test_a_root_signed_by_a_stranger_does_not_verify(central_info):
    root1 = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    stranger = SigningKey.generate()
    forged = make_root(
        network="test-net",
        version=2,
        root_keys=[stranger.public_raw],
        central_keys=list(root1.central_keys),
        issued_ms=int(time.time() * 1000),
        signing_key=stranger,
    )
    with pytest.raises(ProtocolError):
        rotate_root(root1, forged.raw)


def test_rotation_refuses_when_the_current_root_key_is_missing(app, runner, instance_path):
    with app.app_context():
        rotate_central_root(current_runtime().instance)
    root_key_path(instance_path, 2).unlink()
    result = runner.invoke(cli, ["rotate-root", "--instance", str(instance_path)])
    assert result.exit_code == 1 and "key of root 2 is missing" in result.output
