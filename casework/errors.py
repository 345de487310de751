"""Every failure and warning of the shared domain, each with a stable ``code`` and text in Chinese and English.

casework cannot use flask-babel, so every message a clerk may see carries both languages as data
(:class:`Message`). Nodes show ``message.text(locale)``; the ``code`` is stable and may be stored or sent.

Tree::

    CaseworkError                      code: lower_snake_case, stable
    ├── IdentifierError                an ID number, credit code, division code or phone number is invalid
    ├── CalendarError                  working-day calendar data
    │   ├── CalendarMissingError       a date falls in a year with no imported calendar
    │   └── CalendarFormatError        an imported calendar file is malformed (names the field and line)
    ├── CatalogError                   service-item catalog
    │   ├── CatalogFormatError         a catalog file is malformed (names the field and line)
    │   └── UnknownItemError           no item with that code (and version)
    ├── TransitionError                a case action not allowed from this state, level or role
    ├── EventPayloadError              a case event payload violates its schema
    ├── DeadlineError                  clock inputs that cannot describe a real case
    └── RatingError                    a 好差评 rating or follow-up step is not allowed
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Message:
    """A bilingual, parameterised text a clerk may see; ``code`` is stable, the texts are for humans."""

    code: str
    zh: str
    en: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def text(self, locale: str = "zh") -> str:
        """The message in ``locale`` ('zh…' → Chinese, anything else → English), parameters filled in."""
        template = self.zh if locale.lower().startswith("zh") else self.en
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def to_dict(self) -> dict[str, Any]:
        """Plain form (no floats) for storage and the wire."""
        return {"code": self.code, "zh": self.text("zh"), "en": self.text("en"), "params": dict(self.params)}


def message(code: str, zh: str, en: str, /, **params: Any) -> Message:
    """Build a :class:`Message` with keyword parameters."""
    return Message(code, zh, en, MappingProxyType(dict(params)))


@dataclass(frozen=True)
class FormatProblem:
    """One fault in a data file: where (path and, when parsing text, line) and what."""

    path: str
    message: Message
    line: int | None = None

    def describe(self, locale: str = "zh") -> str:
        where = self.path or "$"
        if self.line is not None:
            where = (
                f"{where} (line {self.line})"
                if not locale.startswith("zh")
                else f"{where}（第 {self.line} 行）"
            )
        return f"{where}: {self.message.text(locale)}"


class CaseworkError(Exception):
    """Base of every error raised by casework."""

    code = "casework_error"

    def __init__(self, msg: Message | None = None) -> None:
        self.message = msg or Message(
            self.code, self.__class__.__doc__ or self.code, self.__doc__ or self.code
        )
        if msg is not None and msg.code:
            self.code = msg.code
        super().__init__(self.message.text("en"))

    def text(self, locale: str = "zh") -> str:
        """The error in the clerk's language."""
        return self.message.text(locale)

    def to_dict(self) -> dict[str, Any]:
        return self.message.to_dict()


class IdentifierError(CaseworkError):
    """An ID number, credit code, division code or phone number is invalid."""

    code = "invalid_identifier"


class CalendarError(CaseworkError):
    """Working-day calendar data is unusable."""

    code = "calendar_error"


class CalendarMissingError(CalendarError):
    """A date falls in a year for which no working-day calendar has been imported."""

    code = "calendar_missing"

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            message(
                "calendar_missing",
                "{year} 年工作日历尚未导入，无法计算期限；请导入国务院放假安排后再试",
                "The {year} working-day calendar has not been imported; the deadline cannot be computed "
                "until the State Council holiday plan for {year} is imported",
                year=year,
            )
        )


class _FileFormatError:
    """Mixin for errors that carry a list of :class:`FormatProblem`."""

    problems: tuple[FormatProblem, ...]

    def describe(self, locale: str = "zh") -> str:
        return "\n".join(p.describe(locale) for p in self.problems)


class CalendarFormatError(_FileFormatError, CalendarError):
    """An imported calendar file is malformed."""

    code = "calendar_format"

    def __init__(self, problems: Sequence[FormatProblem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(
            message(
                "calendar_format",
                "工作日历文件有误：{detail}",
                "The calendar file is invalid: {detail}",
                detail=first.describe("en") if first else "",
            )
        )


class CatalogError(CaseworkError):
    """The service-item catalog is unusable."""

    code = "catalog_error"


class CatalogFormatError(_FileFormatError, CatalogError):
    """A catalog file is malformed."""

    code = "catalog_format"

    def __init__(self, problems: Sequence[FormatProblem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else None
        super().__init__(
            message(
                "catalog_format",
                "事项目录文件有误（共 {count} 处）：{detail}",
                "The catalog file is invalid ({count} problems): {detail}",
                count=len(self.problems),
                detail=first.describe("en") if first else "",
            )
        )


class UnknownItemError(CatalogError):
    """No item with that code (and version) is in the catalog."""

    code = "unknown_item"

    def __init__(self, item_code: str, version: int | None = None) -> None:
        self.item_code = item_code
        self.version = version
        suffix = "" if version is None else f" v{version}"
        super().__init__(
            message(
                "unknown_item",
                "事项目录中没有事项 {code}{suffix}",
                "No item {code}{suffix} in the catalog",
                code=item_code,
                suffix=suffix,
            )
        )


class TransitionError(CaseworkError):
    """A case action is not allowed from this state, at this level or for this role."""

    code = "transition_not_allowed"


class EventPayloadError(CaseworkError):
    """A case event payload violates its schema."""

    code = "event_payload_invalid"

    def __init__(self, event_type: str, path: str, msg: Message) -> None:
        self.event_type = event_type
        self.path = path
        self.detail = msg
        super().__init__(
            message(
                msg.code,
                "事件 {event_type} 的字段 {path}：" + msg.zh,
                "Event {event_type}, field {path}: " + msg.en,
                event_type=event_type,
                path=path,
                **dict(msg.params),
            )
        )


class DeadlineError(CaseworkError):
    """Clock inputs that cannot describe a real case (e.g. a pause that ends before it starts)."""

    code = "deadline_inputs_invalid"


class RatingError(CaseworkError):
    """A 好差评 rating or follow-up step is not allowed."""

    code = "rating_not_allowed"
