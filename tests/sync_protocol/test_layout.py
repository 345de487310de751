from __future__ import annotations

import pytest

from sync_protocol.errors import MalformedError
from sync_protocol.layout import (
    ack_file_name,
    batch_file_name,
    blob_file_name,
    bundle_file_name,
    is_transfer_file_name,
    parse_batch_file_name,
    station_folder,
)


def test_names_are_lower_case_ascii_and_recognised():
    names = [
        batch_file_name("st-1", 2, 1, 1000, b"sealed"),
        blob_file_name("ab" * 32),
        bundle_file_name("st-1", 17, b"sealed"),
        ack_file_name("st-1", 5),
    ]
    for name in names:
        assert name == name.lower() and name.isascii()
        assert is_transfer_file_name(name)
    assert names[0].startswith("batch-st-1-e2-000000001-000001000-")
    assert parse_batch_file_name(names[0]).last_seq == 1000


@pytest.mark.parametrize("station", ["张三", "St-1", "a/b", "", "-x"])
def test_station_ids_outside_the_safe_alphabet_are_refused(station):
    with pytest.raises(MalformedError):
        batch_file_name(station, 1, 1, 2, b"x")


def test_other_files_on_a_stick_are_not_transfer_files():
    assert not is_transfer_file_name("photo.jpg")
    assert not is_transfer_file_name("../batch-st-1-e1-000000001-000000002-0123456789abcdef.age")
    with pytest.raises(MalformedError):
        parse_batch_file_name("batch-st-1.age")


def test_usb_folders_per_station_and_direction():
    assert str(station_folder("prod", "st-1", "up")) == "yiciban/prod/up/st-1"
    assert str(station_folder("prod", "st-1", "acks")) == "yiciban/prod/acks/st-1"
    with pytest.raises(ValueError):
        station_folder("prod", "st-1", "sideways")
