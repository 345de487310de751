"""The error tree is what the module docstring draws: every class is drawn, reasons are unique and stable."""

from __future__ import annotations

import inspect

from sync_protocol import errors


def error_classes():
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.ProtocolError) and obj.__module__ == errors.__name__
    ]


def test_every_error_class_is_drawn_in_the_docstring_tree():
    tree = errors.__doc__ or ""
    missing = [cls.__name__ for cls in error_classes() if f" {cls.__name__} " not in tree]
    assert missing == []


def test_reason_codes_are_unique_lower_snake_case():
    reasons = [cls.reason for cls in error_classes()]
    assert len(reasons) == len(set(reasons))
    assert all(r.replace("_", "").isalnum() and r == r.lower() for r in reasons)


def test_every_error_has_a_one_line_docstring_and_to_dict():
    for cls in error_classes():
        assert cls.__doc__ and "\n" not in cls.__doc__.strip(), cls.__name__
        assert cls("x").to_dict() == {"reason": cls.reason, "message": "x"}
