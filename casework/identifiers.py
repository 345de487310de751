"""Identifiers of people, organisations and places: validation, normalisation and masking (DOMAIN.md §4).

``check_*`` functions take raw input, normalise it and return a parsed value or raise :class:`IdentifierError`
with a bilingual message; ``*_problem`` variants return the message (or None) for form validation, because a
user's typing mistake is a form message, not an exception.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from casework.errors import IdentifierError, Message, message

# GB/T 2260 provinces (2-digit prefixes), including 台湾 71 and 香港/澳门 81/82 which appear on residence permits.
PROVINCE_CODES: frozenset[str] = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
# Invented places in demo data use this prefix so they can never be mistaken for real ones (DOMAIN.md §4.3).
DEMO_PROVINCE_CODE = "99"


def normalize_text(value: str) -> str:
    """NFC and trimmed: the form every name, address and note is stored in."""
    return unicodedata.normalize("NFC", value).strip()


def normalize_code(value: str) -> str:
    """Full-width digits/letters to ASCII, upper-case, no spaces or dashes: how codes are typed in."""
    folded = unicodedata.normalize("NFKC", value).upper()
    return re.sub(r"[\s\-\u2010-\u2015\u00b7_]", "", folded)


# ---------------------------------------------------------------------------------------------------------------
# 居民身份证号码 (GB 11643-1999)

_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_ID_CHECK = "10X98765432"


class Gender(Enum):
    """Gender as GB/T 2261.1 codes it."""

    UNKNOWN = 0
    MALE = 1
    FEMALE = 2
    UNSTATED = 9

    @property
    def zh(self) -> str:
        return {0: "未知", 1: "男", 2: "女", 9: "未说明"}[self.value]


@dataclass(frozen=True)
class CitizenId:
    """A valid 18-digit 居民身份证号码 and what it says."""

    number: str
    region_code: str
    birth_date: dt.date
    gender: Gender
    upgraded_from: str | None = None

    @property
    def province_code(self) -> str:
        return self.number[:2]

    @property
    def masked(self) -> str:
        return mask_id_number(self.number)


def citizen_id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def _id_error(error_code: str, zh: str, en: str, /, **params: object) -> IdentifierError:
    return IdentifierError(message(error_code, zh, en, **params))


def upgrade_citizen_id_15(number15: str) -> str:
    """Upgrade a legacy 15-digit number: insert the century '19' and append the check character."""
    if not re.fullmatch(r"\d{15}", number15):
        raise _id_error(
            "id_number_format",
            "身份证号码格式不正确（15 位旧号码应全为数字）",
            "A 15-digit ID number must be all digits",
        )
    body = number15[:6] + "19" + number15[6:]
    return body + citizen_id_check_char(body)


def check_citizen_id(raw: str, *, today: dt.date, allow_demo_prefix: bool = False) -> CitizenId:
    """Validate a 身份证号码 (18 digits, or a legacy 15 upgraded to 18).

    Args:
        raw: as typed: full-width digits, lower-case x, spaces and dashes are accepted.
        today: the birth date may not be after it.
        allow_demo_prefix: accept the fictitious province ``99`` used by demo data.

    Raises:
        IdentifierError: code ``id_number_format``, ``id_number_province``, ``id_number_birth_date``,
            ``id_number_future_birth`` or ``id_number_check_digit``.
    """
    folded = normalize_code(raw)
    upgraded_from = None
    if len(folded) == 15 and folded.isdigit():
        upgraded_from = folded
        folded = upgrade_citizen_id_15(folded)
    if not re.fullmatch(r"\d{17}[\dX]", folded):
        raise _id_error(
            "id_number_format",
            "身份证号码应为 18 位（前 17 位为数字，最后一位为数字或 X）",
            "An ID number has 18 characters: 17 digits and a final digit or X",
        )
    provinces = PROVINCE_CODES | ({DEMO_PROVINCE_CODE} if allow_demo_prefix else frozenset())
    if folded[:2] not in provinces:
        raise _id_error(
            "id_number_province",
            "身份证号码前两位 {prefix} 不是有效的省级行政区划代码",
            "The first two digits {prefix} of the ID number are not a province code",
            prefix=folded[:2],
        )
    try:
        birth = dt.date(int(folded[6:10]), int(folded[10:12]), int(folded[12:14]))
    except ValueError:
        raise _id_error(
            "id_number_birth_date",
            "身份证号码中的出生日期 {digits} 不是真实日期",
            "The birth date {digits} in the ID number is not a real date",
            digits=folded[6:14],
        ) from None
    if birth > today or birth.year < 1880:
        raise _id_error(
            "id_number_future_birth",
            "身份证号码中的出生日期 {date} 不可能（晚于今天或过早）",
            "The birth date {date} in the ID number is impossible (after today or too early)",
            date=birth.isoformat(),
        )
    if citizen_id_check_char(folded[:17]) != folded[17]:
        raise _id_error(
            "id_number_check_digit",
            "身份证号码校验位不符，请核对是否有输错或颠倒的数字",
            "The ID number's check digit does not match: a digit is mistyped or two are swapped",
        )
    gender = Gender.MALE if int(folded[16]) % 2 == 1 else Gender.FEMALE
    return CitizenId(folded, folded[:6], birth, gender, upgraded_from)


def citizen_id_problem(raw: str, *, today: dt.date, allow_demo_prefix: bool = False) -> Message | None:
    """The form message for a 身份证号码, or None when it is valid."""
    try:
        check_citizen_id(raw, today=today, allow_demo_prefix=allow_demo_prefix)
    except IdentifierError as error:
        return error.message
    return None


def mask_id_number(number: str) -> str:
    """Screen/print form of an ID or credit code: first 4 and last 4 kept (``3301**********1236``)."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(number: str) -> str:
    """Screen/print form of a phone number: ``138****8000``; landlines keep area code and last 4."""
    digits = number.replace("-", "")
    if len(digits) < 7:
        return number
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """Name for public lists where only the surname may show: ``张*``, ``欧阳**``-style for long names."""
    name = normalize_text(name)
    if len(name) <= 1:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


