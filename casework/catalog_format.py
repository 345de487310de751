"""The catalog file format ``yiciban.catalog/1``: reading a parsed document into :class:`Catalog`.

Top level: ``format``, ``catalog_version``, ``published`` (YYYY-MM-DD), ``default_supply_days``, ``life_events``
(key, name_zh, name_en), ``items`` and ``bundles``. Every field of an item and a material is listed in
``ITEM_FIELDS`` / ``MATERIAL_FIELDS``; unknown fields are reported (they are usually typos). Rules checked
across fields: 承诺 ≤ 法定; 即办件 ⇔ promised 0; a 容缺 supply deadline never beyond the promised time;
unique (code, version); bundles name existing items; life events are declared.
"""

from __future__ import annotations

import re
from typing import Any

from casework.catalog import (
    CATALOG_FORMAT,
    SERVICE_OBJECT_LABELS,
    Bundle,
    Catalog,
    HandlingKind,
    Item,
    ItemType,
    Level,
    LifeEvent,
    Material,
    MaterialForm,
    SpecialProcedure,
)
from casework.errors import message
from casework.fileformat import Reader

ITEM_CODE_RE = re.compile(r"[A-Z]{2}\d{8}")
_INITIALS_RE = re.compile(r"[a-z0-9]+")
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")

ITEM_FIELDS = {
    "code", "version", "active", "name_zh", "name_en", "name_initials", "item_type", "receiving_levels",
    "acceptance_level", "decision_level", "handling_kind", "legal_limit_days", "promised_limit_days",
    "extension_days", "fee_fen", "service_objects", "requires_personal_appearance", "publicity_days",
    "publicity_counts_toward_limit", "special_procedures", "life_events", "materials", "legal_basis", "note_zh",
    "note_en",
}  # fmt: skip
MATERIAL_FIELDS = {
    "key", "name_zh", "name_en", "required", "form", "copies", "deferrable", "supply_days",
    "promise_replaceable", "shareable", "note_zh",
}  # fmt: skip
PROCEDURE_FIELDS = {"key", "name_zh", "name_en", "expected_days", "calendar_days", "counts_toward_limit"}
SERVICE_OBJECTS = set(SERVICE_OBJECT_LABELS)
_STATION_LEVELS = {Level.VILLAGE.value, Level.TOWNSHIP.value, Level.COUNTY.value}


def read_catalog(top: dict[str, Any], r: Reader) -> Catalog | None:
    """Build a catalog from a parsed top-level object, recording every problem in ``r``."""
    r.unknown_keys(
        top,
        "$",
        {"format", "catalog_version", "published", "default_supply_days", "life_events", "items", "bundles"},
    )
    fmt = r.string(top, "format", "$")
    if fmt is not None and fmt != CATALOG_FORMAT:
        r.problem(
            "$.format",
            top,
            message(
                "unsupported_format",
                "不支持的格式 {found}（应为 {expected}）",
                "Unsupported format {found} (expected {expected})",
                found=fmt,
                expected=CATALOG_FORMAT,
            ),
        )
    version = r.integer(top, "catalog_version", "$", minimum=1)
    published = r.date(top, "published", "$")
    default_supply = r.integer(top, "default_supply_days", "$", required=False, minimum=1, maximum=60)
    events = _read_life_events(top, r)
    event_keys = {e.key for e in events}
    items = []
    seen: set[tuple[str, int]] = set()
    for index, raw in enumerate(r.array(top, "items", "$")):
        item = _read_item(raw, f"$.items[{index}]", r, top, event_keys)
        if item is None:
            continue
        if item.ref in seen:
            r.problem(
                f"$.items[{index}].code",
                raw,
                message(
                    "duplicate_item",
                    "事项 {code} 第 {version} 版重复出现",
                    "Item {code} version {version} appears twice",
                    code=item.code,
                    version=item.version,
                ),
            )
        seen.add(item.ref)
        items.append(item)
    known_codes = {code for code, _ in seen}
    bundles = [
        b
        for index, raw in enumerate(r.array(top, "bundles", "$", required=False))
        if (b := _read_bundle(raw, f"$.bundles[{index}]", r, top, known_codes, event_keys)) is not None
    ]
    if version is None or published is None:
        return None
    return Catalog(
        catalog_version=version,
        published=published,
        default_supply_days=default_supply or 5,
        items=tuple(items),
        bundles=tuple(bundles),
        life_events=tuple(events),
    )


def _read_life_events(top: dict[str, Any], r: Reader) -> list[LifeEvent]:
    events = []
    for index, raw in enumerate(r.array(top, "life_events", "$", required=False)):
        path = f"$.life_events[{index}]"
        obj = r.obj(raw, path, top)
        if obj is None:
            continue
        r.unknown_keys(obj, path, {"key", "name_zh", "name_en"})
        key = _key(obj, "key", path, r)
        name_zh = r.string(obj, "name_zh", path)
        name_en = r.string(obj, "name_en", path)
        if key and name_zh and name_en:
            events.append(LifeEvent(key, name_zh, name_en))
    return events


