"""Escape user text for reportlab's paragraph mini-markup, so a name like ``A&B <x>`` prints literally."""

from __future__ import annotations

from xml.sax.saxutils import escape as _xml_escape

IDEOGRAPHIC_SPACE = "\u3000"
NBSP = "\u00a0"
CHECKBOX = "\u25a1"
CHECKBOX_MARKUP = '<font size="+4">\u25a1</font>'


def escape(text: str) -> str:
    """Escape markup; keep ideographic spaces (room to fill in, e.g. "　　年　　月") from collapsing."""
    escaped = _xml_escape(text).replace(IDEOGRAPHIC_SPACE, NBSP * 4).replace("\n", "<br/>")
    # The CJK fonts draw U+25A1 at half size: enlarge it so a tick box can be ticked by hand.
    return escaped.replace(CHECKBOX, CHECKBOX_MARKUP)
