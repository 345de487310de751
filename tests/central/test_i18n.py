"""Chinese by default, English on request; the zh catalog is complete and its .mo is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import central

from .conftest import login

CENTRAL = Path(central.__file__).parent
PO = CENTRAL / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def test_pages_are_chinese_by_default(client):
    assert "登录中心节点" in client.get("/login").get_data(as_text=True)


def test_lang_parameter_switches_to_english_and_is_remembered(client):
    assert "Log in to the central node" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in to the central node" in client.get("/login").get_data(as_text=True)
    assert "登录中心节点" in client.get("/login?lang=zh").get_data(as_text=True)


def test_language_survives_login(client):
    client.get("/login?lang=en")
    login(client, "admin")
    assert "Overview" in client.get("/").get_data(as_text=True)


def test_every_msgid_has_a_chinese_translation():
    with PO.open("rb") as f:
        catalog = read_po(f)
    empty = [m.id for m in catalog if m.id and not m.string]
    assert empty == []


def test_every_string_in_code_and_templates_is_in_the_catalog(tmp_path):
    pot = tmp_path / "central.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(CENTRAL / "babel.cfg"),
            "-o",
            str(pot),
            "-k",
            "_",
            "-k",
            "gettext",
            "--no-location",
            str(CENTRAL),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with PO.open("rb") as f:
        translated = {m.id for m in read_po(f) if m.id}
    assert sorted(extracted - translated) == []


def test_compiled_catalog_matches_the_po():
    with PO.open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with MO.open("rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert po == mo
