"""Bech32 (BIP-173) as age uses it for ``age1…`` recipients and ``AGE-SECRET-KEY-1…`` identities.

Differences from BIP-173 that age specifies: no 90-character length limit, and the checksum is the original
Bech32 constant (not Bech32m). A string is all lower case or all upper case; the checksum is always computed over
the lower-case form, so ``AGE-SECRET-KEY-1…`` checks the same way as its lower-case spelling.
"""

from __future__ import annotations

from .errors import Bech32Error

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LENGTH = 6


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate(_GENERATOR):
            if (top >> i) & 1:
                checksum ^= generator
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int]) -> list[int]:
    polymod = _polymod(_expand_hrp(hrp) + data + [0] * _CHECKSUM_LENGTH) ^ 1
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        raise Bech32Error("non-zero or excess padding bits")
    return out


def _check_hrp(hrp: str) -> None:
    if not hrp or any(not 33 <= ord(c) <= 126 for c in hrp):
        raise Bech32Error("human-readable part is empty or has characters outside 33..126")


def encode(hrp: str, payload: bytes) -> str:
    """Encode ``payload`` under ``hrp``; an upper-case ``hrp`` yields an all-upper-case string.

    Raises:
        Bech32Error: the human-readable part is empty, mixed case or not printable ASCII.
    """
    _check_hrp(hrp)
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise Bech32Error("human-readable part is mixed case")
    lower_hrp = hrp.lower()
    data = _convert_bits(payload, 8, 5, pad=True)
    text = lower_hrp + "1" + "".join(CHARSET[d] for d in data + _create_checksum(lower_hrp, data))
    return text.upper() if hrp.upper() == hrp and hrp.lower() != hrp else text


def decode(text: str) -> tuple[str, bytes]:
    """Return ``(hrp, payload)``; the hrp keeps the case the string was written in.

    Raises:
        Bech32Error: mixed case, bad characters, missing separator, bad checksum or bad padding.
    """
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed-case Bech32 string")
    separator = text.rfind("1")
    if separator < 1 or separator + 1 + _CHECKSUM_LENGTH > len(text):
        raise Bech32Error("missing separator or too short")
    hrp = text[:separator]
    _check_hrp(hrp)
    lower = text.lower()
    data: list[int] = []
    for c in lower[separator + 1 :]:
        if c not in _CHARSET_INDEX:
            raise Bech32Error("character outside the Bech32 alphabet")
        data.append(_CHARSET_INDEX[c])
    if _polymod(_expand_hrp(lower[:separator]) + data) != 1:
        raise Bech32Error("Bech32 checksum mismatch")
    return hrp, bytes(_convert_bits(data[:-_CHECKSUM_LENGTH], 5, 8, pad=False))
