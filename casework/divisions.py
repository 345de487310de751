"""统计用区划代码 (12 digits) and GB/T 2260 (6 digits); the demo 实施编码 and 办件编号 built on them (DOMAIN.md §1.4,
§4.3). Import these names from :mod:`casework.identifiers`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from casework._codes import DEMO_PROVINCE_CODE, PROVINCE_CODES, normalize_code
from casework._codes import identifier_error as _id_error
from casework.errors import IdentifierError


class DivisionLevel(Enum):
    """Level of a 12-digit statistical division code, read from its zero padding."""

    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class TownshipKind(Enum):
    """乡级 kind by the 3-digit number (GB/T 10114): 街道 / 镇 / 乡 / 政企合一单位."""

    SUBDISTRICT = "subdistrict"  # 001–099 街道
    TOWN = "town"  # 100–199 镇
    TOWNSHIP = "township"  # 200–399 乡
    SPECIAL_UNIT = "special_unit"  # 400–599 农场、林场、园区…
    UNCLASSIFIED = "unclassified"  # 600–999: not assigned by the rule


class VillageKind(Enum):
    """村级 kind by the 3-digit number: 居委会/社区 from 001, 村委会 from 200."""

    RESIDENTS_COMMITTEE = "residents_committee"  # 001–199
    VILLAGE_COMMITTEE = "village_committee"  # 200–399
    SIMILAR_UNIT = "similar_unit"  # 400–599
    UNCLASSIFIED = "unclassified"  # 600–999


@dataclass(frozen=True)
class DivisionCode:
    """A valid 12-digit 统计用区划代码."""

    code: str
    level: DivisionLevel
    is_demo: bool

    @property
    def county_code(self) -> str:
        """The 6-digit GB/T 2260 part."""
        return self.code[:6]

    @property
    def township_kind(self) -> TownshipKind | None:
        if self.level not in (DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE):
            return None
        return township_kind(int(self.code[6:9]))

    @property
    def village_kind(self) -> VillageKind | None:
        if self.level is not DivisionLevel.VILLAGE:
            return None
        return village_kind(int(self.code[9:12]))

    @property
    def parent(self) -> str | None:
        """The code of the enclosing division, padded to 12 digits (None for a province)."""
        keep = {
            DivisionLevel.PROVINCE: 0,
            DivisionLevel.PREFECTURE: 2,
            DivisionLevel.COUNTY: 4,
            DivisionLevel.TOWNSHIP: 6,
            DivisionLevel.VILLAGE: 9,
        }[self.level]
        return None if keep == 0 else self.code[:keep].ljust(12, "0")

    def contains(self, other: DivisionCode) -> bool:
        """True when ``other`` lies inside this division (or is it)."""
        prefix = self.code[: _SIGNIFICANT[self.level]]
        return other.code.startswith(prefix)


_SIGNIFICANT = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.PREFECTURE: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
    DivisionLevel.VILLAGE: 12,
}


def township_kind(number: int) -> TownshipKind:
    """Kind of a 乡级 unit from its 3-digit number (1–999)."""
    if number < 100:
        return TownshipKind.SUBDISTRICT
    if number < 200:
        return TownshipKind.TOWN
    if number < 400:
        return TownshipKind.TOWNSHIP
    if number < 600:
        return TownshipKind.SPECIAL_UNIT
    return TownshipKind.UNCLASSIFIED


def village_kind(number: int) -> VillageKind:
    """Kind of a 村级 unit from its 3-digit number (1–999)."""
    if number < 200:
        return VillageKind.RESIDENTS_COMMITTEE
    if number < 400:
        return VillageKind.VILLAGE_COMMITTEE
    if number < 600:
        return VillageKind.SIMILAR_UNIT
    return VillageKind.UNCLASSIFIED


# 城乡分类代码, carried next to a village code in the statistical tables.
URBAN_RURAL_CODES: dict[str, tuple[str, str]] = {
    "111": ("主城区", "Main urban area"),
    "112": ("城乡结合区", "Urban-rural fringe"),
    "121": ("镇中心区", "Town centre"),
    "122": ("镇乡结合区", "Town-rural fringe"),
    "123": ("特殊区域", "Special area"),
    "210": ("乡中心区", "Township centre"),
    "220": ("村庄", "Village"),
}


def _division_error(raw: str) -> IdentifierError:
    return _id_error(
        "division_code_format",
        "区划代码 {code} 无效：应为 12 位数字，上级为 0 的部分之后不能再有非 0 数字",
        "Division code {code} is invalid: 12 digits, and nothing non-zero may follow an all-zero level",
        code=raw,
    )


def check_division_code(raw: str, *, allow_demo_prefix: bool = True) -> DivisionCode:
    """Validate a 统计用区划代码; a 6-digit GB/T 2260 county code is padded to 12 digits.

    Padding rules: province ``330000000000``, prefecture ``330100000000``, county ``330110000000``, township
    ``330110001000``; a zero level may not be followed by a non-zero one.

    Raises:
        IdentifierError: code ``division_code_format`` or ``division_code_province``.
    """
    code = normalize_code(raw)
    if re.fullmatch(r"\d{6}", code):
        code += "000000"
    if not re.fullmatch(r"\d{12}", code):
        raise _division_error(raw)
    is_demo = code[:2] == DEMO_PROVINCE_CODE
    if code[:2] not in PROVINCE_CODES and not (is_demo and allow_demo_prefix):
        raise _id_error(
            "division_code_province",
            "区划代码前两位 {prefix} 不是有效的省级代码",
            "The first two digits {prefix} of the division code are not a province code",
            prefix=code[:2],
        )
    parts = [code[2:4], code[4:6], code[6:9], code[9:12]]
    nonzero = [int(p) != 0 for p in parts]
    depth = 0
    while depth < 4 and nonzero[depth]:
        depth += 1
    if any(nonzero[depth:]):
        raise _division_error(raw)
    level = [
        DivisionLevel.PROVINCE,
        DivisionLevel.PREFECTURE,
        DivisionLevel.COUNTY,
        DivisionLevel.TOWNSHIP,
        DivisionLevel.VILLAGE,
    ][depth]
    return DivisionCode(code, level, is_demo)


def implementation_code(organ_division_code: str, item_code: str) -> str:
    """实施编码 of the demo scheme (DOMAIN.md §1.4): ``{12-digit division of the organ}-{基本编码}``."""
    return f"{check_division_code(organ_division_code).code}-{item_code}"


def case_number(implementation: str, day: dt.date, station_id: str, seq: int) -> str:
    """办件编号 minted offline: ``{实施编码}-{yyyyMMdd}-{station}-{4-digit daily seq}``."""
    if not re.fullmatch(r"[A-Z0-9]{1,8}", station_id) or not 0 < seq <= 9999:
        raise _id_error(
            "case_number_parts",
            "办件编号的站点代码或序号无效",
            "Invalid station id or sequence for a case number",
        )
    return f"{implementation}-{day:%Y%m%d}-{station_id}-{seq:04d}"
