"""The Chinese catalog is complete, compiled, and covers every string the code and templates use."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import station

STATION = Path(station.__file__).parent
PO = STATION / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def _po():
    with PO.open("rb") as handle:
        return read_po(handle, locale="zh")


def test_every_msgid_has_a_chinese_translation():
    missing = [
        m.id
        for m in _po()
        if m.id and not all(_plain((m.string,) if isinstance(m.string, str) else m.string))
    ]
    assert missing == []


def _plain(value):
    """Plural entries: babel gives a tuple from the .po and a list from the .mo."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_mo_matches_the_po():
    with MO.open("rb") as handle:
        compiled = {_plain(m.id): _plain(m.string) for m in read_mo(handle) if m.id}
    source = {_plain(m.id): _plain(m.string) for m in _po() if m.id}
    assert compiled == source


def test_every_string_in_code_and_templates_is_in_the_catalog():
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "N_": None, "lazy_gettext": None}
    extracted = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(STATION), method_map=method_map, keywords=keywords
    ):
        extracted.add(message if isinstance(message, str) else message[0])
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _po() if m.id}
    assert sorted(extracted - known) == []
