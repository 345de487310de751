"""Merge policy for concurrent case events (SYNC-DESIGN.md §9), as data plus small classifiers.

sync_protocol decides *whether* two events are concurrent; this module says what that means for a case: the
conflict class A–G, whether central may resolve it automatically, and how. Every ``classify_*`` returns a
:class:`Resolution`; central turns an automatic one into a signed resolution event and queues the rest for a
human with both sides shown.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from casework.catalog import Level
from casework.errors import Message, message
from casework.identifiers import normalize_code, upgrade_citizen_id_15
from casework.lifecycle import LEGAL_ACTIONS, CaseState, transitions_for


class ConflictClass(Enum):
    """The seven conflict classes of SYNC-DESIGN.md §9."""

    A = "concurrent_transitions"
    B = "concurrent_field_edits"
    C = "duplicate_applications"
    D = "custody"
    E = "stale_reference_data"
    F = "late_event_on_closed_case"
    G = "integrity"

    @property
    def zh(self) -> str:
        return _CLASS_ZH[self]


_CLASS_ZH = {
    ConflictClass.A: "并发状态变更",
    ConflictClass.B: "并发字段修改",
    ConflictClass.C: "重复申请",
    ConflictClass.D: "卷宗交接异常",
    ConflictClass.E: "目录版本过期",
    ConflictClass.F: "已办结/已合并办件的迟到事件",
    ConflictClass.G: "完整性问题",
}


@dataclass(frozen=True)
class Resolution:
    """What to do with a conflict: ``outcome`` is a stable code; ``winner`` names the side kept, if any."""

    conflict_class: ConflictClass
    automatic: bool
    outcome: str
    reason: Message
    winner: str | None = None  # "applied" (already in central's view) or "incoming"
    value: Any = None  # the merged value of a field, when there is one


# Authority ranks: central > the level that decides the item > township > village.
AUTHORITY_CENTRAL, AUTHORITY_DECIDING, AUTHORITY_TOWNSHIP, AUTHORITY_VILLAGE = 4, 3, 2, 1


def authority_rank(level: Level, deciding_level: Level) -> int:
    """How much a level's action weighs on a case whose item is decided at ``deciding_level``."""
    if level is Level.CENTRAL:
        return AUTHORITY_CENTRAL
    if level is deciding_level:
        return AUTHORITY_DECIDING
    return AUTHORITY_TOWNSHIP if level is Level.TOWNSHIP else AUTHORITY_VILLAGE


# Actions that only record something on an open case; any two of them commute (order does not matter).
RECORDING_ACTIONS: frozenset[str] = frozenset({"review_note", "supply_gap", "dispatch", "receive_custody"})
# Further pairs that commute although one side changes the clock.
COMMUTING_PAIRS: frozenset[frozenset[str]] = frozenset(
    {frozenset({a, b}) for a in RECORDING_ACTIONS for b in RECORDING_ACTIONS}
    | {frozenset({a, b}) for a in RECORDING_ACTIONS for b in ("pause", "resume", "extend")}
)

HIGH_STAKES_FIELDS: frozenset[str] = frozenset(
    {"name", "id_number", "id_lookup", "id_type", "birth_date", "gender", "credit_code", "legal_representative",
     "bank_account", "bank_name", "amount_fen", "subsidy_amount_fen", "household_size", "item_code",
     "item_version", "decision", "document_no"}
)  # fmt: skip
LOW_STAKES_FIELDS: frozenset[str] = frozenset(
    {"phone", "address", "village", "division_code", "contact_name", "preferred_delivery", "remarks", "email"}
)
SET_LIKE_FIELDS: frozenset[str] = frozenset({"notes", "attachments", "tags"})


def commute(action_a: str, action_b: str) -> bool:
    """True when applying the two actions in either order gives the same case."""
    return frozenset({action_a, action_b}) in COMMUTING_PAIRS


def _valid_from(state: CaseState | None, action: str, level: Level) -> bool:
    return any(state in row.from_states and level in row.levels for row in transitions_for(action))


