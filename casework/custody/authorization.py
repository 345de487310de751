"""代办委托书: powers listed one by one (never 全权); items needing the applicant in person (行政许可法 §29)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from casework.catalog import Item
from casework.errors import Message
from casework.events import AUTHORIZATION_POWERS

from .common import AuthorizationError, text

# --- 代办委托书 ------------------------------------------------------------------------------------------------

POWER_LABELS: Mapping[str, tuple[str, str]] = {
    "submit_materials": ("代为提交申请材料", "submit the application materials"),
    "supply_corrections": ("代为补正材料", "supply corrected or missing materials"),
    "receive_notices": ("代为领取告知书、通知书", "collect notices (correction, acceptance)"),
    "sign_for_result": ("代为签收办理结果", "sign for the result"),
    "withdraw": ("代为撤回申请", "withdraw the application"),
}
_BLANKET_ZH = ("全权", "一切", "所有", "全部")
_BLANKET_EN = frozenset({"all", "full", "any", "everything", "general"})


@dataclass(frozen=True)
class ItemScope:
    """How far one entrusted item can be proxied: fully, or only partly (the applicant must appear in person)."""

    item_code: str
    name_zh: str
    fully_proxiable: bool
    warning: Message | None = None


@dataclass(frozen=True)
class AuthorizationCheck:
    """A valid 代办委托书: the powers in print order and each item's scope, with warnings to show and print."""

    powers: tuple[str, ...]
    items: tuple[ItemScope, ...]

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(s.warning for s in self.items if s.warning is not None)

    def power_labels(self, locale: str = "zh") -> tuple[str, ...]:
        return tuple(POWER_LABELS[p][0 if locale.startswith("zh") else 1] for p in self.powers)


def personal_appearance_warning(item: Item) -> Message:
    return text("personal_appearance_required", item=item.name_zh, item_en=item.name_en)


def _power_problem(power: str) -> Message | None:
    if power in POWER_LABELS and power in AUTHORIZATION_POWERS:
        return None
    words = set(re.split(r"[^a-z]+", power.lower()))
    if any(word in power for word in _BLANKET_ZH) or words & _BLANKET_EN:
        return text("authorization_blanket_power", power=power)
    return text("authorization_unknown_power", power=power)


def check_authorization(
    items: Sequence[Item],
    powers: Sequence[str],
    *,
    signed_on: dt.date,
    valid_until: dt.date | None = None,
    full_proxy: bool = False,
) -> AuthorizationCheck:
    """Check a 代办委托书 before it is recorded and printed.

    Args:
        items: the entrusted items (委托事项).
        powers: codes of :data:`POWER_LABELS`, listed one by one; a blanket power (全权) is refused.
        full_proxy: the applicant asks for 全程代办 (never appearing); refused for an item that
            ``requires_personal_appearance``. Without it such items are accepted with a warning.

    Raises:
        AuthorizationError: codes ``authorization_no_items``, ``authorization_no_powers``,
            ``authorization_blanket_power``, ``authorization_unknown_power``, ``authorization_power_twice``,
            ``authorization_dates`` or ``personal_appearance_required``.
    """
    if not items:
        raise AuthorizationError(text("authorization_no_items"))
    if not powers:
        raise AuthorizationError(text("authorization_no_powers"))
    for power in powers:
        problem = _power_problem(power)
        if problem is not None:
            raise AuthorizationError(problem)
    if len(set(powers)) != len(powers):
        raise AuthorizationError(text("authorization_power_twice"))
    if valid_until is not None and valid_until < signed_on:
        raise AuthorizationError(text("authorization_dates"))
    scopes: list[ItemScope] = []
    for item in items:
        if not item.requires_personal_appearance:
            scopes.append(ItemScope(item.code, item.name_zh, True))
        elif full_proxy:
            raise AuthorizationError(personal_appearance_warning(item))
        else:
            scopes.append(ItemScope(item.code, item.name_zh, False, personal_appearance_warning(item)))
    order = list(POWER_LABELS)
    return AuthorizationCheck(tuple(sorted(powers, key=order.index)), tuple(scopes))


def authorization_payload(
    check: AuthorizationCheck,
    *,
    agent_id: str,
    signed_on: dt.date,
    valid_until: dt.date | None = None,
    document_ref: str | None = None,
) -> dict[str, Any]:
    """The ``authorization_recorded`` event payload for a checked 代办委托书."""
    return {
        "agent_id": agent_id,
        "powers": list(check.powers),
        "signed_on": signed_on.isoformat(),
        "valid_until": None if valid_until is None else valid_until.isoformat(),
        "document_ref": document_ref,
    }
