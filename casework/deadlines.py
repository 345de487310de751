"""The case clock (限时办结) and its lights (超时亮红灯), DOMAIN.md §2.4–§2.5.

The clock starts at 受理 (or, under 行政许可法 §32, at the organ's receipt when no 补正 notice was given within 5
working days: "逾期未告知", deemed accepted on the receipt date). Special procedures that do not count toward the
limit pause it; one approved extension adds the item's extension days; 'result ready' stops it. Everything is
computed from the same calendar data on every node, so lights agree after sync.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from casework.calendar import WorkingCalendar
from casework.errors import CalendarMissingError, DeadlineError, Message, message

CORRECTION_NOTICE_DAYS = 5  # 行政许可法 §32(4): 当场或者在五日内一次告知
VILLAGE_TRANSFER_DAYS = 3  # 村代办员 报送 to the township within 3 working days
DEFAULT_GAP_SUPPLY_DAYS = 5  # 容缺 补齐期限 default
LICENCE_ISSUE_DAYS = 10  # 行政许可法 §44: issue the licence within 10 days of a grant
ADMINISTRATIVE_REVIEW_DAYS = 60  # 行政复议 within 60 days of knowing the act
LITIGATION_MONTHS = 6  # 行政诉讼法 §46: within 6 months

# Printed on every 不予受理 / 不予许可 notice (行政许可法 §38).
REFUSAL_REMEDIES = message(
    "refusal_remedies",
    "如不服本决定，可在知道该行政行为之日起 {review} 日内依法申请行政复议，或者在 {months} 个月内依法提起行政诉讼。",
    "If you disagree with this decision you may apply for administrative review within {review} days of learning "
    "of it, or bring an administrative lawsuit within {months} months.",
    review=ADMINISTRATIVE_REVIEW_DAYS,
    months=LITIGATION_MONTHS,
)


class Light(Enum):
    """亮灯: green / yellow (预警) / red (超时) / grey (paused); NONE while no clock runs."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    GREY = "grey"
    NONE = "none"

    @property
    def zh(self) -> str:
        return {
            "green": "绿灯",
            "yellow": "黄灯（预警）",
            "red": "红灯（超时）",
            "grey": "灰灯（暂停计时）",
            "none": "未计时",
        }[self.value]


@dataclass(frozen=True)
class Pause:
    """A 特别程序 period: from ``start`` until the clock resumes on ``end`` (None: still paused)."""

    start: dt.date
    end: dt.date | None = None
    counts_toward_limit: bool = False
    reason: str = ""

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class ClockInputs:
    """What the clock needs to know about one case (CaseView.clock_inputs() builds it from the events)."""

    promised_days: int
    legal_days: int | None = None
    village_received_on: dt.date | None = None
    received_on: dt.date | None = None  # receipt by the accepting organ: the §32 5-day clock
    correction_notice_on: dt.date | None = None
    accepted_on: dt.date | None = None
    refused_on: dt.date | None = None  # 不予受理
    pauses: Sequence[Pause] = ()
    extension_days: int = 0
    result_ready_on: dt.date | None = None
    closed: bool = False  # withdrawn / terminated / not accepted: no light
    open_gaps: Mapping[str, dt.date] = field(default_factory=dict)  # 容缺 material → supply deadline
    step_overdue: bool = False  # a single 环节 over its own budget


@dataclass(frozen=True)
class ClockStatus:
    """The computed clock: deadline, remaining working days, light and the reasons for it."""

    light: Light
    clock_start: dt.date | None = None
    deadline: dt.date | None = None
    legal_deadline: dt.date | None = None
    remaining_working_days: int | None = None
    warning_threshold: int = 1
    paused_since: dt.date | None = None
    paused_working_days: int = 0
    finished_on_time: bool | None = None
    flags: frozenset[str] = frozenset()
    messages: tuple[Message, ...] = ()


