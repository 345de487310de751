"""QR codes (segno) for content the caller supplies: a module matrix for the PDF, PNG bytes, inline SVG.

The content is normally a signed payload from ``sync_protocol.receipts``; printing never builds or checks it.
Error correction level M keeps a ~300-character payload at version 11–13, which prints legibly at 30 mm.
Encoding costs ~30 ms a code (segno evaluates all eight masks), so the matrix and SVG of recent contents are
cached: the copies of a two-part print and a re-print reuse them.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from .errors import DocumentError

if TYPE_CHECKING:
    import segno

ERROR_LEVEL = "m"
QUIET_ZONE = 4
"""Modules of white border the QR specification asks for."""


def make_qr(content: str) -> segno.QRCode:
    """A (never micro) QR code for ``content``; the error level may be boosted when it costs no size.

    Raises:
        DocumentError: the content is empty, too long for a QR code, or not encodable text.
    """
    import segno  # loaded with the first code, not with the package

    if not content:
        raise DocumentError("a QR code needs content")
    try:
        return segno.make_qr(content, error=ERROR_LEVEL)
    except (segno.DataOverflowError, UnicodeError, ValueError) as e:
        raise DocumentError(f"the QR content cannot be encoded ({len(content)} characters): {e}") from e


@functools.lru_cache(maxsize=256)
def qr_matrix(content: str) -> tuple[tuple[bool, ...], ...]:
    """Dark (True) and light modules, without the quiet zone, row by row."""
    return tuple(tuple(bool(v) for v in row) for row in make_qr(content).matrix)


def qr_png(content: str, scale: int = 8) -> bytes:
    """PNG bytes of the code with its quiet zone, ``scale`` pixels per module."""
    buffer = io.BytesIO()
    make_qr(content).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


@functools.lru_cache(maxsize=256)
def qr_svg(content: str, size_mm: float = 30.0) -> str:
    """An inline ``<svg>`` element (no XML declaration, no external reference) ``size_mm`` wide, quiet zone included."""
    code = make_qr(content)
    modules = code.symbol_size(border=QUIET_ZONE)[0]
    return str(code.svg_inline(scale=size_mm / modules, unit="mm", border=QUIET_ZONE))
