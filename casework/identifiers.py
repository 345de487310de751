"""Identifiers of people, organisations and places: validation, normalisation and masking (DOMAIN.md §4).

``check_*`` functions take raw input, normalise it and return a parsed value or raise :class:`IdentifierError`
with a bilingual message; ``*_problem`` variants return the message (or None) for form validation, because a
user's typing mistake is a form message, not an exception. Division codes live in :mod:`casework.divisions` and
phone numbers in :mod:`casework.phones`; both are re-exported here so callers import from one place.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from casework._codes import DEMO_PROVINCE_CODE, PROVINCE_CODES, normalize_code, normalize_text
from casework._codes import identifier_error as _id_error
from casework.divisions import (
    URBAN_RURAL_CODES,
    DivisionCode,
    DivisionLevel,
    TownshipKind,
    VillageKind,
    case_number,
    check_division_code,
    implementation_code,
    township_kind,
    village_kind,
)
from casework.errors import IdentifierError, Message
from casework.phones import PhoneKind, PhoneNumber, check_phone, mask_phone, phone_problem

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


def mask_name(name: str) -> str:
    """Name for public lists where only the surname may show: ``张*``, ``欧阳**``-style for long names."""
    name = normalize_text(name)
    if len(name) <= 1:
        return name
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


# 证件类型 (GA/T 2000.156 codes as referenced by GB/T 39046-2020; numbers [M], verify before quoting).
ID_DOCUMENT_TYPES: dict[str, tuple[str, str]] = {
    "111": ("居民身份证", "Resident identity card"),
    "113": ("户口簿", "Household register"),
    "414": ("普通护照", "Passport"),
    "990": ("其他", "Other"),
}


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


# Registration authority + category prefixes seen in practice (DOMAIN.md §4.2, [M]); unknown ones are accepted.
CREDIT_CODE_PREFIXES: dict[str, tuple[str, str]] = {
    "11": ("机关", "Government organ"),
    "12": ("事业单位", "Public institution"),
    "13": ("群团组织（编办管理）", "Mass organisation"),
    "51": ("社会团体", "Social organisation"),
    "52": ("民办非企业单位", "Private non-enterprise unit"),
    "53": ("基金会", "Foundation"),
    "54": ("村（居）民委员会等（民政）", "Village/residents' committee and similar (civil affairs)"),
    "91": ("企业", "Enterprise"),
    "92": ("个体工商户", "Individual business"),
    "93": ("农民专业合作社", "Farmers' cooperative"),
    "N1": ("组级集体经济组织", "Group-level collective economic organisation"),
    "N2": ("村级集体经济组织", "Village-level collective economic organisation"),
    "N3": ("乡镇级集体经济组织", "Township-level collective economic organisation"),
    "Y1": ("其他", "Other"),
}


def credit_code_kind(code: CreditCode) -> tuple[str, str] | None:
    """What the first two characters say (zh, en), or None for a prefix we do not know."""
    return CREDIT_CODE_PREFIXES.get(code.code[:2])


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


__all__ = [
    "CREDIT_CODE_PREFIXES", "DEMO_PROVINCE_CODE", "ID_DOCUMENT_TYPES", "PROVINCE_CODES", "URBAN_RURAL_CODES",
    "CitizenId", "CreditCode", "DivisionCode", "DivisionLevel", "Gender", "PhoneKind", "PhoneNumber", "TownshipKind",
    "VillageKind", "case_number", "check_citizen_id", "check_credit_code", "check_division_code", "check_phone",
    "citizen_id_check_char", "citizen_id_problem", "credit_code_check_char", "credit_code_kind",
    "credit_code_problem", "implementation_code", "mask_id_number", "mask_name", "mask_phone", "normalize_code",
    "normalize_text", "organisation_code_check_char", "phone_problem", "township_kind", "upgrade_citizen_id_15",
    "village_kind",
]  # fmt: skip
