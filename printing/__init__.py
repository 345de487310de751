"""printing: every document a station hands out, as A4 PDF bytes and as a browser print view.

Plain dataclasses in (:mod:`printing.documents`, :mod:`printing.model`), bytes or HTML out; no knowledge of
the nodes. ID numbers are always masked before they reach paper. PDFs always embed a CJK TrueType font or
raise :class:`FontMissingError` naming the Debian package to install.

Importing the package is light: reportlab (PDF) and segno (QR) load with the first document that needs them, so
a station that only shows screens does not carry them in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import DocumentError, FontMissingError, PrintingError, UnknownDocumentKindError
from .fonts import FontConfig
from .html import render_layout_html
from .layout import Layout
from .masking import mask_id_number, mask_name, mask_phone
from .model import (
    LICENSING_CORRECTION_BASIS,
    LICENSING_EXTENSION_BASIS,
    LICENSING_REJECTION_BASIS,
    LICENSING_SPECIAL_PROCEDURE_BASIS,
    CaseDocument,
    DateToBeConfirmed,
    Issuer,
    ItemRef,
    MaterialLine,
    Person,
)
from .qr import qr_png, qr_svg
from .registry import DOCUMENT_KINDS, DocumentKind, compose, format_doc_number, kind_of


def render(
    document: object, fonts: FontConfig | None = None, *, copies: Sequence[str] | None = None
) -> bytes:
    """A4 PDF bytes of any registered document.

    Args:
        document: an instance of one of the classes in :data:`DOCUMENT_KINDS`.
        fonts: where to find the CJK font; the Debian font folders when None.
        copies: labels of the copies (一式两份, e.g. 申请人联 / 存档联), each on new pages with its own page
            numbers; the kind's default when None; one unlabelled copy when empty.

    Raises:
        UnknownDocumentKindError: not a registered document class.
        DocumentError: the data cannot honestly be printed (e.g. a village station issuing a 受理通知书).
        FontMissingError: no embeddable CJK font; names the Debian package to install.
    """
    from .pdf import render_layout_pdf

    return render_layout_pdf(compose(document, copies), fonts)


def render_html(document: object, *, copies: Sequence[str] | None = None) -> str:
    """The self-contained HTML5 print view of any registered document (same errors as :func:`render` but fonts)."""
    return render_layout_html(compose(document, copies))


__all__ = [
    "DOCUMENT_KINDS",
    "LICENSING_CORRECTION_BASIS",
    "LICENSING_EXTENSION_BASIS",
    "LICENSING_REJECTION_BASIS",
    "LICENSING_SPECIAL_PROCEDURE_BASIS",
    "CaseDocument",
    "DateToBeConfirmed",
    "DocumentError",
    "DocumentKind",
    "FontConfig",
    "FontMissingError",
    "Issuer",
    "ItemRef",
    "Layout",
    "MaterialLine",
    "Person",
    "PrintingError",
    "UnknownDocumentKindError",
    "compose",
    "format_doc_number",
    "kind_of",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "qr_png",
    "qr_svg",
    "render",
    "render_html",
]
