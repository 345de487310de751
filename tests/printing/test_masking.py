"""Masking rules: first 4 / last 4 of an ID number, idempotent; mobile middle four; names for shared lists."""

from __future__ import annotations

import pytest

from printing import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("330110198503121236", "3301**********1236"),
        ("11010519491231002x", "1101**********002X"),
        (" 330110 198503121236 ", "3301**********1236"),
        ("330110850312123", "3301*******2123"),
        ("91330110MA2H3K7Q4H", "9133**********7Q4H"),
        ("3301**********1236", "3301**********1236"),
        ("E12345678", "E123*5678"),
        ("12345678", "*******8"),
        ("", ""),
    ],
)
def test_id_numbers_keep_only_first_and_last_four(raw: str, masked: str):
    assert mask_id_number(raw) == masked
    assert mask_id_number(mask_id_number(raw)) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13800138000", "138****8000"),
        ("+86 138 0013 8000", "138****8000"),
        ("0579-86120000", "0579-86120000"),
        ("138****8000", "138****8000"),
    ],
)
def test_mobile_numbers_hide_the_middle_four(raw: str, masked: str):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("张晓明", "张*明"), ("李四", "李*"), ("欧阳娜娜", "欧**娜"), ("王", "王"), ("", "")],
)
def test_names_on_shared_lists_are_masked(raw: str, masked: str):
    assert mask_name(raw) == masked