def _key(obj: dict[str, Any], field: str, path: str, r: Reader) -> str | None:
    value = r.string(obj, field, path)
    if value is not None and not _KEY_RE.fullmatch(value):
        r.problem(
            f"{path}.{field}",
            obj,
            message(
                "bad_key", "键名只能用小写字母、数字和下划线", "Keys use lower-case letters, digits and _"
            ),
        )
        return None
    return value


def _initials(obj: dict[str, Any], path: str, r: Reader) -> str | None:
    value = r.string(obj, "name_initials", path)
    if value is not None and not _INITIALS_RE.fullmatch(value):
        r.problem(
            f"{path}.name_initials",
            obj,
            message(
                "bad_initials", "拼音首字母只能是小写字母和数字", "Pinyin initials are lower-case a–z and 0–9"
            ),
        )
        return None
    return value


def _levels(obj: dict[str, Any], field: str, path: str, r: Reader) -> tuple[Level, ...]:
    levels = []
    for index, value in enumerate(r.strings(obj, field, path)):
        if value in _STATION_LEVELS:
            levels.append(Level(value))
        else:
            r.problem(
                f"{path}.{field}[{index}]",
                obj,
                message(
                    "bad_level",
                    "层级应为 village、township 或 county",
                    "Level must be village, township or county",
                ),
            )
    if not levels:
        r.problem(f"{path}.{field}", obj, message("empty_list", "不能为空", "Must not be empty"))
    return tuple(levels)


def _read_item(raw: Any, path: str, r: Reader, parent: Any, event_keys: set[str]) -> Item | None:  # noqa: C901 - a flat list of fields
    obj = r.obj(raw, path, parent)
    if obj is None:
        return None
    before = len(r.problems)
    r.unknown_keys(obj, path, ITEM_FIELDS)
    code = r.string(obj, "code", path)
    if code is not None and not ITEM_CODE_RE.fullmatch(code):
        r.problem(
            f"{path}.code",
            obj,
            message(
                "bad_item_code",
                "事项编码应为 2 个大写字母加 8 位数字（如 GF00201000）",
                "An item code is 2 capitals and 8 digits (e.g. GF00201000)",
            ),
        )
    version = r.integer(obj, "version", path, minimum=1)
    active = r.boolean(obj, "active", path, default=True)
    name_zh = r.string(obj, "name_zh", path)
    name_en = r.string(obj, "name_en", path)
    initials = _initials(obj, path, r)
    type_key = r.choice(obj, "item_type", path, {t.value for t in ItemType}, required=active)
    receiving = _levels(obj, "receiving_levels", path, r)
    acceptance = r.choice(obj, "acceptance_level", path, _STATION_LEVELS - {"village"})
    decision = r.choice(obj, "decision_level", path, _STATION_LEVELS)
    kind = r.choice(obj, "handling_kind", path, {k.value for k in HandlingKind})
    legal = r.integer(obj, "legal_limit_days", path, required=False, minimum=0, maximum=365)
    promised = r.integer(obj, "promised_limit_days", path, minimum=0, maximum=365)
    extension = r.integer(obj, "extension_days", path, minimum=0, maximum=60)
    fee = r.integer(obj, "fee_fen", path, minimum=0)
    objects = r.strings(obj, "service_objects", path)
    for index, value in enumerate(objects):
        if value not in SERVICE_OBJECTS:
            r.problem(
                f"{path}.service_objects[{index}]",
                obj,
                message("bad_service_object", "服务对象取值无效", "Unknown service object"),
            )
    appearance = r.boolean(obj, "requires_personal_appearance", path)
    publicity = r.integer(obj, "publicity_days", path, minimum=0, maximum=60)
    publicity_counts = r.boolean(obj, "publicity_counts_toward_limit", path, default=False)
    events = r.strings(obj, "life_events", path, required=False)
    for index, event in enumerate(events):
        if event not in event_keys:
            r.problem(
                f"{path}.life_events[{index}]",
                obj,
                message(
                    "unknown_life_event", "未声明的生活事件 {key}", "Undeclared life event {key}", key=event
                ),
            )
    procedures = [
        p
        for index, raw_p in enumerate(r.array(obj, "special_procedures", path, required=False))
        if (p := _read_procedure(raw_p, f"{path}.special_procedures[{index}]", r, obj)) is not None
    ]
    materials = [
        m
        for index, raw_m in enumerate(r.array(obj, "materials", path))
        if (m := _read_material(raw_m, f"{path}.materials[{index}]", r, obj, promised)) is not None
    ]
    keys = [m.key for m in materials]
    if len(set(keys)) != len(keys):
        r.problem(
            f"{path}.materials", obj, message("duplicate_material", "材料键名重复", "A material key repeats")
        )
    if active and not materials:
        r.problem(
            f"{path}.materials",
            obj,
            message("no_materials", "在用事项必须列出申请材料", "An active item lists its materials"),
        )
    if legal is not None and promised is not None and promised > legal:
        r.problem(
            f"{path}.promised_limit_days",
            obj,
            message(
                "promise_exceeds_legal",
                "承诺时限不得超过法定时限",
                "The promised limit may not exceed the legal one",
            ),
        )
    if kind is not None and promised is not None and (kind == "immediate") != (promised == 0):
        r.problem(
            f"{path}.handling_kind",
            obj,
            message(
                "immediate_means_zero",
                "即办件的承诺时限必须为 0，承诺件等必须大于 0",
                "An immediate item (即办件) has promised limit 0, and only it",
            ),
        )
    if len(r.problems) > before:
        return None
    required_values = (code, version, name_zh, name_en, initials, acceptance, decision, kind)
    if any(v is None for v in required_values) or None in (promised, extension, fee, publicity):
        r.problem(path, obj, message("incomplete_item", "事项信息不完整", "The item is incomplete"))
        return None
    assert (
        code and version and name_zh and name_en and initials is not None and acceptance and decision and kind
    )
    assert promised is not None and extension is not None and fee is not None and publicity is not None
    return Item(
        code=code,
        version=version,
        active=active,
        name_zh=name_zh,
        name_en=name_en,
        name_initials=initials,
        item_type=ItemType(type_key) if type_key else None,
        receiving_levels=receiving,
        acceptance_level=Level(acceptance),
        decision_level=Level(decision),
        handling_kind=HandlingKind(kind),
        legal_limit_days=legal,
        promised_limit_days=promised,
        extension_days=extension,
        fee_fen=fee,
        service_objects=tuple(objects),
        requires_personal_appearance=appearance,
        publicity_days=publicity,
        publicity_counts_toward_limit=publicity_counts,
        special_procedures=tuple(procedures),
        life_events=tuple(events),
        materials=tuple(materials),
        legal_basis=r.string(obj, "legal_basis", path, required=False, allow_empty=True) or "",
        note_zh=r.string(obj, "note_zh", path, required=False, allow_empty=True) or "",
        note_en=r.string(obj, "note_en", path, required=False, allow_empty=True) or "",
    )


