"""An offline village served both ways by a USB stick carried through its township (SPEC §3.7: central's replies
travel back the way the batches went). Real central served on 127.0.0.1, real station stores: the township relays
the village's sealed batch and writes central's replies for the village — its ack and its next bundle, unread —
onto the stick; the village reads them offline: its work is acknowledged, and what the township did on its case
comes back to it."""

from __future__ import annotations

import pytest

from station.models import CaseRecord
from station.services import custody as station_custody
from station.services.actions import perform_action
from station.services.sync import enrolled, sync_summary
from station.services.usb import export_batches, import_from
from sync_protocol.layout import ROOT
from tests.e2e.nodes import COUNTY, ID_NUMBERS, TOWNSHIP, USERS, VILLAGE, Station, prepared_central
from tests.e2e.test_daiban_route import dispatch
from tests.station.test_custody import receive_case
from tests.support.calendars import import_at_station
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]


@pytest.fixture
def stations(tmp_path):
    central, codes = prepared_central(
        tmp_path / "central", (COUNTY, TOWNSHIP, VILLAGE), (VILLAGE[0], TOWNSHIP[0])
    )
    with serve_app(central) as url:
        village = Station(tmp_path, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=False)
        township = Station(tmp_path, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        import_at_station(village.app)  # offline: the calendar as its bundle from a stick would bring it
        yield village, township, tmp_path / "stick"


def bundles_on(stick, network: str) -> list[str]:
    return sorted(p.name for p in (stick / ROOT / network / "down" / VILLAGE[0]).glob("bundle-*.age"))


def test_the_township_brings_back_central_replies_for_the_offline_village(stations):
    village, township, stick = stations
    stick.mkdir()
    township.sync()  # the township knows the registry (the village's key)
    case = receive_case(village.app, "张晓明", ID_NUMBERS[0])
    labels = dispatch(village, [case])
    with village.bound():
        assert export_batches(village.node, stick)
        assert sync_summary()["unacked"] > 0
        network = enrolled().network

    # The agent reaches the township: the batch is relayed, the village's ack and bundle come back on the stick.
    with township.bound():
        first = import_from(township.node, stick)
    assert (first.relayed, first.replies, first.refused) == (1, 2, [])
    [bundle] = bundles_on(stick, network)

    # Back at the village, offline: its work is acknowledged, and it has the registry central sent.
    with village.bound():
        read = import_from(village.node, stick)
        assert (read.acks, read.bundles, read.relayed, read.replies) == (1, 1, 0, 0)
        assert sync_summary()["unacked"] == 0

    # The township signs for the folder and accepts the case; the next trip brings that back to the village.
    township.sync()
    clerk = township.actor("township", "township_clerk")
    with township.bound():
        station_custody.receive_folder(township.node.keys.signing_key, clerk, labels[case.id])
        _record, problems = perform_action(clerk, case.id, "accept", {}, "stick-accept")
        assert problems == {}
    township.sync()
    with township.bound():
        again = import_from(township.node, stick)
    assert again.relayed == 1 and again.replies >= 1, "nothing new from the village; a newer bundle for it"
    newer = [b for b in bundles_on(stick, network) if b != bundle]
    assert len(newer) == 1, "the next bundle after the one already on the stick"
    with village.bound():
        read = import_from(village.node, stick)
        assert read.bundles == 1
        assert CaseRecord.get_by_id(case.id).state == "accepted", (
            "the township's acceptance reached the village"
        )

    # A trip with nothing new for the village writes no new bundle.
    with township.bound():
        import_from(township.node, stick)
    assert len(bundles_on(stick, network)) == 2
