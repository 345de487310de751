"""A restored station's new epoch: central's authorization arrives in a bundle's ``authorizations`` part and is
applied in the bundle's transaction (real central served on 127.0.0.1, a real station store, real sync)."""

from __future__ import annotations

import pytest

from central import create_app as create_central
from central.models import Conflict
from central.runtime import current_runtime
from central.services.conflicts import is_epoch_review, resolve
from central.services.stations import issue_enrollment_code, register_station
from station.db import write_transaction
from station.models import DownstreamPart, NodeState
from station.services.enrollment import central_info, trusted_root
from station.services.epochs import (
    AUTHORIZATIONS_KEY,
    apply_authorizations_part,
    current_epoch_status,
    recorded_authorizations,
)
from station.services.restore import open_restore_epoch
from sync_protocol.authorization import encode_authorizations, issue_epoch_authorization
from sync_protocol.keys import SigningKey
from tests.central.conftest import add_user, make_instance
from tests.e2e.test_daiban_route import COUNTY, TOWNSHIP, USERS, VILLAGE, Station
from tests.station.test_custody import receive_case
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def network(tmp_path):
    central = create_central(make_instance(tmp_path / "central"))
    with central.app_context():
        for code, name, level, parent in (COUNTY, TOWNSHIP, VILLAGE):
            register_station(code, name, level, parent, "admin")
        add_user("admin", "central_admin")
        code = issue_enrollment_code(VILLAGE[0], "admin", current_runtime().cipher, 72).code
    with serve_app(central) as url:
        yield central, Station(tmp_path, VILLAGE, url, code, USERS["village"], online=True)


def authorization_parts(village: Station) -> list[DownstreamPart]:
    with village.bound():
        return list(DownstreamPart.select().where(DownstreamPart.part_type == "authorizations"))


def restored_and_authorized(central, village: Station) -> None:
    """Work, sync, a restore opens epoch 2, sync (central holds it for review), the admin authorizes it."""
    receive_case(village.app, "张晓明")
    village.sync()
    with village.bound():
        open_restore_epoch("admin")
    receive_case(village.app, "李秀兰")
    village.sync()
    with village.bound():
        status = current_epoch_status()
    assert status.epoch == 2 and status.reason == "restore" and status.needs_central
    page = village.client("village").get("/sync/").get_data(as_text=True)
    assert "等待中心" in page and "电话" in page, "the sync page says the new epoch waits for central"
    with central.app_context():
        [conflict] = [c for c in Conflict.select().where(Conflict.status == "open") if is_epoch_review(c)]
        resolve(conflict.id, "authorize_epoch", "admin")


def test_centrals_authorization_of_a_restored_epoch_is_applied_with_the_bundle(network):
    central, village = network
    restored_and_authorized(central, village)
    assert authorization_parts(village) == []

    village.sync()
    [part] = authorization_parts(village)
    assert part.applied and part.part_version == 2
    with village.bound():
        status = current_epoch_status()
        [epoch] = recorded_authorizations()
    assert epoch == 2
    assert status.authorized_at is not None and status.matches_log and not status.needs_central
    page = village.client("village").get("/sync/").get_data(as_text=True)
    assert "已由中心授权" in page and "等待中心" not in page

    village.sync()  # replay: the same part version is not sent or applied again
    assert len(authorization_parts(village)) == 1
    with village.bound():
        before = NodeState.read(AUTHORIZATIONS_KEY)
        with write_transaction():
            assert apply_authorizations_part(bytes(part.body), trusted_root(central_info()))
        assert NodeState.read(AUTHORIZATIONS_KEY) == before, "applying the same part again changes nothing"


def test_a_forged_authorization_is_refused_and_records_nothing(network):
    central, village = network
    receive_case(village.app, "张晓明")
    village.sync()
    with village.bound():
        event = open_restore_epoch("admin")
        head = (event.payload["prev_epoch"], event.payload["prev_seq"], event.prev)
        root = trusted_root(central_info())
        network_id = central_info()["network"]

    def signed_by(key: SigningKey, station: str = VILLAGE[0], network_name: str = network_id) -> bytes:
        authorization = issue_epoch_authorization(
            network=network_name, station_id=station, epoch=2, reason="restore", previous_head=head,
            issued_ms=1_790_000_000_000, central_key=key,
        )  # fmt: skip
        return encode_authorizations([authorization])

    central_key = current_runtime().keys.central
    genuine = signed_by(central_key)
    tampered = genuine.replace(b'"issued":1790000000000', b'"issued":1790000000001')
    assert tampered != genuine
    forged = [
        signed_by(SigningKey.generate()),  # a key that is not central's
        tampered,  # central's signature over other bytes
        signed_by(central_key, station=TOWNSHIP[0]),  # genuine, but for another station
        signed_by(central_key, network_name="another-network"),
        genuine + signed_by(SigningKey.generate()),  # one good, one forged: the whole part is refused
        b"not an authorization\n",
    ]
    with village.bound():
        for data in forged:
            with write_transaction():
                assert apply_authorizations_part(data, root) is False
        assert NodeState.read(AUTHORIZATIONS_KEY) is None
        assert current_epoch_status().needs_central
        with write_transaction():
            assert apply_authorizations_part(genuine, root) is True  # the same checks pass for the real one
        assert current_epoch_status().authorized_at is not None and current_epoch_status().matches_log
