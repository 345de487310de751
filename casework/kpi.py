"""The reform KPIs of SPEC.md §3.10, computed over case summaries and a period.

Ratios are exact :class:`fractions.Fraction` values (None when the denominator is 0); :func:`per_mille` gives the
integer form that may go on the wire, :func:`percent_text` the display form. No floats anywhere.

Cohort: the cases accepted (受理) within the period. 办结 = result ready. Overdue (超期) = finished after the
promised deadline, or still unfinished at the end of the period with the deadline passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

from casework.caseview import CaseView
from casework.catalog import Item
from casework.custody import RouteTimes
from casework.deadlines import ClockStatus


@dataclass(frozen=True)
class Period:
    """A reporting period, both ends included."""

    start: dt.date
    end: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


@dataclass(frozen=True)
class CaseSummary:
    """What the KPIs need to know about one case (built by a node from its case projection)."""

    item_code: str
    accepted_on: dt.date | None  # None: never accepted (refused, withdrawn before 受理)
    completed_on: dt.date | None  # result ready (办结)
    deadline: dt.date | None  # promised deadline incl. extension and pauses
    promised_days: int
    legal_days: int | None = None
    immediate: bool = False  # 即办件
    with_gaps: bool = False  # 容缺受理
    via_proxy: bool = False  # 代办
    steps: int = 0  # 办理环节
    materials: int = 0  # 申报材料 actually submitted
    applicant_trips: int = 0  # 跑动次数; 代办 and delivery by an agent count 0
    completed_in_village: bool = False  # the applicant never had to leave the village
    rating_levels: tuple[int, ...] = ()
    bad_ratings_rectified: int = 0  # of its bad ratings, how many were rectified (差评整改)
    station: str = ""
    # The 代办 route's hops (casework.custody.route_times):
    agent_trips: int = 0  # legs an agent carried the folder (up and back)
    village_hold_days: int | None = None  # working days at the village before the folder went up
    transit_hops: int = 0  # carried legs received at the other end, with a known time
    transit_days: int = 0  # working days those legs took, summed


@dataclass(frozen=True)
class KpiReport:
    """One period's figures for a station, township or county."""

    accepted: int  # 受理量
    completed: int
    completion_rate: Fraction | None  # 办结率
    on_time_rate: Fraction | None  # 按时办结率
    overdue: int  # 超期件数
    immediate_share: Fraction | None  # 即办件比例
    with_gaps: int  # 容缺受理件数
    via_proxy: int  # 代办件数
    average_steps: Fraction | None  # 平均办理环节
    average_materials: Fraction | None  # 平均申报材料
    average_trips: Fraction | None  # 平均跑动次数
    time_limit_compression: Fraction | None  # 时限压缩率 = 1 − Σ承诺 / Σ法定 over the items handled
    ratings: int
    satisfaction_rate: Fraction | None  # 满意率: 基本满意 or better
    bad_rating_rate: Fraction | None  # 差评率
    rectification_rate: Fraction | None  # 差评整改率
    village_share: Fraction | None  # completed without the applicant leaving the village
    agent_trips: int = 0  # 代办跑动: legs agents carried the cohort's folders
    average_village_hold_days: Fraction | None = None  # working days a folder waited at the village to go up
    average_transit_days: Fraction | None = None  # working days per carried leg, dispatch to receipt

    def to_wire(self) -> dict[str, int | None]:
        """Integers only: counts as they are, ratios as per-mille (‰), rounded half up."""
        out: dict[str, int | None] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name if isinstance(value, int) else f"{f.name}_per_mille"] = (
                value if isinstance(value, int) or value is None else per_mille(value)
            )
        return out


def ratio(numerator: int, denominator: int) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator, denominator)


