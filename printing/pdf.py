"""Draw a :class:`~printing.layout.Layout` as an A4 PDF with reportlab, always embedding a CJK TrueType font.

Output is byte-stable (``invariant=1``), so golden tests can compare bytes. Tables repeat their header row on
every page; every page carries the contacts line and "第 x 页 / 共 n 页".
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    LayoutError,
    PageBreak,
    PageTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable

from .errors import DocumentError
from .fonts import FontConfig, cjk_font
from .layout import (
    Block,
    Cell,
    Fields,
    Heading,
    Layout,
    Paragraph,
    Qr,
    QrRow,
    Seal,
    Signatures,
    Table,
)
from .qr import QUIET_ZONE, qr_matrix
from .text import clean_text, pdf_markup

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 22 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
HEADER_QR_SIZE = 30 * mm
CELL_QR_SIZE = 24 * mm
LINE = colors.HexColor("#555555")
SHADE = colors.HexColor("#eeeeee")
RULE = colors.HexColor("#a31515")
TONES = {
    "green": colors.HexColor("#e3f4e1"),
    "yellow": colors.HexColor("#fff4c2"),
    "red": colors.HexColor("#fbd9d6"),
    "grey": colors.HexColor("#e6e6e6"),
}


class QrFlowable(Flowable):
    """A QR code drawn as vector rectangles: crisp at any printer resolution, no image decoding."""

    def __init__(self, payload: str, size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(payload)
        self.width = self.height = size

    def draw(self) -> None:
        modules = len(self.matrix) + 2 * QUIET_ZONE
        unit = self.width / modules
        path = self.canv.beginPath()
        for y, row in enumerate(self.matrix):
            top = self.height - (QUIET_ZONE + y + 1) * unit
            x = 0
            while x < len(row):
                if not row[x]:
                    x += 1
                    continue
                start = x
                while x < len(row) and row[x]:
                    x += 1
                path.rect((QUIET_ZONE + start) * unit, top, (x - start) * unit, unit)
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, fill=1, stroke=0)


class SealFlowable(Flowable):
    """The sign-off: issuing organ, the seal area (a dashed circle where the stamp goes) and the date."""

    def __init__(self, seal: Seal, font: str) -> None:
        super().__init__()
        self.seal = seal
        self.font = font
        self.width = CONTENT_WIDTH
        self.height = 42 * mm

    def draw(self) -> None:
        c = self.canv
        lines = ((self.seal.organ, 12.0), (self.seal.seal_label, 9.5), (self.seal.date_text, 11.0))
        widest = max(c.stringWidth(clean_text(text), self.font, size) for text, size in lines)
        centre = min(self.width - 36 * mm, self.width - widest / 2)
        c.saveState()
        c.setStrokeColor(colors.HexColor("#bbbbbb"))
        c.setDash(2, 2)
        c.circle(centre, self.height / 2, 20 * mm, stroke=1, fill=0)
        c.restoreState()
        y = self.height / 2 + 8 * mm
        for text, size in lines:
            c.setFont(self.font, size)
            c.setFillColor(colors.HexColor("#666666") if size < 10 else colors.black)
            c.drawCentredString(centre, y, clean_text(text))
            y -= 9 * mm


class CopyMarker(Flowable):
    """Zero-size mark at the start of each copy, so page numbers restart per copy (第 1 页 / 共 n 页)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index
        self.width = self.height = 0

    def draw(self) -> None:
        self.canv._yiciban_copy = self.index


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK", alignment=TA_LEFT)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER),
        "title_long": ParagraphStyle("title_long", parent=base, fontSize=16, leading=22, alignment=TA_CENTER),
        "number": ParagraphStyle("number", parent=base, fontSize=10, leading=14, alignment=TA_CENTER),
        "heading": ParagraphStyle(
            "heading", parent=base, fontSize=12.5, leading=19, spaceBefore=6, spaceAfter=2
        ),
        "body": ParagraphStyle("body2", parent=base, spaceBefore=2, spaceAfter=2),
        "indent": ParagraphStyle("indent", parent=base, firstLineIndent=22, spaceBefore=2, spaceAfter=2),
        "notice": ParagraphStyle("notice", parent=base, fontSize=10.5, leading=16),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12, spaceBefore=2),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13),
        "head_cell": ParagraphStyle("head_cell", parent=base, fontSize=9.5, leading=13, alignment=TA_CENTER),
        "caption": ParagraphStyle("caption", parent=base, fontSize=8, leading=10, alignment=TA_CENTER),
    }


