"""DOMAIN.md §7, transcribed row by row: limits, type and the ✱ / ◎ / ☐ material flags of every demo item."""

from __future__ import annotations

import pytest

from casework.catalog import ItemType, demo_catalog

# code: (legal, promised, materials, ✱ deferrable, ◎ shareable, ☐ promise-replaceable, has 公示)
DOMAIN_TABLE = {
    "GG00101000": (None, 0, 2, 0, 1, 0, False),
    "GF00102000": (None, 10, 4, 1, 2, 0, False),
    "GG00103000": (None, 0, 3, 0, 2, 0, False),
    "GF00104000": (None, 15, 6, 2, 2, 0, False),
    "GF00201000": (30, 25, 6, 2, 1, 1, True),
    "QR00202000": (40, 30, 6, 1, 1, 1, True),
    "GF00203000": (None, 10, 4, 2, 1, 1, False),
    "GF00301000": (None, 15, 4, 1, 2, 0, False),
    "GG00302000": (None, 0, 2, 1, 1, 0, False),
    "GF00401001": (None, 20, 5, 1, 3, 0, True),
    "GF00401002": (None, 20, 4, 1, 2, 0, True),
    "QR00402000": (None, 20, 4, 2, 1, 0, False),
    "XK00501000": (20, 15, 6, 1, 1, 1, True),
    "XK00502000": (20, 5, 5, 1, 2, 1, False),
    "GF00503000": (None, 20, 4, 1, 2, 0, True),
    "GF00504000": (None, 20, 5, 2, 2, 0, True),
    "GG00601000": (None, 0, 3, 0, 3, 0, False),
    "GF00602000": (None, 20, 5, 2, 2, 1, True),
    "YJ00001000": (None, 5, 6, 2, 3, 0, False),
    "YJ00002000": (None, 10, 6, 2, 1, 1, False),
    "QR00701000": (None, 5, 5, 1, 2, 0, False),
    "GG00801000": (None, 0, 3, 1, 1, 0, False),
    "GG00802000": (7, 5, 4, 0, 1, 1, False),
    "GF00901000": (None, 15, 4, 1, 2, 0, False),
    "GG00902000": (None, 0, 2, 0, 1, 0, False),
}
TYPE_BY_PREFIX = {
    "GG": ItemType.PUBLIC_SERVICE,
    "GF": ItemType.PAYMENT,
    "QR": ItemType.CONFIRMATION,
    "XK": ItemType.LICENSING,
    "YJ": ItemType.PUBLIC_SERVICE,
}


@pytest.mark.parametrize("code", sorted(DOMAIN_TABLE))
def test_demo_item_matches_the_domain_row(code):
    legal, promised, count, deferrable, shareable, promise, publicity = DOMAIN_TABLE[code]
    item = demo_catalog().item(code)
    assert (item.legal_limit_days, item.promised_limit_days) == (legal, promised)
    assert item.item_type is TYPE_BY_PREFIX[code[:2]]
    assert len(item.materials) == count
    assert sum(m.deferrable for m in item.materials) == deferrable
    assert sum(m.shareable for m in item.materials) == shareable
    assert sum(m.promise_replaceable for m in item.materials) == promise
    assert (item.publicity_days > 0) is publicity
    assert item.name_en and item.name_zh and item.life_events


def test_the_table_covers_every_active_item():
    assert {i.code for i in demo_catalog().current_items()} == set(DOMAIN_TABLE)
