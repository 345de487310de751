"""The catalog of 政务服务事项 (service items): items, materials, special procedures, 一件事 bundles, versions.

A catalog is published by central as a JSON file (format ``yiciban.catalog/1``, integers only) and loaded by
every node with :func:`load_catalog`, which reports every fault with its path and line. The demo catalog
(DOMAIN.md §7) ships in ``casework/data/demo_catalog.json``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from importlib import resources
from typing import Any

from casework.errors import CatalogFormatError, FormatProblem, UnknownItemError, message
from casework.fileformat import load_and_read

CATALOG_FORMAT = "yiciban.catalog/1"


class ItemType(Enum):
    """事项类型 (DOMAIN.md §1.3): our own stable keys, with the Chinese name and a 2-letter abbreviation."""

    LICENSING = "licensing"
    CONFIRMATION = "confirmation"
    ADJUDICATION = "adjudication"
    PAYMENT = "payment"
    REWARD = "reward"
    FILING = "filing"
    OTHER_POWER = "other_power"
    PUBLIC_SERVICE = "public_service"

    @property
    def zh(self) -> str:
        return _ITEM_TYPE_INFO[self][0]

    @property
    def abbrev(self) -> str:
        return _ITEM_TYPE_INFO[self][1]


_ITEM_TYPE_INFO = {
    ItemType.LICENSING: ("行政许可", "XK"),
    ItemType.CONFIRMATION: ("行政确认", "QR"),
    ItemType.ADJUDICATION: ("行政裁决", "CJ"),
    ItemType.PAYMENT: ("行政给付", "GF"),
    ItemType.REWARD: ("行政奖励", "JL"),
    ItemType.FILING: ("行政备案", "BA"),
    ItemType.OTHER_POWER: ("其他行政权力", "QT"),
    ItemType.PUBLIC_SERVICE: ("公共服务", "GG"),
}


class Level(Enum):
    """行使层级 relevant to stations, plus central (the 政务服务管理局 node)."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CENTRAL = "central"

    @property
    def zh(self) -> str:
        return {
            "village": "村（社区）",
            "township": "乡镇（街道）",
            "county": "县（市、区）",
            "central": "中心",
        }[self.value]


class HandlingKind(Enum):
    """办件类型: 即办件 (decided the same day), 承诺件, 上报件 (examined here, decided above), 联办件."""

    IMMEDIATE = "immediate"
    PROMISED = "promised"
    REPORTED = "reported"
    JOINT = "joint"

    @property
    def zh(self) -> str:
        return {"immediate": "即办件", "promised": "承诺件", "reported": "上报件", "joint": "联办件"}[
            self.value
        ]


SERVICE_OBJECT_LABELS: dict[str, tuple[str, str]] = {
    "natural_person": ("自然人", "natural persons"),
    "legal_person": ("法人", "legal persons"),
    "other_organisation": ("其他组织", "other organisations"),
}
"""服务对象 (who may apply) codes of the catalog format, with their Chinese and English labels."""


def service_object_label(code: str, locale: str = "zh") -> str:
    """The label of a 服务对象 code in ``locale`` ('zh…' → Chinese, anything else → English); unknown codes as given."""
    labels = SERVICE_OBJECT_LABELS.get(code)
    if labels is None:
        return code
    return labels[0] if locale.lower().startswith("zh") else labels[1]


class MaterialForm(Enum):
    """材料类型: original (核验后退回), copy, or both."""

    ORIGINAL = "original"
    COPY = "copy"
    ORIGINAL_AND_COPY = "original_and_copy"


@dataclass(frozen=True)
class Material:
    """One 申请材料 of an item, with its per-material flags (DOMAIN.md §1.2).

    ``key`` identifies the same material across items, which is how a 一件事 bundle asks for it once.
    """

    key: str
    name_zh: str
    name_en: str
    required: bool = True
    form: MaterialForm = MaterialForm.ORIGINAL_AND_COPY
    copies: int = 1
    deferrable: bool = False  # 可容缺 (✱)
    supply_days: int | None = None  # 容缺 补齐期限 in working days; None = the catalog default
    promise_replaceable: bool = False  # 可告知承诺替代 (☐)
    shareable: bool = False  # 可免提交 via 电子证照 / data sharing (◎)
    note_zh: str = ""


