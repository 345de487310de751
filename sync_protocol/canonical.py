"""The one place that makes canonical bytes: a restricted RFC 8785 (JCS) profile.

Profile: JSON objects with ASCII keys, arrays, strings (any Unicode, emitted as UTF-8), integers with
|n| <= 2**53 - 1, true, false, null. No floats. For this profile ``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` is byte-identical to RFC 8785.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import MalformedError, NonCanonicalError

MAX_SAFE_INTEGER = 2**53 - 1


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MalformedError(f"integer out of range at {path}")
        return
    if isinstance(value, float):
        raise MalformedError(f"floats are not allowed at {path}")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise MalformedError(f"object keys must be ASCII strings at {path}")
            _check(item, f"{path}.{key}")
        return
    raise MalformedError(f"unsupported type {type(value).__name__} at {path}")


def canonical_bytes(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes.

    Raises:
        MalformedError: the value is outside the profile (floats, huge integers, non-ASCII keys, other types).
    """
    _check(value, "$")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:  # pragma: no cover - _check guards these
        raise MalformedError(str(e)) from e
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates
        raise MalformedError("string is not valid Unicode") from e


def _reject_float(text: str) -> Any:
    raise MalformedError("floats are not allowed")


def _reject_constant(text: str) -> Any:
    raise MalformedError(f"{text} is not allowed")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedError(f"duplicate key {key!r}")
        out[key] = value
    return out


class _NotFast(Exception):
    """The fast path cannot vouch for this input; the detailed check decides (and words the error)."""


def _fast_int(digits: str) -> int:
    value = int(digits)
    if len(digits) > 15 and abs(value) > MAX_SAFE_INTEGER:
        raise _NotFast
    return value


def _ascii_keys(obj: dict[str, Any]) -> dict[str, Any]:
    if not "".join(obj).isascii():
        raise _NotFast
    return obj


_canonical_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def _parse_fast(raw: bytes) -> tuple[bool, Any]:
    """Accept ``raw`` only when it is certainly canonical, with the C scanner and encoder doing the work.

    Floats and constants are refused by their hooks, integers out of range by the int hook, non-ASCII keys by
    the object hook (only needed when ``raw`` has non-ASCII bytes at all), and the canonical re-encoding must
    equal the input byte for byte — which also rules out duplicate keys: the encoder never writes a key twice,
    so input that repeats one cannot equal its re-encoding. Anything else returns (False, None)."""
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            parse_int=_fast_int,
            object_hook=None if raw.isascii() else _ascii_keys,
        )
        same = _canonical_encoder(value).encode("utf-8") == raw
    except Exception:  # noqa: BLE001 - any doubt goes to the detailed check, which raises the precise error
        return False, None
    return same, value


def parse_canonical(data: bytes) -> Any:
    """Parse bytes that must be canonical; the re-encoding must equal the input exactly.

    Canonical input takes a fast path (``_parse_fast``); the detailed check below runs only when that path cannot
    vouch for the input, so every refusal keeps its precise reason. tests/sync_protocol/test_canonical_fast.py
    proves both accept exactly the same inputs.

    Raises:
        MalformedError: not UTF-8 JSON within the profile.
        NonCanonicalError: valid JSON but not in its one canonical form.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError("expected bytes")
    raw = bytes(data)
    accepted, value = _parse_fast(raw)
    if accepted:
        return value
    return _parse_checked(raw)


def _parse_checked(raw: bytes) -> Any:
    """The detailed check: the same acceptance as the fast path, with the reason of each refusal."""
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except MalformedError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise MalformedError(f"not canonical JSON: {e}") from e
    if canonical_bytes(value) != raw:
        raise NonCanonicalError("body differs from its canonical encoding")
    return value