def _read_material(raw: Any, path: str, r: Reader, parent: Any, promised: int | None) -> Material | None:
    obj = r.obj(raw, path, parent)
    if obj is None:
        return None
    before = len(r.problems)
    r.unknown_keys(obj, path, MATERIAL_FIELDS)
    key = _key(obj, "key", path, r)
    name_zh = r.string(obj, "name_zh", path)
    name_en = r.string(obj, "name_en", path)
    form = r.choice(obj, "form", path, {f.value for f in MaterialForm})
    copies = r.integer(obj, "copies", path, minimum=0, maximum=20)
    deferrable = r.boolean(obj, "deferrable", path, default=False)
    supply = r.integer(obj, "supply_days", path, required=False, minimum=1, maximum=60)
    if supply is not None and not deferrable:
        r.problem(
            f"{path}.supply_days",
            obj,
            message(
                "supply_without_deferral",
                "只有可容缺材料才有补齐期限",
                "Only a deferrable material has a supply deadline",
            ),
        )
    if supply is not None and promised is not None and promised > 0 and supply > promised:
        r.problem(
            f"{path}.supply_days",
            obj,
            message(
                "supply_beyond_promise",
                "容缺补齐期限不得超过承诺时限",
                "A 容缺 supply deadline may not go beyond the promised time",
            ),
        )
    if len(r.problems) > before or not (key and name_zh and name_en and form and copies is not None):
        return None
    return Material(
        key=key,
        name_zh=name_zh,
        name_en=name_en,
        required=r.boolean(obj, "required", path, default=True),
        form=MaterialForm(form),
        copies=copies,
        deferrable=deferrable,
        supply_days=supply,
        promise_replaceable=r.boolean(obj, "promise_replaceable", path, default=False),
        shareable=r.boolean(obj, "shareable", path, default=False),
        note_zh=r.string(obj, "note_zh", path, required=False, allow_empty=True) or "",
    )


