"""The station's own printed sheets: an item's 办事指南 (printable offline) and the daily station sheet (日报表)."""

from __future__ import annotations

import datetime as dt

from casework.catalog import Catalog, Item, Level, service_object_label
from casework.lifecycle import CaseState
from printing import ItemRef, mask_name
from printing.documents import DailyCaseLine, DailySheet, GuideMaterial, ServiceGuide

from ..models import CaseRecord, StationIdentity
from .document_builders import FORMS, issuer_of, organ_name

OFFICE_HOURS = "法定工作日上午8:30—12:00，下午14:00—17:30（节假日除外）"
LEVEL_ORGANS = {
    Level.VILLAGE: "村（社区）便民服务站",
    Level.TOWNSHIP: "乡镇人民政府（街道办事处）",
    Level.COUNTY: "县级人民政府有关部门",
    Level.CENTRAL: "县级政务服务管理机构",
}
LIGHTS = {"green": "green", "yellow": "yellow", "red": "red"}


def _organ_for(level: Level, identity: StationIdentity) -> str:
    return organ_name(identity) if level.value == identity.level else LEVEL_ORGANS[level]


def _flow(item: Item, identity: StationIdentity) -> tuple[str, ...]:
    receiving = "、".join(level.zh for level in item.receiving_levels)
    steps = [
        f"申请：申请人向{receiving}便民服务站点提出申请（可委托代办员代办）",
        f"受理：{_organ_for(item.acceptance_level, identity)}审查申请材料，当场或五个工作日内告知受理或一次性告知需补正的全部内容",
    ]
    steps += [
        f"{p.name_zh}：{p.expected_days}{'日' if p.calendar_days else '个工作日'}"
        for p in item.special_procedures
    ]
    steps.append(f"决定：{_organ_for(item.decision_level, identity)}依法作出决定")
    steps.append("送达：窗口领取、代办员送达或邮寄送达")
    return tuple(steps)


def service_guide(catalog: Catalog, item: Item, identity: StationIdentity) -> ServiceGuide:
    """办事指南 of one item as the catalog the station holds describes it (行政许可法 §30)."""
    objects = "、".join(service_object_label(code) for code in item.service_objects)
    conditions = [f"申请对象：{objects}"] if objects else []
    if item.note_zh:
        conditions.append(item.note_zh)
    materials = tuple(
        GuideMaterial(
            name=m.name_zh,
            form=FORMS.get(m.form, "原件"),
            copies=m.copies,
            required=m.required,
            deferrable=m.deferrable,
            shareable=m.shareable,
            replaceable_by_commitment=m.promise_replaceable,
            note=m.note_zh + (f"（容缺补齐期限{catalog.supply_days(m)}个工作日）" if m.deferrable else ""),
        )
        for m in item.materials
    )
    special = tuple(
        f"{p.name_zh}{p.expected_days}{'日' if p.calendar_days else '个工作日'}"
        + ("" if p.counts_toward_limit else "（不计入办理时限）")
        for p in item.special_procedures
    )
    return ServiceGuide(
        item=ItemRef(item.name_zh, item.code, item.version),
        item_type=item.item_type.zh if item.item_type is not None else "公共服务",
        implementing_organ=_organ_for(item.decision_level, identity),
        legal_basis=(item.legal_basis,) if item.legal_basis else (),
        conditions=tuple(conditions) or ("符合本事项法定条件的申请人",),
        materials=materials,
        flow=_flow(item, identity),
        promised_limit_days=item.promised_limit_days,
        legal_limit_days=item.legal_limit_days,
        case_kind=item.handling_kind.zh,
        place=str(identity.name),
        hours=OFFICE_HOURS,
        issuer=issuer_of(identity),
        issued_on=catalog.published,
        fee="不收费" if not item.fee_fen else f"{item.fee_fen / 100:.2f}元",
        visits=1 if item.requires_personal_appearance else 0,
        special_procedures=special,
    )


def daily_sheet(identity: StationIdentity, day: dt.date, prepared_by: str) -> DailySheet:
    """The day's figures and every open case with its light; names are masked (the sheet goes on the wall)."""
    closed = [s.value for s in CaseState if s.terminal]
    iso = day.isoformat()
    open_cases = list(
        CaseRecord.select()
        .where(CaseRecord.state.not_in(closed))
        .order_by(CaseRecord.deadline.is_null(), CaseRecord.deadline, CaseRecord.number)
    )
    received = CaseRecord.select().where(CaseRecord.received_on == iso).count()
    accepted = CaseRecord.select().where(CaseRecord.accepted_on == iso).count()
    totals = (
        ("今日收件", received),
        ("今日受理", accepted),
        ("在办件", len(open_cases)),
        ("黄灯预警", sum(1 for c in open_cases if c.light == "yellow")),
        ("红灯超时", sum(1 for c in open_cases if c.light == "red")),
    )
    lines = tuple(
        DailyCaseLine(
            case_number=c.number,
            applicant_name=mask_name(c.applicant_name),
            item_name=c.item_name,
            status=CaseState(c.state).zh,
            light=LIGHTS.get(c.light, "grey"),  # type: ignore[arg-type]
            deadline=dt.date.fromisoformat(c.deadline) if c.deadline else None,
        )
        for c in open_cases
    )
    return DailySheet(
        issuer=issuer_of(identity), day=day, prepared_by=prepared_by, totals=totals, lines=lines
    )
