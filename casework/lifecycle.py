"""The case state machine (DOMAIN.md §2.2) and the 代办 hops (§6.2), as a data table.

Each row of ``TRANSITIONS`` says which action moves a case from which states to which state, at which levels and
by which roles. ``to_state`` None means the action records something without changing the state (a pause, a
review note, a folder changing hands). :func:`check_transition` answers one question — may this happen? — and
returns the :class:`Intent` (from → to, reason) that the event carries, or raises a bilingual TransitionError.

Paused (特别程序) and 容缺 gaps are attributes of a case, not states: a case may be paused or have open gaps while
it is accepted or forwarded. Open gaps block a grant and 'result ready'; a lapsed gap ends in ``terminated``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from casework.catalog import Level
from casework.errors import Message, TransitionError, message


class CaseState(Enum):
    """State of a case (办件状态)."""

    VILLAGE_RECEIVED = (
        "village_received"  # 代收: received by a village (or a non-accepting township), not yet by the organ
    )
    IN_TRANSIT = "in_transit"  # 在途: the folder is with a 代办员 on its way to the accepting organ
    RECEIVED = "received"  # 收件 by the accepting organ: the §32 five-day clock runs
    CORRECTION_REQUESTED = "correction_requested"  # 补正告知 given, waiting for the applicant
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    ACCEPTED = "accepted"  # 受理: the case clock runs
    ACCEPTED_WITH_GAPS = "accepted_with_gaps"  # 容缺受理
    FORWARDED = "forwarded"  # 上报: examined here, sent to the deciding level
    DECIDED_GRANTED = "decided_granted"  # 办结: 准予
    DECIDED_REFUSED = "decided_refused"  # 办结: 不予
    RESULT_READY = "result_ready"  # result ready, 领取通知 sent: the organ's clock has stopped
    DELIVERED = "delivered"  # 送达 / 领取
    WITHDRAWN = "withdrawn"  # 撤回
    TERMINATED = "terminated"  # 终止 (e.g. a 容缺 promise lapsed)

    @property
    def zh(self) -> str:
        return _STATE_ZH[self]

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


_STATE_ZH = {
    CaseState.VILLAGE_RECEIVED: "已代收",
    CaseState.IN_TRANSIT: "代办在途",
    CaseState.RECEIVED: "已收件",
    CaseState.CORRECTION_REQUESTED: "待补正",
    CaseState.NOT_ACCEPTED: "不予受理",
    CaseState.ACCEPTED: "已受理",
    CaseState.ACCEPTED_WITH_GAPS: "容缺受理",
    CaseState.FORWARDED: "已上报",
    CaseState.DECIDED_GRANTED: "准予",
    CaseState.DECIDED_REFUSED: "不予",
    CaseState.RESULT_READY: "待领取",
    CaseState.DELIVERED: "已送达",
    CaseState.WITHDRAWN: "已撤回",
    CaseState.TERMINATED: "已终止",
}
TERMINAL_STATES = frozenset(
    {CaseState.NOT_ACCEPTED, CaseState.DELIVERED, CaseState.WITHDRAWN, CaseState.TERMINATED}
)
OPEN_STATES = frozenset(set(CaseState) - TERMINAL_STATES)


class Role(Enum):
    """Staff roles that act on cases (auditors only read)."""

    VILLAGE_STAFF = "village_staff"
    TOWNSHIP_CLERK = "township_clerk"
    COUNTY_CLERK = "county_clerk"
    PROXY_AGENT = "proxy_agent"
    CENTRAL_ADMIN = "central_admin"

    @property
    def zh(self) -> str:
        return {
            "village_staff": "村站工作人员",
            "township_clerk": "乡镇窗口人员",
            "county_clerk": "县级窗口人员",
            "proxy_agent": "代办员",
            "central_admin": "中心管理员",
        }[self.value]


@dataclass(frozen=True)
class Transition:
    """One row of the table: ``action`` from any of ``from_states`` to ``to_state`` (None: unchanged)."""

    action: str
    from_states: frozenset[CaseState | None]  # None: the action creates the case
    to_state: CaseState | None
    levels: frozenset[Level]
    roles: frozenset[Role]
    zh: str
    en: str


@dataclass(frozen=True)
class Intent:
    """What a transition event carries so central can merge: from → to, and the action as the reason."""

    action: str
    from_state: CaseState | None
    to_state: CaseState
    reason: Message | None = None  # the action in words, for the timeline and the conflict queue

    def to_payload(self) -> dict[str, str | None]:
        return {
            "action": self.action,
            "from": None if self.from_state is None else self.from_state.value,
            "to": self.to_state.value,
        }


def _row(
    action: str,
    froms: Iterable[CaseState | None],
    to: CaseState | None,
    levels: str,
    roles: str,
    zh: str,
    en: str,
) -> Transition:
    return Transition(
        action,
        frozenset(froms),
        to,
        frozenset(Level(v) for v in levels.split()),
        frozenset(Role(v) for v in roles.split()),
        zh,
        en,
    )


S = CaseState
_CLERKS = "township_clerk county_clerk"
_ORGANS = "township county"
_ANY_STAFF = "village_staff proxy_agent township_clerk county_clerk"
_REVIEWING = (S.ACCEPTED, S.ACCEPTED_WITH_GAPS, S.FORWARDED)
_WITHDRAWABLE = (
    S.VILLAGE_RECEIVED, S.IN_TRANSIT, S.RECEIVED, S.CORRECTION_REQUESTED, S.ACCEPTED, S.ACCEPTED_WITH_GAPS, S.FORWARDED,
)  # fmt: skip

TRANSITIONS: tuple[Transition, ...] = (
    _row("receive_at_village", [None], S.VILLAGE_RECEIVED, "village township", "village_staff proxy_agent township_clerk", "代收件", "receive on behalf of the accepting organ"),
    _row("receive", [None], S.RECEIVED, _ORGANS, _CLERKS, "窗口收件", "receive at the accepting organ's window"),
    _row("dispatch", [S.VILLAGE_RECEIVED], S.IN_TRANSIT, "village township", "village_staff proxy_agent township_clerk", "交代办员报送", "hand the folder to an agent"),
    _row("dispatch", [*_REVIEWING, S.DECIDED_GRANTED, S.DECIDED_REFUSED, S.RESULT_READY], None, "village township county", _ANY_STAFF, "移交卷宗", "hand a folder over"),
    _row("dispatch", [S.IN_TRANSIT], None, "township", "township_clerk proxy_agent", "转送", "pass the folder on towards the accepting organ"),
    _row("receive_custody", [S.IN_TRANSIT], S.RECEIVED, _ORGANS, _CLERKS, "签收报送卷宗", "sign for a forwarded folder"),
    _row("receive_custody", [*_REVIEWING, S.DECIDED_GRANTED, S.DECIDED_REFUSED, S.RESULT_READY], None, "village township county", _ANY_STAFF, "签收卷宗", "sign for a folder"),
    _row("request_correction", [S.RECEIVED, S.CORRECTION_REQUESTED], S.CORRECTION_REQUESTED, _ORGANS, _CLERKS, "一次性告知补正", "request corrections (one-time notice)"),
    _row("refuse_acceptance", [S.RECEIVED, S.CORRECTION_REQUESTED], S.NOT_ACCEPTED, _ORGANS, _CLERKS, "不予受理", "refuse to accept"),
    _row("accept", [S.RECEIVED, S.CORRECTION_REQUESTED], S.ACCEPTED, _ORGANS, _CLERKS, "受理", "accept"),
    _row("accept_with_gaps", [S.RECEIVED, S.CORRECTION_REQUESTED], S.ACCEPTED_WITH_GAPS, _ORGANS, _CLERKS, "容缺受理", "accept with gaps (容缺)"),
    _row("supply_gap", [S.ACCEPTED_WITH_GAPS, S.FORWARDED], S.ACCEPTED_WITH_GAPS, "village township county", _ANY_STAFF, "容缺材料补齐", "record a deferred material as supplied"),
    _row("forward", [S.ACCEPTED, S.ACCEPTED_WITH_GAPS], S.FORWARDED, "township", "township_clerk", "初审后上报", "forward to the deciding level after examination"),
    _row("pause", _REVIEWING, None, _ORGANS, _CLERKS, "特别程序暂停计时", "pause the clock for a special procedure"),
    _row("resume", _REVIEWING, None, _ORGANS, _CLERKS, "恢复计时", "resume the clock"),
    _row("extend", _REVIEWING, None, _ORGANS, _CLERKS, "延期", "extend once"),
    _row("review_note", _REVIEWING, None, _ORGANS, _CLERKS, "审查意见", "add a review note"),
    _row("decide_grant", _REVIEWING, S.DECIDED_GRANTED, _ORGANS, _CLERKS, "准予", "grant"),
    _row("decide_refuse", _REVIEWING, S.DECIDED_REFUSED, _ORGANS, _CLERKS, "不予", "refuse"),
    _row("mark_result_ready", [S.DECIDED_GRANTED, S.DECIDED_REFUSED], S.RESULT_READY, "village township county", _ANY_STAFF, "结果待领取", "result ready for the applicant"),
    _row("deliver", [S.RESULT_READY], S.DELIVERED, "village township county", _ANY_STAFF, "送达", "deliver the result"),
    _row("withdraw", _WITHDRAWABLE, S.WITHDRAWN, "village township county", _ANY_STAFF, "申请人撤回", "withdrawn by the applicant"),
    _row("terminate", [S.ACCEPTED_WITH_GAPS, S.FORWARDED, S.CORRECTION_REQUESTED], S.TERMINATED, f"{_ORGANS} central", f"{_CLERKS} central_admin", "终止办理", "terminate"),
)  # fmt: skip

ACTIONS: frozenset[str] = frozenset(t.action for t in TRANSITIONS)
# Actions whose outcome is a legal act or ends the case: never merged automatically (SYNC-DESIGN.md §9 class A).
LEGAL_ACTIONS: frozenset[str] = frozenset(
    {
        "refuse_acceptance",
        "accept",
        "accept_with_gaps",
        "decide_grant",
        "decide_refuse",
        "withdraw",
        "terminate",
        "deliver",
    }
)
_GAP_BLOCKED = frozenset({"decide_grant", "mark_result_ready"})


def transitions_for(action: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.action == action]


def check_transition(
    state: CaseState | None,
    action: str,
    level: Level,
    role: Role,
    *,
    open_gaps: int = 0,
    granted: bool | None = None,
    already_extended: bool = False,
    acceptance_level: Level | None = None,
    decision_level: Level | None = None,
) -> Intent:
    """May ``role`` at ``level`` do ``action`` on a case in ``state``? Returns the intent (from → to).

    Args:
        state: current state, None for an action that creates a case.
        open_gaps: 容缺 materials still missing before this action; a grant and 'result ready' need 0, and
            supplying the last one moves the case to ``accepted``.
        granted: for ``mark_result_ready``, whether the decision was a grant (a refusal needs no gaps closed).
        already_extended: 延期 is allowed once per case.
        acceptance_level, decision_level: the pinned item's levels. When given, legal acceptance (and the
            organ's own receipt) happens only at the acceptance level, decisions only at the decision level, and
            only a level below the deciding one forwards.

    Raises:
        TransitionError: code ``unknown_action``, ``transition_not_allowed``, ``level_not_allowed``,
            ``role_not_allowed``, ``not_acceptance_level``, ``not_decision_level``, ``gaps_open``, ``no_open_gap``
            or ``already_extended``.
    """
    rows = transitions_for(action)
    if not rows:
        raise TransitionError(
            message("unknown_action", "未知操作 {action}", "Unknown action {action}", action=action)
        )
    row = next((r for r in rows if state in r.from_states), None)
    if row is None:
        raise TransitionError(
            message(
                "transition_not_allowed",
                "办件当前为“{state_zh}”，不能执行“{action_zh}”",
                "A case that is '{state}' cannot be given '{action_en}'",
                state=state.value if state else "new",
                state_zh=state.zh if state else "新建",
                action_zh=rows[0].zh,
                action_en=rows[0].en,
            )
        )
    if level not in row.levels:
        raise TransitionError(
            message(
                "level_not_allowed",
                "“{action_zh}”不能在{level_zh}级执行",
                "'{action_en}' cannot be done at {level} level",
                action_zh=row.zh,
                action_en=row.en,
                level=level.value,
                level_zh=_LEVEL_ZH[level],
            )
        )
    if role not in row.roles:
        raise TransitionError(
            message(
                "role_not_allowed",
                "当前角色无权执行“{action_zh}”",
                "Role {role} may not '{action_en}'",
                action_zh=row.zh,
                action_en=row.en,
                role=role.value,
            )
        )
    _check_item_levels(action, level, acceptance_level, decision_level)
    if open_gaps > 0 and (
        action == "decide_grant" or (action == "mark_result_ready" and granted is not False)
    ):
        raise TransitionError(
            message(
                "gaps_open",
                "还有 {count} 项容缺材料未补齐，不能出具结果",
                "{count} deferred (容缺) materials are still missing: no result can be issued",
                count=open_gaps,
            )
        )
    if action == "supply_gap" and open_gaps < 1:
        raise TransitionError(
            message("no_open_gap", "没有待补齐的容缺材料", "There is no deferred material to supply")
        )
    if action == "extend" and already_extended:
        raise TransitionError(
            message("already_extended", "每件只能延期一次", "A case can be extended only once")
        )
    to_state = row.to_state if row.to_state is not None else state
    if (
        action == "receive_custody"
        and state is CaseState.IN_TRANSIT
        and acceptance_level is not None
        and level is not acceptance_level
    ):
        to_state = CaseState.IN_TRANSIT  # a relay hop (村 → 镇 → 县): the organ has not received it yet
    if action == "supply_gap" and open_gaps == 1 and state is CaseState.ACCEPTED_WITH_GAPS:
        to_state = CaseState.ACCEPTED
    if action == "supply_gap" and state is CaseState.FORWARDED:
        to_state = CaseState.FORWARDED
    assert to_state is not None
    return Intent(action, state, to_state, message(action, row.zh, row.en))


ACCEPTANCE_ACTIONS = frozenset(
    {"receive", "request_correction", "refuse_acceptance", "accept", "accept_with_gaps"}
)
DECISION_ACTIONS = frozenset({"decide_grant", "decide_refuse"})


def _check_item_levels(
    action: str, level: Level, acceptance_level: Level | None, decision_level: Level | None
) -> None:
    if acceptance_level is not None and action in ACCEPTANCE_ACTIONS and level is not acceptance_level:
        raise TransitionError(
            message(
                "not_acceptance_level",
                "本事项由{accept_zh}级受理；{level_zh}级只能代收后报送",
                "This item is accepted at {accept} level; at {level} level it can only be received on behalf "
                "and sent on",
                accept=acceptance_level.value,
                accept_zh=_LEVEL_ZH[acceptance_level],
                level=level.value,
                level_zh=_LEVEL_ZH[level],
            )
        )
    if decision_level is None:
        return
    if action in DECISION_ACTIONS and level is not decision_level:
        forwards = level is Level.TOWNSHIP and decision_level is Level.COUNTY  # a lower organ examines (§43)
        raise TransitionError(
            message(
                "not_decision_level",
                "本事项由{decide_zh}级决定，{level_zh}级不能作出决定"
                + ("；请初审后上报" if forwards else ""),
                "This item is decided at {decide} level, not at {level} level"
                + ("; examine it and forward it (上报)" if forwards else ""),
                decide=decision_level.value,
                decide_zh=_LEVEL_ZH[decision_level],
                level=level.value,
                level_zh=_LEVEL_ZH[level],
            )
        )
    if action == "forward" and level is decision_level:
        raise TransitionError(
            message(
                "not_decision_level",
                "本级即为决定机关，无需上报",
                "This level decides the item itself; there is nothing to forward",
            )
        )


def allowed_actions(
    state: CaseState | None,
    level: Level,
    role: Role,
    *,
    acceptance_level: Level | None = None,
    decision_level: Level | None = None,
) -> list[str]:
    """Actions the table allows here and, when the pinned item's levels are given, that the item allows at this
    level (only the deciding level decides; a lower level forwards). Guards such as open gaps are checked by
    :func:`check_transition`."""
    table = {
        t.action for t in TRANSITIONS if state in t.from_states and level in t.levels and role in t.roles
    }
    return sorted(a for a in table if _item_allows(a, level, acceptance_level, decision_level))


def _item_allows(
    action: str, level: Level, acceptance_level: Level | None, decision_level: Level | None
) -> bool:
    try:
        _check_item_levels(action, level, acceptance_level, decision_level)
    except TransitionError:
        return False
    return True


_LEVEL_ZH = {Level.VILLAGE: "村", Level.TOWNSHIP: "乡镇", Level.COUNTY: "县", Level.CENTRAL: "中心"}