def per_mille(value: Fraction) -> int:
    """Integer per-mille, rounded half up (Fraction arithmetic, no floats)."""
    scaled = value * 1000
    return int((scaled + Fraction(1, 2)) // 1)


def percent_text(value: Fraction | None, places: int = 2) -> str:
    """Display form: ``42.66%`` (rounded half up); "—" when undefined."""
    if value is None:
        return "—"
    unit = 10**places
    scaled = int((value * 100 * unit + Fraction(1, 2)) // 1)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), unit)
    return f"{sign}{whole}.{frac:0{places}d}%" if places else f"{sign}{whole}%"


def decimal_text(value: Fraction | None, places: int = 2) -> str:
    """Display form of an average: ``2.65``."""
    if value is None:
        return "—"
    unit = 10**places
    scaled = int((value * unit + Fraction(1, 2)) // 1)
    whole, frac = divmod(scaled, unit)
    return f"{whole}.{frac:0{places}d}" if places else str(whole)


def time_limit_compression(limits: Iterable[tuple[int, int | None]]) -> Fraction | None:
    """1 − Σpromised / Σlegal over (promised, legal) pairs that have a legal limit."""
    pairs = [(p, legal) for p, legal in limits if legal]
    total_legal = sum(legal for _, legal in pairs)
    if total_legal == 0:
        return None
    return 1 - Fraction(sum(p for p, _ in pairs), total_legal)


def compute_kpis(cases: Sequence[CaseSummary], period: Period) -> KpiReport:
    """Every KPI of SPEC.md §3.10 for the cases accepted in ``period``."""
    cohort = [c for c in cases if c.accepted_on is not None and c.accepted_on in period]
    done = [c for c in cohort if c.completed_on is not None and c.completed_on <= period.end]
    on_time = [
        c
        for c in done
        if c.deadline is not None and c.completed_on is not None and c.completed_on <= c.deadline
    ]
    overdue = [c for c in cohort if _overdue(c, period.end)]
    item_limits = {c.item_code: (c.promised_days, c.legal_days) for c in cohort}
    levels = [level for c in cohort for level in c.rating_levels]
    bad = sum(1 for level in levels if level <= 2)
    held = [c for c in cohort if c.village_hold_days is not None]
    n = len(cohort)
    return KpiReport(
        accepted=n,
        completed=len(done),
        completion_rate=ratio(len(done), n),
        on_time_rate=ratio(len(on_time), len(done)),
        overdue=len(overdue),
        immediate_share=ratio(sum(c.immediate for c in cohort), n),
        with_gaps=sum(c.with_gaps for c in cohort),
        via_proxy=sum(c.via_proxy for c in cohort),
        average_steps=ratio(sum(c.steps for c in cohort), n),
        average_materials=ratio(sum(c.materials for c in cohort), n),
        average_trips=ratio(sum(0 if c.via_proxy else c.applicant_trips for c in cohort), n),
        time_limit_compression=time_limit_compression(item_limits.values()),
        ratings=len(levels),
        satisfaction_rate=ratio(sum(1 for level in levels if level >= 3), len(levels)),
        bad_rating_rate=ratio(bad, len(levels)),
        rectification_rate=ratio(min(bad, sum(c.bad_ratings_rectified for c in cohort)), bad),
        village_share=ratio(sum(c.completed_in_village for c in done), len(done)),
        agent_trips=sum(c.agent_trips for c in cohort),
        average_village_hold_days=ratio(sum(c.village_hold_days or 0 for c in held), len(held)),
        average_transit_days=ratio(sum(c.transit_days for c in cohort), sum(c.transit_hops for c in cohort)),
    )


def _overdue(case: CaseSummary, as_of: dt.date) -> bool:
    if case.deadline is None:
        return False
    if case.completed_on is not None and case.completed_on <= as_of:
        return case.completed_on > case.deadline
    return as_of > case.deadline


def by_station(cases: Sequence[CaseSummary], period: Period) -> dict[str, KpiReport]:
    """The same report per station."""
    return grouped_kpis(cases, period, lambda c: c.station)


def grouped_kpis(
    cases: Sequence[CaseSummary], period: Period, key: Callable[[CaseSummary], str]
) -> dict[str, KpiReport]:
    """The same report per group, e.g. per township with ``key=lambda c: township_of[c.station]``."""
    groups: dict[str, list[CaseSummary]] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    return {name: compute_kpis(members, period) for name, members in sorted(groups.items())}


# Material statuses that mean the applicant handed something in (免提交 and 告知承诺 do not count).
_SUBMITTED = frozenset({"received", "original_returned", "deferred"})


def summarize(
    view: CaseView, item: Item, clock: ClockStatus, *, station: str = "", route: RouteTimes | None = None
) -> CaseSummary | None:
    """The KPI summary of a folded case under its pinned item version and its computed clock; None for a
    duplicate merged into another case (重复件), which is not a matter of its own and counts in no KPI.

    ``route`` (``casework.custody.route_times`` over every station's events of the case) adds the 代办 hops:
    agent trips, working days held at the village, and the working days of each leg received so far (a leg
    whose calendar year is missing is left out of the transit time rather than guessed).

    Trips (跑动次数): 0 for a 代办 case (received at a village, or with an agent); otherwise one visit to file,
    one more per 补正 round, and one to collect the result at a window unless it was handed over on the day of
    filing (即办件) or delivered by an agent or by post.
    """
    if view.merged_into is not None:
        return None
    via_proxy = view.village_received_on is not None or view.agent_id is not None
    if via_proxy:
        trips = 0
    else:
        trips = 1 + (1 if view.correction_notice_on is not None else 0)
        if view.delivery_method == "window" and view.delivered_on not in (None, view.received_on):
            trips += 1
    bad_rectified = sum(
        1
        for record in view.followups.values()
        if record.get("status") == "closed"
        and ("rectified" in record["steps"] or record.get("verdict") in ("unreasonable", "malicious"))
    )
    legs = [] if route is None else [h.working_days for h in route.hops if h.working_days is not None]
    return CaseSummary(
        item_code=item.code,
        accepted_on=view.accepted_on or (clock.clock_start if "deemed_accepted" in clock.flags else None),
        completed_on=view.result_ready_on,
        deadline=clock.deadline,
        promised_days=item.promised_limit_days,
        legal_days=item.legal_limit_days,
        immediate=item.is_immediate,
        with_gaps=bool(view.gaps),
        via_proxy=via_proxy,
        steps=1 + view.review_steps,
        materials=sum(1 for status in view.materials.values() if status in _SUBMITTED),
        applicant_trips=trips,
        completed_in_village=via_proxy and view.result_ready_on is not None,
        rating_levels=tuple(int(r["level"]) for r in view.ratings),
        bad_ratings_rectified=bad_rectified,
        station=station or view.station,
        agent_trips=0 if route is None else route.agent_trips,
        village_hold_days=None if route is None else route.village_hold_days,
        transit_hops=len(legs),
        transit_days=sum(legs),
    )
