"""The README documents every declared setting of each node, under that node's heading (datasette's habit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    rest = text[start + len(heading) :]
    end = re.search(r"^#{1,3} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def documented_names(heading: str) -> set[str]:
    body = section(README.read_text(encoding="utf-8"), heading)
    return set(re.findall(r"^\|\s*`([A-Z0-9_]+)`\s*\|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("module", "heading"),
    [("station.settings", "### Station settings"), ("central.settings", "### Central settings")],
)
def test_readme_lists_every_setting(module, heading):
    settings = __import__(module, fromlist=["SETTINGS"]).SETTINGS
    declared = {s.name for s in settings}
    documented = documented_names(heading)
    assert declared - documented == set(), "settings missing from README"
    assert documented - declared == set(), "README lists settings the node does not declare"


def test_readme_shows_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "./run demo" in text and "./run test" in text
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run test" in ci
