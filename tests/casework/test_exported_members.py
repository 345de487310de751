"""The package root exports exactly the intended small surface, and the package stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

import casework

INTENDED = {
    "CaseEvent", "CaseState", "CaseworkError", "Catalog", "Item", "Light", "Message", "Role", "WorkingCalendar",
    "check_transition", "compute_clock", "default_calendar", "demo_catalog", "fold", "load_catalog",
    "search_items", "validate_payload",
}  # fmt: skip


def test_exported_members_are_what_was_meant():
    assert set(casework.__all__) == INTENDED
    for name in casework.__all__:
        assert getattr(casework, name) is not None


def test_no_floats_in_casework_source_literals():
    # Wire values are integers; a float literal in the domain is almost always a bug.
    for path in Path(casework.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        floats = [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, float)
        ]
        assert floats == [], f"{path.name}: float literals on lines {floats}"