def warning_threshold(promised_days: int) -> int:
    """Yellow when remaining ≤ max(1, ceil(20 % of the promised days))."""
    return max(1, (promised_days * 20 + 99) // 100)


def correction_notice_deadline(calendar: WorkingCalendar, received_on: dt.date) -> dt.date:
    """Last day to give the 一次性告知 (补正) notice: the 5th working day after receipt."""
    return calendar.add_working_days(received_on, CORRECTION_NOTICE_DAYS)


def gap_supply_deadline(
    calendar: WorkingCalendar, accepted_on: dt.date, supply_days: int | None, case_deadline: dt.date | None
) -> dt.date:
    """容缺 补齐期限: ``supply_days`` (default 5) working days after acceptance, never beyond the case deadline."""
    own = calendar.add_working_days(
        accepted_on, DEFAULT_GAP_SUPPLY_DAYS if supply_days is None else supply_days
    )
    return min(own, case_deadline) if case_deadline is not None else own


def deadline_with_pauses(
    calendar: WorkingCalendar,
    start: dt.date,
    days: int,
    pauses: Sequence[Pause],
    today: dt.date | None = None,
) -> dt.date:
    """The ``days``-th working day after ``start`` that is not inside a non-counted pause.

    An open pause is assumed to end after ``today`` (so the answer is a projection while paused).

    Raises:
        CalendarMissingError: the count runs into a year with no calendar.
        DeadlineError: a pause ends before it starts.
    """
    excluded = []
    for pause in pauses:
        if pause.end is not None and pause.end < pause.start:
            raise DeadlineError(
                message(
                    "pause_ends_before_start",
                    "暂停计时的结束日期早于开始日期",
                    "A clock pause ends before it starts",
                )
            )
        if not pause.counts_toward_limit:
            end = pause.end
            if end is None:
                end = (today or pause.start) + dt.timedelta(days=1)
            excluded.append(Pause(pause.start, end))
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day) and not any(p.covers(day) for p in excluded):
            left -= 1
    return day


def compute_clock(calendar: WorkingCalendar, inputs: ClockInputs, today: dt.date) -> ClockStatus:
    """The clock and light of a case on ``today``. Never raises: a missing calendar year or inconsistent inputs
    (a pause ending before it starts) come back as a yellow light with a flag and a message."""
    try:
        return _compute(calendar, inputs, today)
    except CalendarMissingError as missing:
        return ClockStatus(
            Light.YELLOW,
            flags=frozenset({"calendar_missing"}),
            messages=(missing.message,),
        )
    except DeadlineError as invalid:
        return ClockStatus(
            Light.YELLOW, flags=frozenset({"clock_inputs_invalid"}), messages=(invalid.message,)
        )