@dataclass(frozen=True)
class SpecialProcedure:
    """特别程序 (听证、检验、鉴定、公示、入户调查…) and whether its time counts toward the item's limit."""

    key: str
    name_zh: str
    name_en: str
    expected_days: int
    calendar_days: bool  # True: natural days (e.g. a 7-day 公示); False: working days
    counts_toward_limit: bool


@dataclass(frozen=True)
class Item:
    """One version of a service item (办理项 level), with every field a station needs offline."""

    code: str
    version: int
    active: bool
    name_zh: str
    name_en: str
    name_initials: str
    item_type: ItemType | None
    receiving_levels: tuple[Level, ...]
    acceptance_level: Level
    decision_level: Level
    handling_kind: HandlingKind
    legal_limit_days: int | None  # 法定办结时限, working days; None where no statute sets one
    promised_limit_days: int  # 承诺办结时限, working days; 0 for 即办件
    extension_days: int  # days one approved 延期 adds; 0 = no extension possible
    fee_fen: int
    service_objects: tuple[str, ...]
    requires_personal_appearance: bool
    publicity_days: int
    publicity_counts_toward_limit: bool
    special_procedures: tuple[SpecialProcedure, ...]
    life_events: tuple[str, ...]
    materials: tuple[Material, ...]
    legal_basis: str = ""
    note_zh: str = ""
    note_en: str = ""

    @property
    def ref(self) -> tuple[str, int]:
        """What a case pins: (item code, version)."""
        return (self.code, self.version)

    @property
    def is_immediate(self) -> bool:
        return self.handling_kind is HandlingKind.IMMEDIATE

    def material(self, key: str) -> Material | None:
        return next((m for m in self.materials if m.key == key), None)


@dataclass(frozen=True)
class MergedMaterial:
    """A material of a 一件事 bundle, asked for once although several member items need it."""

    material: Material
    for_items: tuple[str, ...]


@dataclass(frozen=True)
class Bundle:
    """一件事: several items filed as one application with one merged materials list."""

    code: str
    name_zh: str
    name_en: str
    name_initials: str
    item_codes: tuple[str, ...]
    life_events: tuple[str, ...]


@dataclass(frozen=True)
class LifeEvent:
    """A life event (出生、养老、残疾、身后…) used to browse the catalog."""

    key: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Catalog:
    """A published catalog version: items (all versions), bundles, life events."""

    catalog_version: int
    published: dt.date
    default_supply_days: int
    items: tuple[Item, ...]
    bundles: tuple[Bundle, ...] = ()
    life_events: tuple[LifeEvent, ...] = ()
    _index: dict[tuple[str, int], Item] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({item.ref: item for item in self.items})

    def item(self, code: str, version: int | None = None) -> Item:
        """The item a case pins (code + version), or the newest active version when ``version`` is None.

        Raises:
            UnknownItemError: no such item/version.
        """
        if version is not None:
            found = self._index.get((code, version))
            if found is None:
                raise UnknownItemError(code, version)
            return found
        versions = [i for i in self.items if i.code == code and i.active]
        if not versions:
            raise UnknownItemError(code)
        return max(versions, key=lambda i: i.version)

    def current_items(self) -> list[Item]:
        """The newest active version of every item."""
        newest: dict[str, Item] = {}
        for item in self.items:
            if item.active and (item.code not in newest or item.version > newest[item.code].version):
                newest[item.code] = item
        return sorted(newest.values(), key=lambda i: i.code)

    def bundle(self, code: str) -> Bundle:
        for bundle in self.bundles:
            if bundle.code == code:
                return bundle
        raise UnknownItemError(code)

    def supply_days(self, material: Material) -> int:
        """容缺 补齐期限 for a material: its own, else the catalog default (5 working days)."""
        return material.supply_days if material.supply_days is not None else self.default_supply_days


_FORM_STRENGTH = {MaterialForm.COPY: 0, MaterialForm.ORIGINAL: 1, MaterialForm.ORIGINAL_AND_COPY: 2}


