"""Materials rules at the window: which statuses a material may take, and what the checklist allows.

A clerk marks each material of the item (or of a 一件事 bundle's merged list) as received, received as original
and returned, missing, deferred under 容缺, replaced by a signed 告知承诺, or obtained by data sharing (免提交).
:func:`assess_materials` says which of those marks the catalog allows and what the window may do next: accept,
accept with gaps (容缺受理: only deferrable materials missing), or request corrections with one notice listing
everything missing (一次性告知). :func:`gap_deadlines` gives each deferred material its supply date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from casework.calendar import WorkingCalendar
from casework.catalog import Catalog, Material
from casework.deadlines import gap_supply_deadline
from casework.errors import Message, message


class MaterialStatus(Enum):
    """What happened to one material at the window."""

    RECEIVED = "received"
    ORIGINAL_RETURNED = "original_returned"  # 原件核验后退回
    MISSING = "missing"
    DEFERRED = "deferred"  # 容缺: to be supplied later
    PROMISED = "promised"  # 告知承诺 replaces it
    SHARED = "shared"  # 免提交: obtained by data sharing / 电子证照

    @property
    def zh(self) -> str:
        return _STATUS_ZH[self.value]


_STATUS_ZH = {
    "received": "已收取",
    "original_returned": "原件核验后退回",
    "missing": "缺少",
    "deferred": "容缺后补",
    "promised": "告知承诺",
    "shared": "免提交（共享获取）",
}


class WindowOutcome(Enum):
    """What the window may do with the application as it stands."""

    ACCEPT = "accept"
    ACCEPT_WITH_GAPS = "accept_with_gaps"
    REQUEST_CORRECTION = "request_correction"


@dataclass(frozen=True)
class MaterialsAssessment:
    """The checklist judged against the catalog."""

    outcome: WindowOutcome
    missing: tuple[str, ...]  # material keys that block acceptance: list them all in the 一次性告知
    deferred: tuple[str, ...]
    problems: tuple[Message, ...]  # marks the catalog does not allow; fix them before anything else

    @property
    def ok(self) -> bool:
        return not self.problems


def assess_materials(materials: Sequence[Material], statuses: Mapping[str, str]) -> MaterialsAssessment:
    """Judge a checklist (material key → status value) against an item's (or a bundle's merged) materials.

    A material with no mark counts as missing. Problems: an unknown key or status; 容缺 for a material that is not
    deferrable; 告知承诺 for one that cannot be replaced; 免提交 for one that is not shareable.
    """
    by_key = {m.key: m for m in materials}
    problems: list[Message] = []
    for key, value in statuses.items():
        if key not in by_key:
            problems.append(
                message(
                    "unknown_material",
                    "“{key}”不是本事项的材料",
                    "'{key}' is not a material of this item",
                    key=key,
                )
            )
            continue
        try:
            status = MaterialStatus(value)
        except ValueError:
            problems.append(
                message(
                    "unknown_material_status",
                    "材料状态“{value}”无效",
                    "Unknown material status '{value}'",
                    value=value,
                )
            )
            continue
        material = by_key[key]
        rule = _NOT_ALLOWED.get(status)
        if rule is not None and not getattr(material, rule[0]):
            problems.append(
                message(rule[1], rule[2], rule[3], name=material.name_zh, name_en=material.name_en)
            )
    missing, deferred = [], []
    for material in materials:
        status_value = statuses.get(material.key, MaterialStatus.MISSING.value)
        if status_value == MaterialStatus.DEFERRED.value and material.deferrable:
            deferred.append(material.key)
        elif (
            status_value in (MaterialStatus.MISSING.value, MaterialStatus.DEFERRED.value)
            and material.required
        ):
            missing.append(material.key)
    if missing:
        outcome = WindowOutcome.REQUEST_CORRECTION
    elif deferred:
        outcome = WindowOutcome.ACCEPT_WITH_GAPS
    else:
        outcome = WindowOutcome.ACCEPT
    return MaterialsAssessment(outcome, tuple(missing), tuple(deferred), tuple(problems))


_NOT_ALLOWED = {
    MaterialStatus.DEFERRED: (
        "deferrable",
        "not_deferrable",
        "“{name}”不可容缺，必须当场提交或一次性告知补正",
        "'{name_en}' cannot be deferred (容缺): it is needed now, or goes on the correction notice",
    ),
    MaterialStatus.PROMISED: (
        "promise_replaceable",
        "not_promise_replaceable",
        "“{name}”不适用告知承诺",
        "'{name_en}' cannot be replaced by a signed promise (告知承诺)",
    ),
    MaterialStatus.SHARED: (
        "shareable",
        "not_shareable",
        "“{name}”不能通过数据共享免提交",
        "'{name_en}' cannot be obtained by data sharing; the applicant must bring it",
    ),
}


def gap_deadlines(
    catalog: Catalog,
    materials: Sequence[Material],
    deferred: Sequence[str],
    *,
    calendar: WorkingCalendar,
    accepted_on: dt.date,
    case_deadline: dt.date | None,
) -> dict[str, dt.date]:
    """补齐期限 of each deferred material: its own (or the catalog default of 5) working days, capped at the case
    deadline.

    Raises:
        CalendarMissingError: a date falls in a year with no calendar.
    """
    by_key = {m.key: m for m in materials}
    return {
        key: gap_supply_deadline(calendar, accepted_on, catalog.supply_days(by_key[key]), case_deadline)
        for key in deferred
    }
