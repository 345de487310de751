"""Text hygiene for both renderers: user data may hold control characters or broken Unicode, paper may not.

:func:`clean_text` is applied to every value either renderer prints; :func:`pdf_markup` then escapes it for
reportlab's paragraph mini-markup, so a name like ``A&B <x>`` prints literally.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape as _xml_escape

IDEOGRAPHIC_SPACE = "\u3000"
NBSP = "\u00a0"
CHECKBOX = "\u25a1"
CHECKBOX_MARKUP = '<font size="+4">\u25a1</font>'
REPLACEMENT = "\ufffd"

# C0 and C1 controls except newline, DEL, Unicode noncharacters, and lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Drop control characters and noncharacters; replace lone surrogates with U+FFFD; tabs become spaces."""
    text = text.replace("\t", " ")
    return _SURROGATE.sub(REPLACEMENT, _UNPRINTABLE.sub("", text))


def pdf_markup(text: str) -> str:
    """Cleaned, escaped paragraph markup; ideographic spaces (room to fill in, "　　年　　月") do not collapse."""
    escaped = _xml_escape(clean_text(text)).replace(IDEOGRAPHIC_SPACE, NBSP * 4).replace("\n", "<br/>")
    # The CJK fonts draw U+25A1 at half size: enlarge it so a tick box can be ticked by hand.
    return escaped.replace(CHECKBOX, CHECKBOX_MARKUP)


def finalize_html(value: object) -> object:
    """jinja2 ``finalize``: clean every printed string; already-safe markup (the QR SVG) passes unchanged."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return clean_text(value)
    return value
