"""Wire names of case events round-trip, and every schema casework knows has one."""

from __future__ import annotations

import pytest

from casework.events import SCHEMAS
from casework.wire import casework_type, wire_type


@pytest.mark.parametrize("local", sorted(SCHEMAS))
def test_every_casework_event_type_round_trips_through_its_wire_name(local):
    assert casework_type(wire_type(local)) == local


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("case.received", "received"),
        ("applicant.created", "applicant_created"),
        ("epoch.open", None),
        ("document.issued", None),
        ("case.", None),
    ],
)
def test_log_types_map_to_casework_types_or_none(wire, expected):
    assert casework_type(wire) == expected