def merge_materials(items: Sequence[Item]) -> list[MergedMaterial]:
    """One materials list for items filed together: a material needed by two items is asked for once.

    The merged flags are the strictest: required if any item requires it; 容缺, 告知承诺 and 免提交 only when
    every item needing it allows that; the shortest supply deadline; the most copies; an original if any needs it.
    """
    order: list[str] = []
    parts: dict[str, list[tuple[str, Material]]] = {}
    for item in items:
        for material in item.materials:
            if material.key not in parts:
                order.append(material.key)
                parts[material.key] = []
            parts[material.key].append((item.code, material))
    merged = []
    for key in order:
        group = [m for _, m in parts[key]]
        first = group[0]
        forms = {m.form for m in group}
        if MaterialForm.COPY in forms and MaterialForm.ORIGINAL in forms:
            form = MaterialForm.ORIGINAL_AND_COPY
        else:
            form = max(forms, key=_FORM_STRENGTH.__getitem__)
        supply = [m.supply_days for m in group if m.supply_days is not None]
        combined = Material(
            key=key,
            name_zh=first.name_zh,
            name_en=first.name_en,
            required=any(m.required for m in group),
            form=form,
            copies=max(m.copies for m in group),
            deferrable=all(m.deferrable for m in group),
            supply_days=min(supply) if supply else None,
            promise_replaceable=all(m.promise_replaceable for m in group),
            shareable=all(m.shareable for m in group),
            note_zh=first.note_zh,
        )
        merged.append(MergedMaterial(combined, tuple(dict.fromkeys(code for code, _ in parts[key]))))
    return merged


def bundle_materials(catalog: Catalog, bundle_code: str) -> list[MergedMaterial]:
    """The merged materials list of a 一件事 bundle."""
    bundle = catalog.bundle(bundle_code)
    return merge_materials([catalog.item(code) for code in bundle.item_codes])


def _fold_query(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


def search_items(catalog: Catalog, query: str, *, life_event: str | None = None) -> list[Item]:
    """Find current items by name (zh/en), pinyin initials, code or life event; best matches first."""
    needle = _fold_query(query)
    scored: list[tuple[int, str, Item]] = []
    for item in catalog.current_items():
        if life_event is not None and life_event not in item.life_events:
            continue
        if not needle:
            scored.append((9, item.code, item))
            continue
        score = _match_score(item, needle, catalog.life_events)
        if score is not None:
            scored.append((score, item.code, item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in scored]


def search_bundles(catalog: Catalog, query: str) -> list[Bundle]:
    """Find 一件事 bundles by code, name (zh/en), pinyin initials or life event."""
    needle = _fold_query(query)
    found = []
    for bundle in catalog.bundles:
        event_names = [
            _fold_query(e.name_zh) + "|" + _fold_query(e.name_en) + "|" + e.key
            for e in catalog.life_events
            if e.key in bundle.life_events
        ]
        haystack = [
            bundle.code.lower(),
            _fold_query(bundle.name_zh),
            bundle.name_initials,
            _fold_query(bundle.name_en),
        ]
        if not needle or any(needle in text for text in haystack + event_names):
            found.append(bundle)
    return found


def _match_score(item: Item, needle: str, events: Iterable[LifeEvent]) -> int | None:
    code = item.code.lower()
    if code == needle:
        return 0
    if code.startswith(needle):
        return 1
    name_zh = _fold_query(item.name_zh)
    if name_zh.startswith(needle) or item.name_initials.startswith(needle):
        return 2
    if needle in name_zh or needle in item.name_initials:
        return 3
    if needle in _fold_query(item.name_en):
        return 4
    for event in events:
        if event.key in item.life_events and (
            needle in _fold_query(event.name_zh)
            or needle in _fold_query(event.name_en)
            or needle == event.key
        ):
            return 5
    return None


# ---------------------------------------------------------------------------------------------------------------
# Loading and validation


def load_catalog(source: str | bytes | dict[str, Any]) -> Catalog:
    """Parse and validate a catalog file (JSON text/bytes or a parsed dict).

    Raises:
        CatalogFormatError: listing every problem with its path (``items[3].materials[1].copies``) and line.
    """
    from casework.catalog_format import read_catalog  # the parser lives apart from the model

    catalog, reader = load_and_read(source, CatalogFormatError, read_catalog)
    if reader.problems or catalog is None:
        raise CatalogFormatError(reader.problems or [FormatProblem("$", message("empty", "空目录", "Empty"))])
    return catalog


def validate_catalog(source: str | bytes | dict[str, Any]) -> list[FormatProblem]:
    """Every problem of a catalog file; an empty list means it is valid."""
    try:
        load_catalog(source)
    except CatalogFormatError as error:
        return list(error.problems)
    return []


@lru_cache(maxsize=1)
def demo_catalog() -> Catalog:
    """The demo catalog of DOMAIN.md §7 (about 26 items, Chinese and English); immutable, loaded once."""
    return load_catalog(resources.files("casework").joinpath("data/demo_catalog.json").read_bytes())
