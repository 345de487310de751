"""Reading the JSON data files casework defines (catalog, calendar) with errors that name the field and line.

The files follow the wire profile of SYNC-DESIGN.md §2 (integers only, no floats), so a decimal number is reported
as a problem at its path rather than silently accepted. Problems are collected, not raised one by one, so a
central admin sees every fault of a file at once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import json.decoder
import json.scanner
from collections.abc import Callable
from typing import Any, TypeVar

from casework.errors import FormatProblem, Message, message

T = TypeVar("T")


class _Decimal(str):
    """A JSON number with a fraction or exponent, kept as text so the validator can name where it was."""


class LineMap:
    """``id(object) → line where it starts``, computed on demand from character offsets."""

    def __init__(self, text: str = "") -> None:
        self.offsets: dict[int, int] = {}
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"] if text else []

    def get(self, key: int) -> int | None:
        offset = self.offsets.get(key)
        return None if offset is None else bisect.bisect_left(self._newlines, offset) + 1


class _PositionDecoder(json.JSONDecoder):
    """A decoder that remembers where every JSON object starts (by object identity)."""

    def __init__(self, text: str) -> None:
        super().__init__(parse_float=_Decimal, parse_constant=_Decimal)
        self.lines = LineMap(text)
        parse_object: Callable[..., tuple[Any, int]] = getattr(self, "parse_object")  # noqa: B009

        def remember(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
            obj, end = parse_object(s_and_end, *args)
            self.lines.offsets[id(obj)] = s_and_end[1]
            return obj, end

        self.parse_object = remember
        # The C scanner never calls back into Python for objects, so positions need the pure-Python scanner.
        self.scan_once = getattr(json.scanner, "py_make_scanner")(self)  # noqa: B009


def parse_json_text(text: str | bytes, *, positions: bool = True) -> tuple[Any, LineMap]:
    """Parse JSON text, returning the document and a map ``id(object) → line where it starts``.

    Without ``positions`` the fast C parser is used and the map is empty (loaders re-parse with positions only
    when there is a problem to report).

    Raises:
        ValueError: carrying a :class:`FormatProblem` as ``args[0]`` for text that is not JSON.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                FormatProblem("$", message("not_utf8", "文件不是 UTF-8 编码", "The file is not UTF-8 text"))
            ) from error
    decoder: json.JSONDecoder = (
        _PositionDecoder(text)
        if positions
        else json.JSONDecoder(parse_float=_Decimal, parse_constant=_Decimal)
    )
    try:
        document = decoder.decode(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            FormatProblem(
                "$",
                message(
                    "not_json",
                    "不是有效的 JSON：{reason}（第 {line} 行第 {col} 列）",
                    "Not valid JSON: {reason} (line {line}, column {col})",
                    reason=error.msg,
                    line=error.lineno,
                    col=error.colno,
                ),
                error.lineno,
            )
        ) from error
    return document, decoder.lines if isinstance(decoder, _PositionDecoder) else LineMap()


