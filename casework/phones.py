"""Phone numbers: mobile, landline (+ extension) and office hotlines; normalisation and masking (DOMAIN.md §4.4).
Import these names from :mod:`casework.identifiers`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from casework._codes import identifier_error as _id_error
from casework.errors import IdentifierError, Message


def mask_phone(number: str) -> str:
    """Screen/print form of a phone number: ``138****8000``; landlines keep area code and last 4."""
    digits = number.replace("-", "")
    if len(digits) < 7:
        return number
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


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
