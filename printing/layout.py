"""A small page model both renderers walk, so the PDF and the print view say exactly the same thing.

A document is composed once into a :class:`Layout` (title, number, header QR, a list of blocks); ``pdf.py``
draws it with reportlab and ``html.py`` fills a jinja2 template with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Qr:
    """A QR code with its content (supplied by the caller) and an optional caption under it."""

    payload: str
    caption: str = ""


Cell = str | Qr


@dataclass(frozen=True)
class Heading:
    """A section heading inside the document, e.g. 一、申请材料."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``notice`` is boxed, ``small`` is for footnotes and legends."""

    text: str
    style: Literal["body", "notice", "small", "indent"] = "body"


@dataclass(frozen=True)
class Fields:
    """Label/value pairs laid out in ``columns`` pairs per row; labels in ``wide`` take a whole row."""

    pairs: tuple[tuple[str, str], ...]
    columns: int = 2
    wide: tuple[str, ...] = ()

    def rows(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """Rows of pairs: full rows of ``columns`` pairs (padded), or a single wide pair."""
        rows: list[tuple[tuple[str, str], ...]] = []
        pending: list[tuple[str, str]] = []

        def flush() -> None:
            if pending:
                rows.append(tuple(pending + [("", "")] * (self.columns - len(pending))))
                pending.clear()

        for pair in self.pairs:
            if pair[0] in self.wide:
                flush()
                rows.append((pair,))
                continue
            pending.append(pair)
            if len(pending) == self.columns:
                flush()
        flush()
        return tuple(rows)


Tone = Literal["", "green", "yellow", "red", "grey"]


@dataclass(frozen=True)
class Table:
    """A ruled table; the header row repeats on every page; ``widths`` are relative; ``tones`` tint rows."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    widths: tuple[float, ...]
    tones: tuple[Tone, ...] = ()

    def __post_init__(self) -> None:
        if len(self.headers) != len(self.widths):
            raise ValueError("one width per column")
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError("every row needs one cell per column")
        if self.tones and len(self.tones) != len(self.rows):
            raise ValueError("one tone per row")


@dataclass(frozen=True)
class Signatures:
    """Places to sign by hand: (label, pre-printed name or "") per slot, each followed by a date line."""

    slots: tuple[tuple[str, str], ...]
    with_date: bool = True


@dataclass(frozen=True)
class Seal:
    """The issuer's sign-off: organ name, the seal area label and the date, right-aligned."""

    organ: str
    seal_label: str
    date_text: str


@dataclass(frozen=True)
class QrRow:
    """One or more QR codes side by side inside the body (e.g. the 好差评 invitation)."""

    codes: tuple[Qr, ...]


Block = Heading | Paragraph | Fields | Table | Signatures | Seal | QrRow


@dataclass(frozen=True)
class Layout:
    """A composed document: what both renderers draw."""

    kind: str
    title: str
    doc_number: str
    blocks: tuple[Block, ...]
    header_qr: Qr | None = None
    number_label: str = "文书编号"
    footer: str = ""
    """Printed at the bottom of every page (contacts, 办件编号)."""
    copies: tuple[str, ...] = ()
    """一式两份: the labels of the copies to print, each starting on a new page (e.g. 申请人联, 存档联);
    one unlabelled copy when empty."""
