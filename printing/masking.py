"""Masking of personal data before it reaches paper: no raw ID number can be printed.

Every document field that holds an ID number accepts either the raw number or an already masked one; the
renderers always pass it through :func:`mask_id_number`, which is idempotent, so a raw number never leaks.
"""

from __future__ import annotations

MASK = "*"


def mask_id_number(value: str) -> str:
    """Mask an ID number (身份证号码 or other 证件号码) to the first 4 and last 4 characters.

    ``330110198503121236`` becomes ``3301**********1236``. Values of 8 characters or fewer keep only the last
    character visible; an already masked value comes back unchanged.

    Args:
        value: raw or masked ID number; surrounding spaces are ignored and a lowercase ``x`` is uppercased.

    Returns:
        The masked number, or ``""`` for an empty value.
    """
    text = "".join(value.split()).upper()
    if not text:
        return ""
    if len(text) <= 8:
        return MASK * (len(text) - 1) + text[-1]
    return text[:4] + MASK * (len(text) - 8) + text[-4:]


def mask_phone(value: str) -> str:
    """Mask a mobile number's middle four digits (``13800138000`` → ``138****8000``); other numbers unchanged.

    Office numbers (咨询电话, 12345) are public and must not go through this function.
    """
    text = "".join(value.split())
    if text.startswith("+86"):
        text = text[3:]
    if len(text) == 11 and text.isdigit() and text.startswith("1"):
        return text[:3] + MASK * 4 + text[7:]
    return text


def mask_name(value: str) -> str:
    """Mask a personal name for lists others may see (张晓明 → 张*明, 李四 → 李*).

    Used on the handover manifest and custody labels, which pass through several hands.
    """
    text = value.strip()
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + MASK
    return text[0] + MASK * (len(text) - 2) + text[-1]
