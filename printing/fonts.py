"""Find and register an embeddable CJK TrueType font: without one no PDF is made (ECOSYSTEM-NOTES.md traps 1, 2).

reportlab's built-in CID font STSong-Light is never used: it is not embedded, so text prints as boxes on a PC
without Chinese fonts. Noto CJK (CFF outlines) cannot be embedded by reportlab and is skipped.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass

from .errors import FontMissingError

DEBIAN_FONT_PACKAGE = "fonts-wqy-microhei"

KNOWN_FONT_FILES: tuple[str, ...] = (
    "wqy/wqy-microhei.ttc",  # fonts-wqy-microhei: Micro Hei, sans
    "arphic/uming.ttc",  # fonts-arphic-uming: a Song face
    "wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "arphic/ukai.ttc",  # fonts-arphic-ukai
)
"""Paths relative to a font folder, in order of preference (Debian layout)."""

DEFAULT_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts/truetype",
    "/usr/local/share/fonts",
)


@dataclass(frozen=True)
class FontConfig:
    """Where to look for the font: a configured file first, then the known files in ``search_dirs``."""

    path: str | None = None
    search_dirs: tuple[str, ...] = DEFAULT_FONT_DIRS


_registered: dict[str, str] = {}
_lock = threading.Lock()


def candidate_paths(config: FontConfig) -> tuple[str, ...]:
    """Every file the search will try, in order."""
    found: list[str] = []
    if config.path:
        found.append(config.path)
    for folder in config.search_dirs:
        for relative in KNOWN_FONT_FILES:
            found.append(os.path.join(folder, relative))
            found.append(os.path.join(folder, os.path.basename(relative)))
    return tuple(dict.fromkeys(found))


def _register(path: str) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = "YicibanCJK-" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:10]
    subfont = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
    pdfmetrics.registerFont(TTFont(name, path, **subfont))
    return name


def cjk_font(config: FontConfig | None = None) -> str:
    """Register (once) and return the reportlab name of the first usable CJK TrueType font.

    Args:
        config: where to look; the Debian font folders when None.

    Returns:
        A font name registered with reportlab; it is always embedded (subset) in the PDF.

    Raises:
        FontMissingError: no usable font was found; the message names the Debian package to install.
    """
    from reportlab.pdfbase.ttfonts import TTFError  # reportlab loads with the first PDF, not with the package

    config = config or FontConfig()
    candidates = candidate_paths(config)
    with _lock:
        for path in candidates:
            if path in _registered:
                return _registered[path]
            if not os.path.isfile(path):
                continue
            try:
                _registered[path] = _register(path)
            except (TTFError, OSError):
                continue  # e.g. CFF outlines (Noto CJK), which reportlab cannot embed
            return _registered[path]
    searched = ((config.path,) if config.path else ()) + config.search_dirs
    raise FontMissingError(searched, DEBIAN_FONT_PACKAGE)
