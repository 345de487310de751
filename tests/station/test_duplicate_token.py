"""Class C at the station (ADR 0006): the network duplicate key from a ``netkey`` bundle part is kept encrypted under
the station's field key, and every ``case.received`` after it carries the person+item token central matches."""

import base64
import json

from casework.merge import duplicate_token
from station.db import write_transaction
from station.models import NodeState
from station.services.downstream import NETWORK_KEY, _apply_netkey, network_duplicate_key
from station.services.log import events_of

from .helpers import intake_data
from .test_actions import _receive

KEY = bytes(range(32))


def _netkey_part(key=KEY) -> bytes:
    return json.dumps(
        {"format": "yiciban.netkey/1", "id": "abcd", "duplicate": base64.b64encode(key).decode()}
    ).encode()


def test_before_the_key_arrives_received_events_carry_no_token(township_app):
    case = _receive(township_app)
    assert "duplicate_token" not in events_of("case", case.id)[0].payload


def test_the_key_is_kept_encrypted_and_received_events_carry_the_token(township_app):
    cipher = township_app.extensions["station"].keys.field_cipher
    with write_transaction():
        stored = _apply_netkey(_netkey_part(), cipher)
    assert stored is not None and KEY not in stored and base64.b64encode(KEY) not in stored
    assert base64.b64encode(KEY).decode() not in json.dumps(NodeState.read(NETWORK_KEY))
    assert network_duplicate_key(cipher) == KEY
    case = _receive(township_app, token="t-with-key")
    received = events_of("case", case.id)[0].payload
    number = intake_data("t-with-key")["id_number"]
    assert received["duplicate_token"] == duplicate_token(KEY, number, received["item_code"])
    assert number not in json.dumps(received)


def test_a_bad_netkey_part_is_not_applied(township_app):
    cipher = township_app.extensions["station"].keys.field_cipher
    with write_transaction():
        assert _apply_netkey(b"not json", cipher) is None
        assert _apply_netkey(_netkey_part(b"short"), cipher) is None
        assert _apply_netkey(_netkey_part(), None) is None
    assert network_duplicate_key(cipher) is None


def _central_event(seq, event_type, case_id, payload, network):
    from sync_protocol.events import build_event
    from sync_protocol.hlc import HLC

    return build_event(
        network=network, station_id="central", epoch=1, seq=seq, prev="0" * 64, hlc=HLC(1_900_000_000_000, seq),
        wall_ms=1_900_000_000_000, actor="central", idempotency_key=f"c-{seq}", type=event_type, schema_version=1,
        aggregate_kind="case", aggregate_id=case_id, payload=payload,
    )  # fmt: skip


def _duplicate_payload(ours, theirs, outcome="flag_both"):
    return {
        "conflict": 7, "class": "C", "outcome": outcome, "automatic": False, "incoming": "e" * 64,
        "competing": ["f" * 64], "station": "990101101201", "incoming_applied": True,
        "reason": {"zh": "同一申请人同一事项有两件在办", "en": "One person, one item, two open cases"},
        "cases": [theirs, ours],
        "parties": [
            {"case": theirs, "number": "990101101201-20260302-0007", "station": "990101101201",
             "station_name": "示范村便民服务站"},
            {"case": ours, "number": "ours-number", "station": "990101101000", "station_name": "示范镇便民服务中心"},
        ],
    }  # fmt: skip


def test_a_flagged_duplicate_names_the_other_case_and_station_until_central_resolves_it(township_app):
    from station.services.cases import open_duplicate_flags
    from station.services.downstream import _apply_part

    from .conftest import login

    case = _receive(township_app)
    network = events_of("case", case.id)[0].network
    theirs = "01a0c450-6c00-7000-8000-000000000abc"  # the village's case: this township does not hold it
    flagged = _central_event(2, "conflict_flagged", theirs, _duplicate_payload(case.id, theirs), network)
    with write_transaction():
        assert _apply_part("decisions", flagged.body + b"\n", 2)
    [flag] = open_duplicate_flags(case.id)
    assert (flag.conflict, flag.other_case_id, flag.other_number, flag.other_station) == (
        7, theirs, "990101101201-20260302-0007", "示范村便民服务站",
    )  # fmt: skip
    client = township_app.test_client()
    login(client, "township")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "可能重复申请" in page and "同一申请人在示范村便民服务站也申请了该事项" in page
    assert "990101101201-20260302-0007" in page and "中心正在核查" in page
    english = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    assert (
        "Possible duplicate application" in english
        and "applied for this item at 示范村便民服务站 too" in english
    )
    resolved = _central_event(
        3, "conflict_resolved", theirs, _duplicate_payload(case.id, theirs, "distinct"), network
    )
    with write_transaction():
        assert _apply_part("decisions", resolved.body + b"\n", 3)
    assert open_duplicate_flags(case.id) == []
    assert "可能重复申请" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
