"""好差评: five rating levels, stages and channels, and the follow-up of every bad rating (DOMAIN.md §3).

A bad rating (不满意 2 / 非常不满意 1) from a named rater opens a follow-up (回访 → 核实结论 → 整改 → 反馈) with a
deadline of 15 working days by default (configurable: local rules say 5, 7 or 15). Only the applicant rates: a
代办员 never rates on the applicant's behalf; when the applicant is absent, the station queues a phone follow-up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum

from casework.calendar import WorkingCalendar
from casework.errors import RatingError, message

DEFAULT_RECTIFICATION_DAYS = 15

# Indicator scores beside the overall level (DOMAIN.md §3 evaluation content): offline the first three, online
# 办事效率 + the last three. Contents are versioned centrally and not editable locally.
RATING_INDICATORS: dict[str, tuple[str, str]] = {
    "efficiency": ("服务效率", "Efficiency"),
    "competence": ("服务水平", "Competence"),
    "attitude": ("服务态度", "Attitude"),
    "guide_accuracy": ("办事指南精确度", "Accuracy of the service guide"),
    "convenience": ("办事便捷度", "Convenience"),
    "usability": ("平台操作性", "Ease of use of the platform"),
}
OFFLINE_INDICATORS = ("efficiency", "competence", "attitude")
ONLINE_INDICATORS = ("efficiency", "guide_accuracy", "convenience", "usability")


class RatingLevel(IntEnum):
    """评价等级: 5 非常满意 … 1 非常不满意."""

    VERY_SATISFIED = 5
    SATISFIED = 4
    BASICALLY_SATISFIED = 3
    DISSATISFIED = 2
    VERY_DISSATISFIED = 1

    @property
    def zh(self) -> str:
        return {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}[self.value]

    @property
    def is_bad(self) -> bool:
        """差评: 不满意 and 非常不满意."""
        return self.value <= 2


class RatingStage(Enum):
    """When the rating is given (Guangdong evalProcess 1 受理阶段 / 2 办结阶段)."""

    ACCEPTANCE = "acceptance"
    COMPLETION = "completion"

    @property
    def zh(self) -> str:
        return {"acceptance": "受理阶段", "completion": "办结阶段"}[self.value]


class RatingChannel(Enum):
    """Where the rating came from."""

    WINDOW_DEVICE = "window_device"  # 窗口评价器
    PAPER_CARD = "paper_card"  # 纸质评价卡
    QR_CODE = "qr_code"  # 二维码
    SMS = "sms"  # 短信
    PHONE_FOLLOWUP = "phone_followup"  # 电话回访
    VILLAGE_TABLET = "village_tablet"  # 村站平板

    @property
    def zh(self) -> str:
        return {
            "window_device": "窗口评价器",
            "paper_card": "纸质评价卡",
            "qr_code": "二维码",
            "sms": "短信",
            "phone_followup": "电话回访",
            "village_tablet": "村站平板",
        }[self.value]


class Rater(Enum):
    """Who gave the rating. Only the applicant (named or anonymous) may."""

    APPLICANT = "applicant"
    ANONYMOUS = "anonymous"
    PROXY_AGENT = "proxy_agent"
    STAFF = "staff"


class Verdict(Enum):
    """核实结论 after the return visit."""

    REASONABLE = "reasonable"
    PARTLY_REASONABLE = "partly_reasonable"
    UNREASONABLE = "unreasonable"
    MALICIOUS = "malicious"

    @property
    def needs_rectification(self) -> bool:
        return self in (Verdict.REASONABLE, Verdict.PARTLY_REASONABLE)


@dataclass(frozen=True)
class Rating:
    """One 好差评 record (the payload of a ``rated`` event)."""

    level: RatingLevel
    stage: RatingStage
    channel: RatingChannel
    rated_on: dt.date
    named: bool
    comment: str = ""
    indicators: Mapping[str, int] = field(default_factory=dict)

    @property
    def opens_followup(self) -> bool:
        """A bad rating from a named rater is followed up (实名差评回访率 100 %)."""
        return self.level.is_bad and self.named


def record_rating(
    level: int,
    stage: RatingStage,
    channel: RatingChannel,
    rated_on: dt.date,
    *,
    rater: Rater,
    comment: str = "",
    indicators: Mapping[str, int] | None = None,
) -> Rating:
    """Validate and build a rating.

    Raises:
        RatingError: ``rating_level_range``, ``unknown_indicator`` or ``proxy_may_not_rate`` (a 代办员 or clerk
            rating for the applicant).
    """
    scores = dict(indicators or {})
    if not 1 <= level <= 5 or not all(1 <= v <= 5 for v in scores.values()):
        raise RatingError(message("rating_level_range", "评价等级为 1–5", "A rating level is 1–5"))
    unknown = sorted(set(scores) - set(RATING_INDICATORS))
    if unknown:
        raise RatingError(
            message(
                "unknown_indicator",
                "未知评价指标 {keys}",
                "Unknown rating indicators {keys}",
                keys=", ".join(unknown),
            )
        )
    if rater in (Rater.PROXY_AGENT, Rater.STAFF):
        raise RatingError(
            message(
                "proxy_may_not_rate",
                "代办员和工作人员不能代替申请人评价；申请人不在场时请安排电话回访",
                "A proxy agent or staff member may not rate for the applicant; queue a phone follow-up instead",
            )
        )
    return Rating(
        RatingLevel(level), stage, channel, rated_on, rater is Rater.APPLICANT, comment.strip(), scores
    )


def channel_for_absent_applicant() -> RatingChannel:
    """When a 代办 result is delivered without the applicant present, the rating is collected by phone."""
    return RatingChannel.PHONE_FOLLOWUP


class FollowUpStep(Enum):
    """Steps of a bad-rating follow-up, in order."""

    OPENED = "opened"
    VISITED = "visited"  # 回访核实
    VERDICT = "verdict"  # 核实结论
    RECTIFIED = "rectified"  # 整改
    CLOSED = "closed"  # 反馈 done


_NEXT = {
    FollowUpStep.OPENED: {FollowUpStep.VISITED},
    FollowUpStep.VISITED: {FollowUpStep.VERDICT},
    FollowUpStep.VERDICT: {FollowUpStep.RECTIFIED, FollowUpStep.CLOSED},
    FollowUpStep.RECTIFIED: {FollowUpStep.CLOSED},
    FollowUpStep.CLOSED: set(),
}


@dataclass(frozen=True)
class FollowUp:
    """A 差评 ticket: due date, where it stands, and its outcome."""

    opened_on: dt.date
    due_on: dt.date
    step: FollowUpStep = FollowUpStep.OPENED
    verdict: Verdict | None = None
    rectified_on: dt.date | None = None
    closed_on: dt.date | None = None

    def is_overdue(self, today: dt.date) -> bool:
        """Not closed and past the due date (a closed ticket is judged by :attr:`closed_late`)."""
        return self.step is not FollowUpStep.CLOSED and today > self.due_on

    @property
    def closed_late(self) -> bool:
        return self.closed_on is not None and self.closed_on > self.due_on

    @property
    def rectified(self) -> bool:
        """Counts toward 差评整改率: closed, and rectified when the verdict required it."""
        if self.step is not FollowUpStep.CLOSED:
            return False
        return self.rectified_on is not None or not (self.verdict and self.verdict.needs_rectification)


def open_followup(
    rating: Rating,
    calendar: WorkingCalendar,
    *,
    opened_on: dt.date | None = None,
    rectification_days: int = DEFAULT_RECTIFICATION_DAYS,
) -> FollowUp:
    """Open the follow-up of a bad rating, due ``rectification_days`` working days later.

    Raises:
        RatingError: ``no_followup_needed`` for a rating that is not a named bad rating.
        CalendarMissingError: the due date falls in a year without calendar data.
    """
    if not rating.opens_followup:
        raise RatingError(
            message(
                "no_followup_needed",
                "只有实名差评（1–2 级）需要回访整改",
                "Only a named bad rating (level 1–2) opens a follow-up",
            )
        )
    start = opened_on or rating.rated_on
    return FollowUp(start, calendar.add_working_days(start, rectification_days))


def advance_followup(
    followup: FollowUp, step: FollowUpStep, on: dt.date, *, verdict: Verdict | None = None
) -> FollowUp:
    """Move a follow-up to its next step.

    Raises:
        RatingError: ``followup_step_not_allowed`` (out of order, a verdict missing, or closing a reasonable
            complaint before it was rectified).
    """
    allowed = step in _NEXT[followup.step]
    if step is FollowUpStep.VERDICT and verdict is None:
        allowed = False
    if (
        step is FollowUpStep.CLOSED
        and followup.step is FollowUpStep.VERDICT
        and followup.verdict is not None
        and followup.verdict.needs_rectification
    ):
        allowed = False
    if not allowed:
        raise RatingError(
            message(
                "followup_step_not_allowed",
                "差评回访不能从“{current}”直接到“{step}”",
                "A follow-up cannot go from '{current}' to '{step}'",
                current=followup.step.value,
                step=step.value,
            )
        )
    if step is FollowUpStep.VERDICT:
        return replace(followup, step=step, verdict=verdict)
    if step is FollowUpStep.RECTIFIED:
        return replace(followup, step=step, rectified_on=on)
    if step is FollowUpStep.CLOSED:
        return replace(followup, step=step, closed_on=on)
    return replace(followup, step=step)
