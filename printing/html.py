"""The browser print view of a document: one self-contained HTML5 page (CSS ``@page`` A4, inline SVG QR codes,
no external resource), filled from the same :class:`~printing.layout.Layout` as the PDF."""

from __future__ import annotations

from pathlib import Path

import jinja2

from .layout import Layout
from .qr import qr_svg
from .text import finalize_html

TEMPLATES = Path(__file__).parent / "templates"

FONT_STACK = (
    '"WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "AR PL UMing CN", "AR PL UMing", "Noto Sans CJK SC", '
    '"Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif'
)

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=finalize_html,
)
_environment.globals["qr_svg"] = qr_svg


def render_layout_html(layout: Layout) -> str:
    """A complete HTML5 document for a composed layout; every value is autoescaped."""
    template = _environment.get_template("document.html")
    blocks = [(type(block).__name__, block) for block in layout.blocks]
    return template.render(layout=layout, blocks=blocks, font_stack=FONT_STACK)
