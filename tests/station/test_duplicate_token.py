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
