"""Helpers shared by the identifier modules: normalisation of typed codes, province prefixes, error building."""

from __future__ import annotations

import re
import unicodedata

from casework.errors import IdentifierError, message

# GB/T 2260 provinces (2-digit prefixes), including 台湾 71 and 香港/澳门 81/82 which appear on residence permits.
PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
     "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)  # fmt: skip
# Invented places in demo data use this prefix so they can never be mistaken for real ones (DOMAIN.md §4.3).
DEMO_PROVINCE_CODE = "99"


def normalize_text(value: str) -> str:
    """NFC and trimmed: the form every name, address and note is stored in."""
    return unicodedata.normalize("NFC", value).strip()


def normalize_code(value: str) -> str:
    """Full-width digits/letters to ASCII, upper-case, no spaces or dashes: how codes are typed in."""
    folded = unicodedata.normalize("NFKC", value).upper()
    return re.sub(r"[\s\-\u2010-\u2015\u00b7_]", "", folded)


def identifier_error(error_code: str, zh: str, en: str, /, **params: object) -> IdentifierError:
    return IdentifierError(message(error_code, zh, en, **params))