def classify_transitions(
    applied_action: str,
    applied_level: Level,
    incoming_action: str,
    incoming_level: Level,
    current_state: CaseState | None,
    *,
    deciding_level: Level,
) -> Resolution:
    """Class A: ``incoming`` is concurrent with ``applied`` (already in central's view, now ``current_state``)."""
    a = ConflictClass.A
    if commute(applied_action, incoming_action):
        return Resolution(
            a,
            True,
            "apply_both",
            _r("commute", "两项操作互不影响，均生效", "The two actions commute"),
            "incoming",
        )
    if applied_action in LEGAL_ACTIONS or incoming_action in LEGAL_ACTIONS:
        return Resolution(
            a,
            False,
            "human_review",
            _r(
                "legal_act",
                "涉及法律行为或终结状态，需人工裁定",
                "A legal or terminal act is involved: a person decides",
            ),
        )
    if applied_action == incoming_action:
        return Resolution(
            a,
            False,
            "human_review",
            _r(
                "same_act_twice",
                "同一操作在两处各做了一次（如两次延期），需人工裁定",
                "The same act was done twice (e.g. two extensions)",
            ),
        )
    if _valid_from(current_state, incoming_action, incoming_level):
        return Resolution(
            a,
            True,
            "apply_incoming",
            _r("still_valid", "在当前状态下仍然有效，予以应用", "Still valid from the current state"),
            "incoming",
        )
    applied_rank = authority_rank(applied_level, deciding_level)
    incoming_rank = authority_rank(incoming_level, deciding_level)
    if applied_rank > incoming_rank:
        return Resolution(
            a,
            True,
            "keep_applied",
            _r(
                "outranked",
                "上级机关的操作优先，本操作记录但不生效",
                "The higher authority's action stands; this one is kept, not applied",
            ),
            "applied",
        )
    return Resolution(
        a,
        False,
        "human_review",
        _r("invalid_now", "在当前状态下无效，需人工裁定", "Invalid from the current state: a person decides"),
    )


def classify_field_edit(
    field: str,
    base: Any,
    applied: Any,
    incoming: Any,
    *,
    applied_clock: tuple[int, str],
    incoming_clock: tuple[int, str],
) -> Resolution:
    """Class B, three-way per field. Clocks are (HLC, station id): the tie-break for low-stakes fields only.

    Unknown fields are treated as high-stakes: a person decides rather than a clock.
    """
    b = ConflictClass.B
    if applied == incoming:
        return Resolution(
            b,
            True,
            "same_value",
            _r("same", "两处修改结果相同", "Both sides made the same change"),
            "applied",
            applied,
        )
    if applied == base:
        return Resolution(
            b,
            True,
            "apply_incoming",
            _r("fast_forward", "只有一方修改", "Only one side changed it"),
            "incoming",
            incoming,
        )
    if incoming == base:
        return Resolution(
            b,
            True,
            "keep_applied",
            _r("fast_forward", "只有一方修改", "Only one side changed it"),
            "applied",
            applied,
        )
    if field in SET_LIKE_FIELDS:
        merged = list(dict.fromkeys([*(base or []), *(applied or []), *(incoming or [])]))
        removed = set(base or []) - set(applied or []) | (set(base or []) - set(incoming or []))
        merged = [entry for entry in merged if entry not in removed]
        return Resolution(
            b, True, "union", _r("union", "集合字段取并集", "Set-like field: union of both"), None, merged
        )
    if field in LOW_STAKES_FIELDS:
        incoming_wins = incoming_clock > applied_clock
        return Resolution(
            b,
            True,
            "last_writer_wins",
            _r(
                "lww",
                "低风险字段按最后修改者为准，另一值保留备查",
                "Low-stakes field: last writer wins; the other value is kept and flagged",
            ),
            "incoming" if incoming_wins else "applied",
            incoming if incoming_wins else applied,
        )
    return Resolution(
        b,
        False,
        "human_review",
        _r(
            "high_stakes",
            "关键字段（{field}）两处修改不一致，需人工核对",
            "Both sides changed a high-stakes field ({field}) differently",
            field=field,
        ),
    )


def duplicate_key(id_number: str, item_code: str, *, period: str = "open") -> str:
    """The key that makes two applications duplicates: normalised ID + item code + open period.

    ``period`` is "open" for ordinary items (two open cases of one person for one item are duplicates) and the
    batch period (e.g. "2026") for annual items such as 耕地地力保护补贴.
    """
    number = normalize_code(id_number)
    if len(number) == 15 and number.isdigit():
        number = upgrade_citizen_id_15(number)  # the same person under a legacy 15-digit number
    return f"{number}|{item_code.strip().upper()}|{period}"


DUPLICATE_TOKEN_TAG = b"yiciban/v1/duplicate\0"


def duplicate_token(network_key: bytes, id_number: str, item_code: str, *, period: str = "open") -> str:
    """The network-wide duplicate key a station puts in ``case.received`` (class C): HMAC-SHA256 under the
    network duplicate key central gives enrolled stations, over ``duplicate_key``. Equal for one person and one
    item at any station; central matches tokens without ever seeing the ID number, and without the key the token
    cannot be tested against guessed numbers."""
    if len(network_key) < 32:
        raise ValueError("the network duplicate key is 32 bytes")
    text = duplicate_key(id_number, item_code, period=period).encode("utf-8")
    return hmac.new(network_key, DUPLICATE_TOKEN_TAG + text, hashlib.sha256).hexdigest()