class _Renderer:
    def __init__(self, font: str) -> None:
        self.font = font
        self.styles = _styles(font)

    def style(self, commands: list[tuple[Any, ...]]) -> TableStyle:
        """A table style whose string cells also use the embedded font (never reportlab's default Helvetica)."""
        return TableStyle([("FONTNAME", (0, 0), (-1, -1), self.font), *commands])

    def para(self, text: str, style: str) -> RLParagraph:
        return RLParagraph(pdf_markup(text), self.styles[style])

    def qr_with_caption(self, qr: Qr, size: float) -> list[Flowable]:
        parts: list[Flowable] = [QrFlowable(qr.payload, size)]
        if qr.caption:
            parts.append(self.para(qr.caption, "caption"))
        return parts

    def header(self, layout: Layout, copy_label: str = "") -> list[Flowable]:
        title_style = "title" if len(layout.title) <= 12 else "title_long"
        titles: list[Flowable] = [self.para(layout.title, title_style)]
        if layout.doc_number:
            titles.append(self.para(f"{layout.number_label}：{layout.doc_number}", "number"))
        if copy_label:
            titles.append(self.para(f"（{copy_label}）", "number"))
        if layout.header_qr is None:
            return [*titles, Spacer(1, 2 * mm), HRFlowable(width="100%", thickness=1.2, color=RULE)]
        side = HEADER_QR_SIZE + 4 * mm
        table = RLTable(
            [["", titles, self.qr_with_caption(layout.header_qr, HEADER_QR_SIZE)]],
            colWidths=[side, CONTENT_WIDTH - 2 * side, side],
        )
        table.setStyle(
            self.style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("ALIGN", (2, 0), (2, 0), "CENTER"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return [table, Spacer(1, 1 * mm), HRFlowable(width="100%", thickness=1.2, color=RULE)]

    def cell(self, value: Cell, style: str = "cell") -> Any:
        if isinstance(value, Qr):
            return self.qr_with_caption(value, CELL_QR_SIZE)
        return self.para(value, style)

    def fields(self, block: Fields) -> Flowable:
        label_width = 30 * mm if block.columns < 4 else 22 * mm
        value_width = (CONTENT_WIDTH - block.columns * label_width) / block.columns
        rows: list[list[Any]] = []
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, LINE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        for number, pairs in enumerate(block.rows()):
            row: list[Any] = []
            for column, (label, value) in enumerate(pairs):
                row += [self.para(label, "cell"), self.para(value, "cell")]
                if label:
                    commands.append(("BACKGROUND", (2 * column, number), (2 * column, number), SHADE))
            if len(pairs) == 1 and block.columns > 1:
                row += [""] * (2 * block.columns - 2)
                commands.append(("SPAN", (1, number), (-1, number)))
            rows.append(row)
        table = RLTable(
            rows, colWidths=[label_width, value_width] * block.columns, hAlign="LEFT", splitInRow=1
        )
        table.setStyle(self.style(commands))
        return table

    def table(self, block: Table) -> Flowable:
        total = sum(block.widths)
        widths = [CONTENT_WIDTH * w / total for w in block.widths]
        rows: list[list[Any]] = [[self.para(h, "head_cell") for h in block.headers]]
        rows += [[self.cell(value) for value in row] for row in block.rows]
        table = RLTable(rows, colWidths=widths, repeatRows=1, hAlign="LEFT", splitInRow=1)
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, LINE),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ]
        for number, tone in enumerate(block.tones, start=1):
            if tone:
                commands.append(("BACKGROUND", (0, number), (-1, number), TONES[tone]))
        table.setStyle(self.style(commands))
        return table

    def signatures(self, block: Signatures) -> Flowable:
        top = [self.para(f"{label}：{name}", "body") for label, name in block.slots]
        rows: list[list[Any]] = [top]
        if block.with_date:
            rows.append([self.para("日期：　　　　年　　月　　日", "body") for _ in block.slots])
        table = RLTable(rows, colWidths=[CONTENT_WIDTH / len(block.slots)] * len(block.slots), hAlign="LEFT")
        table.setStyle(
            self.style([("TOPPADDING", (0, 0), (-1, 0), 10), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])
        )
        return table

    def notice(self, text: str) -> Flowable:
        table = RLTable([[self.para(text, "notice")]], colWidths=[CONTENT_WIDTH], splitInRow=1)
        table.setStyle(
            self.style(
                [
                    ("BOX", (0, 0), (-1, -1), 1, colors.black),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f7f7f7")),
                    ("TOPPADDING", (0, 0), (-1, -1), 6),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        return table

    def qr_row(self, block: QrRow) -> Flowable:
        cells = [self.qr_with_caption(qr, HEADER_QR_SIZE) for qr in block.codes]
        table = RLTable([cells], colWidths=[HEADER_QR_SIZE + 8 * mm] * len(cells), hAlign="CENTER")
        table.setStyle(self.style([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
        return table

    def block(self, block: Block) -> list[Flowable]:
        if isinstance(block, Heading):
            return [self.para(block.text, "heading")]
        if isinstance(block, Paragraph):
            if block.style == "notice":
                return [Spacer(1, 2 * mm), self.notice(block.text), Spacer(1, 2 * mm)]
            return [self.para(block.text, block.style)]
        if isinstance(block, Fields):
            return [Spacer(1, 2 * mm), self.fields(block), Spacer(1, 2 * mm)]
        if isinstance(block, Table):
            return [Spacer(1, 1 * mm), self.table(block), Spacer(1, 2 * mm)]
        if isinstance(block, Signatures):
            return [self.signatures(block)]
        if isinstance(block, Seal):
            return [SealFlowable(block, self.font)]
        if isinstance(block, QrRow):
            return [self.qr_row(block)]
        raise TypeError(f"unknown block {type(block).__name__}")  # pragma: no cover - Block is closed


def _canvas_maker(font: str, footer: str) -> Any:
    class NumberedCanvas(pdfcanvas.Canvas):
        """Defers each page so the footer can say how many pages there are."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            copy_of_page = [state.get("_yiciban_copy", 0) for state in self._pages]
            for index, state in enumerate(self._pages):
                copy = copy_of_page[index]
                number = copy_of_page[: index + 1].count(copy)
                total = copy_of_page.count(copy)
                self.__dict__.update(state)
                self.setFillColor(colors.HexColor("#444444"))
                if footer:
                    # One line that always fits between the margins: long station names shrink it.
                    size = min(8.0, 8.0 * CONTENT_WIDTH / max(self.stringWidth(footer, font, 8), 1.0))
                    self.setFont(font, size)
                    self.drawCentredString(PAGE_WIDTH / 2, 13 * mm, footer)
                self.setFont(font, 8)
                self.drawCentredString(PAGE_WIDTH / 2, 8 * mm, f"第 {number} 页 / 共 {total} 页")
                super().showPage()
            super().save()

    return NumberedCanvas


def render_layout_pdf(layout: Layout, fonts: FontConfig | None = None) -> bytes:
    """Draw a composed layout as A4 PDF bytes.

    Raises:
        FontMissingError: no embeddable CJK font was found (see :func:`printing.fonts.cjk_font`).
        DocumentError: a value is too long to fit on a page even after splitting.
    """
    font = cjk_font(fonts)
    renderer = _Renderer(font)
    story: list[Flowable] = []
    for index, label in enumerate(layout.copies or ("",)):
        if index:
            story.append(PageBreak())
        story.append(CopyMarker(index))
        copy: list[Flowable] = renderer.header(layout, label)
        for block in layout.blocks:
            flowables = renderer.block(block)
            if isinstance(block, Seal) and copy:
                # The sign-off never stands alone on a page: keep it with what it signs.
                flowables = [KeepTogether([*copy[-3:], *flowables])]
                del copy[-3:]
            copy.extend(flowables)
        story.extend(copy)
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=clean_text(layout.title),
        subject=clean_text(f"{layout.number_label}：{layout.doc_number}"),
        author="yiciban",
        creator="yiciban printing",
        invariant=1,
        initialFontName=font,
        initialFontSize=11,
        initialLeading=17,
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, CONTENT_WIDTH, PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM, id="body")
    template.addPageTemplates([PageTemplate(id="a4", frames=[frame])])
    try:
        template.build(story, canvasmaker=_canvas_maker(font, clean_text(layout.footer)))
    except LayoutError as e:
        raise DocumentError(f"a value is too long to lay out on A4: {str(e)[:120]}") from e
    return buffer.getvalue()