def _compute(calendar: WorkingCalendar, inputs: ClockInputs, today: dt.date) -> ClockStatus:
    flags: set[str] = set()
    notes: list[Message] = []
    threshold = warning_threshold(inputs.promised_days)
    if inputs.closed:
        return ClockStatus(Light.NONE, warning_threshold=threshold)

    start = inputs.accepted_on
    if inputs.received_on is not None and inputs.refused_on is None:
        notice_due = correction_notice_deadline(calendar, inputs.received_on)
        notice_at = inputs.correction_notice_on
        decided_at = inputs.accepted_on
        late_notice = notice_at is not None and notice_at > notice_due
        silent_too_long = notice_at is None and (
            (decided_at is not None and decided_at > notice_due)
            or (decided_at is None and today > notice_due)
        )
        if late_notice or silent_too_long:
            flags.update({"correction_notice_late", "deemed_accepted"})
            notes.append(_NOTICE_LATE)
            start = inputs.received_on
    if start is None:
        return _before_acceptance(calendar, inputs, today, flags, notes, threshold)

    limit = inputs.promised_days + inputs.extension_days
    deadline = deadline_with_pauses(calendar, start, limit, inputs.pauses, today)
    legal_deadline = None
    if inputs.legal_days is not None:
        legal_deadline = deadline_with_pauses(
            calendar, start, inputs.legal_days + inputs.extension_days, inputs.pauses, today
        )
    for material, due in sorted(inputs.open_gaps.items()):
        if today > due:
            flags.add("gap_lapsed")
            notes.append(
                message(
                    "gap_lapsed",
                    "容缺材料“{material}”已超过补齐期限 {due}，应按承诺终止办理",
                    "The deferred material '{material}' was due on {due}; the case should be terminated as promised",
                    material=material,
                    due=due.isoformat(),
                )
            )
    if inputs.step_overdue:
        flags.add("step_overdue")

    if inputs.result_ready_on is not None:
        on_time = inputs.result_ready_on <= deadline
        if not on_time:
            flags.add("finished_late")
        return ClockStatus(
            Light.GREEN if on_time else Light.RED,
            start,
            deadline,
            legal_deadline,
            None,
            threshold,
            finished_on_time=on_time,
            flags=frozenset(flags),
            messages=tuple(notes),
        )

    open_pause = next((p for p in inputs.pauses if p.end is None and not p.counts_toward_limit), None)
    remaining: int | None
    missing_year: Message | None = None
    try:
        remaining = calendar.working_days_between(today, deadline)
    except CalendarMissingError as missing:
        if today <= deadline or open_pause is not None:
            raise
        # The deadline is a known date and today is past it: the case is overdue whatever the new year's plan
        # says. Only "how many working days ago" needs today's year, whose calendar is not imported yet.
        remaining = None
        missing_year = missing.message
    if open_pause is not None:
        paused_days = calendar.working_days_between(open_pause.start, today) + calendar.is_working_day(
            open_pause.start
        )
        flags.add("paused")
        notes.append(
            message(
                "paused",
                "特别程序（{reason}）暂停计时，自 {since} 起已 {days} 个工作日",
                "Paused for a special procedure ({reason}) since {since}: {days} working days",
                reason=open_pause.reason,
                since=open_pause.start.isoformat(),
                days=paused_days,
            )
        )
        return ClockStatus(
            Light.GREY,
            start,
            deadline,
            legal_deadline,
            remaining,
            threshold,
            open_pause.start,
            paused_days,
            flags=frozenset(flags),
            messages=tuple(notes),
        )
    if today > deadline:
        flags.add("overdue")
        notes.append(
            message(
                "overdue",
                "已超过承诺办结日期 {deadline}",
                "Past the promised completion date {deadline}",
                deadline=deadline.isoformat(),
            )
        )
    if missing_year is not None:
        notes.append(missing_year)
    if "overdue" in flags or ("correction_notice_late" in flags and inputs.accepted_on is None):
        light = Light.RED
    elif (remaining is not None and remaining <= threshold) or inputs.step_overdue:
        light = Light.YELLOW
    else:
        light = Light.GREEN
    return ClockStatus(
        light,
        start,
        deadline,
        legal_deadline,
        remaining,
        threshold,
        flags=frozenset(flags),
        messages=tuple(notes),
    )


_NOTICE_LATE = message(
    "correction_notice_late",
    "逾期未告知：收到材料后 5 个工作日内未一次性告知补正，自收到材料之日起视为受理",
    "Correction notice late: no one-time notice within 5 working days of receipt, so the application counts "
    "as accepted from the day the materials were received",
)


def _before_acceptance(
    calendar: WorkingCalendar,
    inputs: ClockInputs,
    today: dt.date,
    flags: set[str],
    notes: list[Message],
    threshold: int,
) -> ClockStatus:
    if inputs.received_on is None and inputs.village_received_on is not None:
        waiting = calendar.working_days_between(inputs.village_received_on, today)
        if waiting > VILLAGE_TRANSFER_DAYS:
            flags.add("transfer_late")
            notes.append(
                message(
                    "transfer_late",
                    "村站收件已 {days} 个工作日仍未报送到受理机关（应在 3 个工作日内）",
                    "Received at the village {days} working days ago and not yet at the accepting organ (limit 3)",
                    days=waiting,
                )
            )
            return ClockStatus(
                Light.RED, flags=frozenset(flags), messages=tuple(notes), warning_threshold=threshold
            )
        return ClockStatus(
            Light.GREEN,
            remaining_working_days=VILLAGE_TRANSFER_DAYS - waiting,
            warning_threshold=threshold,
        )
    if inputs.received_on is not None and inputs.correction_notice_on is None and inputs.refused_on is None:
        notice_due = correction_notice_deadline(calendar, inputs.received_on)
        remaining = calendar.working_days_between(today, notice_due)
        light = Light.YELLOW if remaining <= 1 else Light.GREEN
        return ClockStatus(
            light, deadline=None, remaining_working_days=remaining, warning_threshold=threshold
        )
    return ClockStatus(Light.NONE, flags=frozenset(flags), messages=tuple(notes), warning_threshold=threshold)