def classify_duplicate(
    key_a: str, key_b: str, *, idempotency_a: str | None, idempotency_b: str | None, both_open: bool
) -> Resolution | None:
    """Class C: None when the two cases are not duplicates at all."""
    c = ConflictClass.C
    if idempotency_a is not None and idempotency_a == idempotency_b:
        return Resolution(
            c,
            True,
            "dedup",
            _r("same_operation", "同一次提交，去重", "The same submission twice: deduplicated"),
            "applied",
        )
    if key_a == key_b and both_open:
        return Resolution(
            c,
            False,
            "flag_both",
            _r(
                "possible_duplicate",
                "同一人同一事项存在两件在办件，请核实合并或标记为不同",
                "One person, one item, two open cases: merge or mark distinct",
            ),
        )
    return None


def classify_custody(
    dispatches: int, receipts: int, transit_working_days: int | None, *, limit_days: int = 3
) -> Resolution:
    """Class D for one folder on one hop: only a matched dispatch/receive pair within the limit closes itself."""
    d = ConflictClass.D
    if (
        dispatches == 1
        and receipts == 1
        and (transit_working_days is None or transit_working_days <= limit_days)
    ):
        return Resolution(
            d, True, "close_pair", _r("matched", "交接双方一致，自动关闭", "Dispatch and receipt match")
        )
    if receipts > 1:
        reason = _r("double_receipt", "同一卷宗被签收两次", "The folder was signed for twice")
    elif receipts == 1 and dispatches == 0:
        reason = _r("receipt_without_dispatch", "有签收无移交记录", "Received without a dispatch")
    elif transit_working_days is not None and transit_working_days > limit_days:
        reason = _r(
            "in_transit_too_long",
            "在途超过 {limit} 个工作日",
            "In transit for more than {limit} working days",
            limit=limit_days,
        )
    else:
        reason = _r("custody_mismatch", "交接记录不一致", "Custody records do not match")
    return Resolution(d, False, "human_review", reason)


def classify_stale_catalog(
    event_catalog_version: int,
    central_catalog_version: int,
    *,
    item_withdrawn: bool,
    eligibility_changed: bool,
) -> Resolution:
    """Class E: evaluate under the catalog version the event declares, unless the change matters."""
    e = ConflictClass.E
    if item_withdrawn or eligibility_changed:
        return Resolution(
            e,
            False,
            "human_review",
            _r(
                "rule_changed",
                "事项已撤销或条件已变化，需人工核对",
                "The item was withdrawn or its rules changed",
            ),
        )
    return Resolution(
        e,
        True,
        "evaluate_under_declared_version",
        _r(
            "declared_version",
            "按事件声明的目录版本 v{old} 处理（当前 v{new}）",
            "Evaluated under the declared catalog v{old} (current v{new})",
            old=event_catalog_version,
            new=central_catalog_version,
        ),
    )


def classify_late_event(*, merged_into: str | None, closed: bool, changes_outcome: bool) -> Resolution:
    """Class F: an event for a case central has merged or closed."""
    f = ConflictClass.F
    if merged_into is not None:
        return Resolution(
            f,
            True,
            "redirect",
            _r("merged", "办件已合并，转到 {case}", "Case merged: redirected to {case}", case=merged_into),
            value=merged_into,
        )
    if closed and not changes_outcome:
        return Resolution(
            f,
            True,
            "annotate",
            _r("closed", "办件已办结，仅作备注，不重开", "Case closed: annotated, never reopened"),
        )
    return Resolution(
        f,
        False,
        "human_review",
        _r(
            "would_change_outcome",
            "该事件会改变已办结结果，需人工裁定",
            "The event would change a closed outcome",
        ),
    )


_INTEGRITY_WORDS = {
    "fork": ("同一位置出现了不同的事件（站点数据可能被旧备份覆盖）", "a different event at a position already held (a store put back from an old copy?)"),
    "revoked_key": ("由已吊销的密钥签名", "signed by a revoked key"),
    "epoch_review": ("站点开启了新纪元（从备份恢复），待授权", "the station opened a new epoch (restored from a backup) and waits for authorization"),
    "unknown_key": ("签名密钥未登记", "signed by a key that is not enrolled"),
}  # fmt: skip


def classify_integrity(reason_code: str) -> Resolution:
    """Class G (fork, revoked/stale/unknown key): never automatic."""
    what_zh, what_en = _INTEGRITY_WORDS.get(reason_code, (reason_code, reason_code))
    return Resolution(
        ConflictClass.G,
        False,
        "quarantine",
        _r(
            "integrity",
            "完整性问题：{what_zh}，已隔离待审",
            "Integrity problem: {what_en}; quarantined for review",
            reason=reason_code,
            what_zh=what_zh,
            what_en=what_en,
        ),
    )


def _r(code: str, zh: str, en: str, **params: Any) -> Message:
    return message(code, zh, en, **params)


def automatic_classes() -> Sequence[ConflictClass]:
    """Classes that can ever resolve without a person (all but G)."""
    return [c for c in ConflictClass if c is not ConflictClass.G]
