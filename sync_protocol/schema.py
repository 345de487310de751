"""Small strict validators shared by every parser: exact key sets, typed fields, bounded strings and integers.

Every parser in this package turns a parsed canonical JSON object into a frozen dataclass through these helpers,
so any schema violation surfaces as ``MalformedError`` and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .canonical import MAX_SAFE_INTEGER
from .errors import MalformedError

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX128 = re.compile(r"[0-9a-f]{128}")
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
"""Network and station ids: lower-case ASCII, digits and hyphens, so they are safe in file names."""
TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
ZERO_ID = "0" * 64


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedError(f"{what} must be a JSON object")
    return value


def exact_keys(obj: Mapping[str, Any], required: set[str] | frozenset[str], what: str) -> None:
    keys = set(obj)
    if keys != required:
        missing = sorted(required - keys)
        extra = sorted(keys - required)
        raise MalformedError(f"{what}: missing fields {missing}, unknown fields {extra}")


def integer(obj: Mapping[str, Any], key: str, *, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedError(f"{key} must be an integer")
    if not minimum <= value <= maximum:
        raise MalformedError(f"{key} must be in [{minimum}, {maximum}]")
    return value


def boolean(obj: Mapping[str, Any], key: str) -> bool:
    value = obj[key]
    if not isinstance(value, bool):
        raise MalformedError(f"{key} must be true or false")
    return value


def string(
    obj: Mapping[str, Any],
    key: str,
    *,
    max_length: int = 256,
    pattern: re.Pattern[str] | None = None,
    allow_empty: bool = False,
) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise MalformedError(f"{key} must be a string")
    if not value and not allow_empty:
        raise MalformedError(f"{key} must not be empty")
    if len(value) > max_length:
        raise MalformedError(f"{key} longer than {max_length}")
    if pattern is not None and value and not pattern.fullmatch(value):
        raise MalformedError(f"{key} has an invalid format")
    return value


def hex_id(obj: Mapping[str, Any], key: str) -> str:
    return string(obj, key, max_length=64, pattern=HEX64)


def name(obj: Mapping[str, Any], key: str) -> str:
    return string(obj, key, max_length=64, pattern=NAME)


def hex_bytes(obj: Mapping[str, Any], key: str, length: int) -> bytes:
    """A lower-case hex string of exactly ``length`` bytes, decoded."""
    value = string(obj, key, max_length=2 * length, pattern=re.compile(f"[0-9a-f]{{{2 * length}}}"))
    return bytes.fromhex(value)


def array(obj: Mapping[str, Any], key: str, *, max_items: int) -> list[Any]:
    value = obj[key]
    if not isinstance(value, list):
        raise MalformedError(f"{key} must be an array")
    if len(value) > max_items:
        raise MalformedError(f"{key} has more than {max_items} items")
    return value


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise MalformedError(f"{what} must match {NAME.pattern}")
    return value


def seq_range(value: Any, what: str) -> tuple[int, int]:
    """``[first, last]`` with 1 <= first <= last."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1] <= MAX_SAFE_INTEGER
    ):
        raise MalformedError(f"{what} must be [first, last] with 1 <= first <= last")
    return (value[0], value[1])
