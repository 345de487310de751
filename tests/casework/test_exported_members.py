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


MESSAGE_BUILDERS = {"message", "_id_error", "_r", "_fail", "identifier_error"}


def _message_calls():
    for path in sorted(Path(casework.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in MESSAGE_BUILDERS:
                continue
            # _fail(event_type, path, code, zh, en); the others take (code, zh, en, ...)
            args = node.args[2:] if node.func.id == "_fail" else node.args
            texts = [a.value for a in args[:3] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if len(texts) == 3:
                yield path.name, node.lineno, *texts


def _has_cjk(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_clerk_facing_message_has_chinese_and_english():
    calls = list(_message_calls())
    assert len(calls) > 60
    for name, line, code, zh, en in calls:
        assert code.replace("_", "").isalnum() and code.islower(), (name, line, code)
        assert _has_cjk(zh), (name, line, zh)
        assert any(ch.isascii() and ch.isalpha() for ch in en), (name, line, en)
        assert zh != en, (name, line)


def test_every_enum_a_clerk_sees_has_a_chinese_label():
    from casework.catalog import HandlingKind, ItemType, Level
    from casework.deadlines import Light
    from casework.lifecycle import CaseState, Role
    from casework.materials import MaterialStatus
    from casework.ratings import RatingChannel, RatingLevel, RatingStage

    for enum in (
        HandlingKind,
        ItemType,
        Level,
        Light,
        CaseState,
        Role,
        MaterialStatus,
        RatingChannel,
        RatingLevel,
        RatingStage,
    ):
        for member in enum:
            assert _has_cjk(member.zh), member