class Reader:
    """Typed access to a parsed document that records problems with their path and line instead of raising."""

    def __init__(self, lines: LineMap | None = None) -> None:
        self.problems: list[FormatProblem] = []
        self._lines = lines or LineMap()

    def problem(self, path: str, container: Any, msg: Message) -> None:
        self.problems.append(FormatProblem(path, msg, self._lines.get(id(container))))

    def obj(self, value: Any, path: str, parent: Any = None) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(path, parent, _expected("object", value))
        return None

    def _get(self, container: dict[str, Any], key: str, path: str, required: bool) -> Any:
        if container.get(key) is None:
            if required:
                self.problem(
                    f"{path}.{key}",
                    container,
                    message(
                        "missing_field", "缺少必填字段（或为 null）", "Required field is missing (or null)"
                    ),
                )
            return None
        return container[key]

    def string(
        self,
        container: dict[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        allow_empty: bool = False,
    ) -> str | None:
        value = self._get(container, key, path, required)
        if value is None:
            return None
        if not isinstance(value, str) or isinstance(value, _Decimal):
            self.problem(f"{path}.{key}", container, _expected("text", value))
            return None
        if not allow_empty and not value.strip():
            self.problem(f"{path}.{key}", container, message("empty_text", "不能为空", "Must not be empty"))
            return None
        return value

    def integer(
        self,
        container: dict[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._get(container, key, path, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}.{key}", container, _expected("integer", value))
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.problem(
                f"{path}.{key}",
                container,
                message(
                    "out_of_range",
                    "取值 {value} 超出范围 {low}–{high}",
                    "Value {value} is outside {low}–{high}",
                    value=value,
                    low="" if minimum is None else minimum,
                    high="" if maximum is None else maximum,
                ),
            )
            return None
        return value

    def boolean(self, container: dict[str, Any], key: str, path: str, *, default: bool | None = None) -> bool:
        value = self._get(container, key, path, default is None)
        if value is None:
            return bool(default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", container, _expected("true/false", value))
            return bool(default)
        return value

    def choice(
        self, container: dict[str, Any], key: str, path: str, choices: Any, *, required: bool = True
    ) -> str | None:
        value = self.string(container, key, path, required=required)
        if value is None:
            return None
        allowed = sorted(choices)
        if value not in allowed:
            self.problem(
                f"{path}.{key}",
                container,
                message(
                    "not_a_choice",
                    "“{value}” 不是允许的取值（{allowed}）",
                    "'{value}' is not one of {allowed}",
                    value=value,
                    allowed=", ".join(allowed),
                ),
            )
            return None
        return value

    def date(
        self, container: dict[str, Any], key: str, path: str, *, required: bool = True
    ) -> dt.date | None:
        value = self.string(container, key, path, required=required)
        return None if value is None else self.parse_date(value, f"{path}.{key}", container)

    def parse_date(self, value: Any, path: str, container: Any) -> dt.date | None:
        if isinstance(value, str) and len(value) == 10:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(
            path,
            container,
            message("not_a_date", "日期应为 YYYY-MM-DD 格式", "A date must be written YYYY-MM-DD"),
        )
        return None

    def array(self, container: dict[str, Any], key: str, path: str, *, required: bool = True) -> list[Any]:
        value = self._get(container, key, path, required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{path}.{key}", container, _expected("list", value))
            return []
        return value

    def strings(self, container: dict[str, Any], key: str, path: str, *, required: bool = True) -> list[str]:
        result = []
        for index, value in enumerate(self.array(container, key, path, required=required)):
            if isinstance(value, str) and not isinstance(value, _Decimal) and value.strip():
                result.append(value)
            else:
                self.problem(f"{path}.{key}[{index}]", container, _expected("text", value))
        return result

    def unknown_keys(self, container: dict[str, Any], path: str, known: set[str]) -> None:
        for key in sorted(set(container) - known):
            self.problem(
                f"{path}.{key}",
                container,
                message("unknown_field", "未知字段（拼写错误？）", "Unknown field (a typo?)"),
            )


def _expected(kind: str, value: Any) -> Message:
    if isinstance(value, _Decimal):
        return message(
            "decimal_not_allowed",
            "应为{kind}；文件中不允许小数（金额用整数“分”）",
            "Expected {kind}; decimal numbers are not allowed (money is in integer fen)",
            kind=kind,
        )
    return message(
        "wrong_type",
        "应为{kind}，实际是 {actual}",
        "Expected {kind}, found {actual}",
        kind=kind,
        actual=type(value).__name__,
    )


def load_document(
    source: str | bytes | dict[str, Any],
    on_problems: Callable[[list[FormatProblem]], Exception],
    *,
    positions: bool = True,
) -> tuple[dict[str, Any], Reader]:
    """Parse ``source`` (JSON text, bytes, or an already-parsed dict) into a top-level object and a Reader.

    Raises:
        the exception built by ``on_problems`` when the text is not a JSON object.
    """
    if isinstance(source, dict):
        document: Any = source
        lines = LineMap()
    else:
        try:
            document, lines = parse_json_text(source, positions=positions)
        except ValueError as error:
            raise on_problems([error.args[0]]) from error
    reader = Reader(lines)
    top = reader.obj(document, "$")
    if top is None:
        raise on_problems(reader.problems)
    return top, reader


def load_and_read(
    source: str | bytes | dict[str, Any],
    on_problems: Callable[[list[FormatProblem]], Exception],
    read: Callable[[dict[str, Any], Reader], T],
) -> tuple[T, Reader]:
    """Parse with the fast parser and ``read``; only when there are problems, parse again with line positions so
    every problem names its line. A valid file therefore costs one C-speed parse."""
    top, reader = load_document(source, on_problems, positions=False)
    result = read(top, reader)
    if reader.problems and not isinstance(source, dict):
        top, reader = load_document(source, on_problems, positions=True)
        result = read(top, reader)
    return result, reader
