"""Every failure printing can produce.

Tree::

    PrintingError                  base; ``reason`` is a stable lower_snake_case code
    ├── FontMissingError           no embeddable CJK TrueType font found; names the Debian package to install
    ├── DocumentError              document data that cannot honestly be printed (e.g. a village "受理通知书")
    └── UnknownDocumentKindError   a document type that is not in the registry
"""

from __future__ import annotations


class PrintingError(Exception):
    """Base of every error raised by printing."""

    reason = "printing_error"

    def __init__(self, message: str = "") -> None:
        self.message = message or (self.__class__.__doc__ or self.reason)
        super().__init__(self.message)


class FontMissingError(PrintingError):
    """No embeddable CJK TrueType font was found, so no PDF can be made."""

    reason = "font_missing"

    def __init__(self, searched: tuple[str, ...], package: str = "fonts-wqy-microhei") -> None:
        self.searched = searched
        self.package = package
        super().__init__(
            "no embeddable Chinese TrueType font found (looked in: "
            + (", ".join(searched) or "nothing")
            + f"); install the Debian package `{package}` (apt-get install {package}) "
            "or configure a .ttf/.ttc path. The browser print view still works without it."
        )


class DocumentError(PrintingError):
    """The document data cannot be printed as given."""

    reason = "document_invalid"


class UnknownDocumentKindError(PrintingError):
    """The document type is not in the registry of printable kinds."""

    reason = "unknown_document_kind"