# ---------------------------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) with the inner 组织机构代码 (GB 11714)

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters, no I O S V Z
_CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_CREDIT_RE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")


@dataclass(frozen=True)
class CreditCode:
    """A valid 统一社会信用代码 and its parts."""

    code: str

    @property
    def registration_authority(self) -> str:
        return self.code[0]

    @property
    def organisation_category(self) -> str:
        return self.code[1]

    @property
    def division_code(self) -> str:
        return self.code[2:8]

    @property
    def organisation_code(self) -> str:
        return self.code[8:17]


def credit_code_check_char(body17: str) -> str:
    """GB 32100 check character (position 18) for the first 17 characters."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(body17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def organisation_code_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character 组织机构代码 body (``D2143569`` → ``X``)."""

    def value(ch: str) -> int:
        return int(ch) if ch.isdigit() else ord(ch) - 55

    c = 11 - sum(value(ch) * w for ch, w in zip(body8, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def check_credit_code(raw: str) -> CreditCode:
    """Validate a 统一社会信用代码: structure, inner 组织机构代码 check and the final check character.

    Unknown registration-authority prefixes are accepted on purpose (DOMAIN.md §4.2).

    Raises:
        IdentifierError: code ``credit_code_format``, ``credit_code_org_check`` or ``credit_code_check_char``.
    """
    code = normalize_code(raw)
    if not _CREDIT_RE.fullmatch(code):
        raise _id_error(
            "credit_code_format",
            "统一社会信用代码应为 18 位（数字及大写字母，不含 I、O、S、V、Z）",
            "A unified social credit code has 18 characters (digits and capitals, never I, O, S, V or Z)",
        )
    if organisation_code_check_char(code[8:16]) != code[16]:
        raise _id_error(
            "credit_code_org_check",
            "统一社会信用代码第 9–17 位（组织机构代码）校验不符",
            "Characters 9–17 (the organisation code) fail their check",
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise _id_error(
            "credit_code_check_char",
            "统一社会信用代码校验位不符，请核对",
            "The credit code's check character does not match; please re-check it",
        )
    return CreditCode(code)


def credit_code_problem(raw: str) -> Message | None:
    """The form message for a 统一社会信用代码, or None when it is valid."""
    try:
        check_credit_code(raw)
    except IdentifierError as error:
        return error.message
    return None


# ---------------------------------------------------------------------------------------------------------------
# 统计用区划代码 (12 digits) and GB/T 2260 (6 digits)


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


# ---------------------------------------------------------------------------------------------------------------
# Phone numbers


class PhoneKind(Enum):
    """What a phone number is."""

    MOBILE = "mobile"
    LANDLINE = "landline"
    HOTLINE = "hotline"  # 12345-style service numbers: an office contact, never an applicant's


@dataclass(frozen=True)
class PhoneNumber:
    """A valid phone number in stored form (``13800138000``, ``0571-88886666``, ``12345``)."""

    number: str
    kind: PhoneKind
    extension: str | None = None

    @property
    def masked(self) -> str:
        return mask_phone(self.number)


_HOTLINE_RE = re.compile(r"(?:1\d{4}|9[56]\d{3}|[48]00\d{7}|11[0-9]|12[0-2])")


def check_phone(raw: str, *, office: bool = False) -> PhoneNumber:
    """Validate a phone number: mobile ``1[3-9]xxxxxxxxx``, landline ``0xx(x)-xxxxxxx(x)`` (+ extension).

    ``+86``/``0086``, spaces, dashes, brackets and full-width digits are accepted on input. Service hotlines
    (12345…) are accepted only when ``office`` is true: they are contacts of offices, not of applicants.

    Raises:
        IdentifierError: code ``phone_format`` or ``phone_hotline_not_personal``.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    extension = None
    ext_match = re.search(r"(?:转|ext\.?|x|#)\s*(\d{1,6})$", text, flags=re.IGNORECASE)
    if ext_match:
        extension = ext_match.group(1)
        text = text[: ext_match.start()]
    digits = re.sub(r"[\s\-()（）.]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
        if not re.fullmatch(r"1[3-9]\d{9}", digits):
            digits = "0" + digits
    elif digits.startswith("0086"):
        digits = digits[4:]
        if not re.fullmatch(r"1[3-9]\d{9}", digits):
            digits = "0" + digits
    if extension is None and re.fullmatch(r"1[3-9]\d{9}", digits):
        return PhoneNumber(digits, PhoneKind.MOBILE)
    if re.fullmatch(r"0\d{9,11}", digits):
        area_len = 3 if digits[1] in "12" else 4
        local = digits[area_len:]
        if 7 <= len(local) <= 8:
            return PhoneNumber(f"{digits[:area_len]}-{local}", PhoneKind.LANDLINE, extension)
    if extension is None and _HOTLINE_RE.fullmatch(digits):
        if not office:
            raise _id_error(
                "phone_hotline_not_personal",
                "{number} 是服务热线，只能作为机关的联系电话，不能作为申请人电话",
                "{number} is a service hotline: it can be an office's contact number, not an applicant's",
                number=digits,
            )
        return PhoneNumber(digits, PhoneKind.HOTLINE)
    raise _id_error(
        "phone_format",
        "电话号码 {number} 格式不正确：手机号为 11 位（1 开头），固定电话为区号加 7–8 位号码",
        "Phone number {number} is invalid: a mobile has 11 digits starting with 1; a landline is an area code "
        "plus 7–8 digits",
        number=raw.strip(),
    )


def phone_problem(raw: str, *, office: bool = False) -> Message | None:
    """The form message for a phone number, or None when it is valid."""
    try:
        check_phone(raw, office=office)
    except IdentifierError as error:
        return error.message
    return None