def _read_procedure(raw: Any, path: str, r: Reader, parent: Any) -> SpecialProcedure | None:
    obj = r.obj(raw, path, parent)
    if obj is None:
        return None
    r.unknown_keys(obj, path, PROCEDURE_FIELDS)
    key = _key(obj, "key", path, r)
    name_zh = r.string(obj, "name_zh", path)
    name_en = r.string(obj, "name_en", path)
    days = r.integer(obj, "expected_days", path, minimum=0, maximum=365)
    calendar_days = r.boolean(obj, "calendar_days", path)
    counts = r.boolean(obj, "counts_toward_limit", path)
    if not (key and name_zh and name_en and days is not None):
        return None
    return SpecialProcedure(key, name_zh, name_en, days, calendar_days, counts)


def _read_bundle(
    raw: Any, path: str, r: Reader, parent: Any, known_codes: set[str], event_keys: set[str]
) -> Bundle | None:
    obj = r.obj(raw, path, parent)
    if obj is None:
        return None
    before = len(r.problems)
    r.unknown_keys(obj, path, {"code", "name_zh", "name_en", "name_initials", "item_codes", "life_events"})
    code = r.string(obj, "code", path)
    name_zh = r.string(obj, "name_zh", path)
    name_en = r.string(obj, "name_en", path)
    initials = _initials(obj, path, r)
    members = r.strings(obj, "item_codes", path)
    for index, member in enumerate(members):
        if member not in known_codes:
            r.problem(
                f"{path}.item_codes[{index}]",
                obj,
                message(
                    "unknown_member",
                    "一件事包含未知事项 {code}",
                    "The bundle names unknown item {code}",
                    code=member,
                ),
            )
    if len(members) < 2:
        r.problem(
            f"{path}.item_codes",
            obj,
            message("bundle_too_small", "一件事至少包含 2 个事项", "A bundle has at least 2 items"),
        )
    events = r.strings(obj, "life_events", path, required=False)
    for index, event in enumerate(events):
        if event not in event_keys:
            r.problem(
                f"{path}.life_events[{index}]",
                obj,
                message(
                    "unknown_life_event", "未声明的生活事件 {key}", "Undeclared life event {key}", key=event
                ),
            )
    if len(r.problems) > before or not (code and name_zh and name_en and initials):
        return None
    return Bundle(code, name_zh, name_en, initials, tuple(members), tuple(events))


def dump_catalog(catalog: Catalog) -> dict[str, Any]:
    """The file form of a catalog (what central publishes); ``load_catalog(dump_catalog(c)) == c``."""
    return {
        "format": CATALOG_FORMAT,
        "catalog_version": catalog.catalog_version,
        "published": catalog.published.isoformat(),
        "default_supply_days": catalog.default_supply_days,
        "life_events": [
            {"key": e.key, "name_zh": e.name_zh, "name_en": e.name_en} for e in catalog.life_events
        ],
        "items": [_dump_item(item) for item in catalog.items],
        "bundles": [
            {
                "code": b.code,
                "name_zh": b.name_zh,
                "name_en": b.name_en,
                "name_initials": b.name_initials,
                "item_codes": list(b.item_codes),
                "life_events": list(b.life_events),
            }
            for b in catalog.bundles
        ],
    }


def _dump_item(item: Item) -> dict[str, Any]:
    return {
        "code": item.code,
        "version": item.version,
        "active": item.active,
        "name_zh": item.name_zh,
        "name_en": item.name_en,
        "name_initials": item.name_initials,
        "item_type": None if item.item_type is None else item.item_type.value,
        "receiving_levels": [level.value for level in item.receiving_levels],
        "acceptance_level": item.acceptance_level.value,
        "decision_level": item.decision_level.value,
        "handling_kind": item.handling_kind.value,
        "legal_limit_days": item.legal_limit_days,
        "promised_limit_days": item.promised_limit_days,
        "extension_days": item.extension_days,
        "fee_fen": item.fee_fen,
        "service_objects": list(item.service_objects),
        "requires_personal_appearance": item.requires_personal_appearance,
        "publicity_days": item.publicity_days,
        "publicity_counts_toward_limit": item.publicity_counts_toward_limit,
        "special_procedures": [
            {
                "key": p.key,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "expected_days": p.expected_days,
                "calendar_days": p.calendar_days,
                "counts_toward_limit": p.counts_toward_limit,
            }
            for p in item.special_procedures
        ],
        "life_events": list(item.life_events),
        "materials": [_dump_material(m) for m in item.materials],
        "legal_basis": item.legal_basis,
        "note_zh": item.note_zh,
        "note_en": item.note_en,
    }


def _dump_material(m: Material) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": m.key,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "required": m.required,
        "form": m.form.value,
        "copies": m.copies,
        "deferrable": m.deferrable,
        "promise_replaceable": m.promise_replaceable,
        "shareable": m.shareable,
        "note_zh": m.note_zh,
    }
    if m.supply_days is not None:
        out["supply_days"] = m.supply_days
    return out
