"""Charts for the report pages (报表图表) as self-contained SVG text: plain data in, SVG out.

No external resource (no font file, no script, no stylesheet link), every label escaped, and the same data
always gives the same bytes, so a page can be cached and a test can compare output. Sizes are chosen to read on
an old 1024×768 screen (640 px wide by default) and the ``viewBox`` lets a phone scale the chart down.

Three shapes: :func:`bar_chart` (grouped vertical bars), :func:`line_chart` (a trend over ordered categories such
as months) and :func:`stacked_bar_chart` (horizontal stacked bars, one row per category — lights by station).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from xml.sax.saxutils import escape, quoteattr

from .text import clean_text

Number = int | float | Fraction

FONT_STACK = (
    '"WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "AR PL UMing CN", "Noto Sans CJK SC", '
    '"Microsoft YaHei", "SimSun", sans-serif'
)
# Colours readable on a cheap monitor and distinct for the common colour-vision deficiencies.
PALETTE = ("#1f5fa8", "#e07b00", "#2e7d32", "#8e24aa", "#6d4c41", "#00838f")
LIGHT_COLOURS = {"green": "#2e7d32", "yellow": "#f2b600", "red": "#c62828", "grey": "#8a8a8a"}

DEFAULT_WIDTH = 640
FONT_SIZE = 13
TITLE_SIZE = 15


@dataclass(frozen=True)
class Series:
    """One named sequence of values, aligned with the chart's categories."""

    label: str
    values: tuple[Number, ...]
    colour: str = ""


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = DEFAULT_WIDTH,
    height: int = 320,
    empty_text: str = "No data",
) -> str:
    """Grouped vertical bars: one group per category, one bar per series.

    Args:
        title: shown above the chart and used as the accessible name.
        categories: the x-axis labels, in order.
        series: values aligned with ``categories`` (missing values count as 0).
        empty_text: what to show when every value is 0 or there are no categories.

    Raises:
        ValueError: when a series has more values than there are categories, or a value is negative.
    """
    _check(categories, series)
    canvas = _Canvas(width, height, title)
    top, bottom, left, right = 66, height - 46, 52, width - 16
    peak = _peak(series)
    if not categories or peak == 0:
        return canvas.empty(empty_text)
    canvas.legend(series, 44)
    scale_max, ticks = _ticks(peak)
    canvas.y_axis(ticks, scale_max, top, bottom, left, right)
    slot = (right - left) / len(categories)
    bar = max(2.0, min(28.0, slot * 0.8 / len(series)))
    group = bar * len(series)
    label_every = _label_every(len(categories), slot, categories)
    for index, category in enumerate(categories):
        x0 = left + slot * index + (slot - group) / 2
        for s_index, one in enumerate(series):
            value = _value(one, index)
            h = (bottom - top) * float(value) / scale_max
            colour = _colour(one, s_index)
            canvas.add(
                f'<rect x="{_n(x0 + bar * s_index)}" y="{_n(bottom - h)}" width="{_n(bar)}" height="{_n(h)}" '
                f'fill="{colour}"><title>{_esc(category)} · {_esc(one.label)}: {_fmt(value)}</title></rect>'
            )
        if index % label_every == 0:
            canvas.text(
                left + slot * (index + 0.5),
                bottom + 18,
                _clip(category, slot * label_every),
                "middle",
                tooltip=category,
            )
    return canvas.finish()


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = DEFAULT_WIDTH,
    height: int = 320,
    empty_text: str = "No data",
) -> str:
    """A trend: one line with point markers per series over ordered categories (months).

    Args:
        title: shown above the chart and used as the accessible name.
        categories: the x-axis labels, in order.
        series: values aligned with ``categories`` (missing values count as 0).
        empty_text: what to show when there are no categories.

    Raises:
        ValueError: when a series has more values than there are categories, or a value is negative.
    """
    _check(categories, series)
    canvas = _Canvas(width, height, title)
    top, bottom, left, right = 66, height - 46, 52, width - 24
    if not categories or not series:
        return canvas.empty(empty_text)
    canvas.legend(series, 44)
    scale_max, ticks = _ticks(_peak(series))
    canvas.y_axis(ticks, scale_max, top, bottom, left, right)
    step = (right - left) / max(1, len(categories) - 1) if len(categories) > 1 else 0.0
    slot = step or float(right - left)
    label_every = _label_every(len(categories), slot, categories)

    def x_of(index: int) -> float:
        return left + step * index if len(categories) > 1 else (left + right) / 2

    for index, category in enumerate(categories):
        if (len(categories) - 1 - index) % label_every == 0:  # counted from the latest month, always shown
            anchor = "end" if index == len(categories) - 1 and len(categories) > 1 else "middle"
            canvas.text(
                x_of(index), bottom + 18, _clip(category, slot * label_every), anchor, tooltip=category
            )
    for s_index, one in enumerate(series):
        colour = _colour(one, s_index)
        points = [
            (x_of(i), bottom - (bottom - top) * float(_value(one, i)) / scale_max)
            for i in range(len(categories))
        ]
        dash = ' stroke-dasharray="6 3"' if s_index % 2 else ""
        canvas.add(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} points="'
            + " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            + '"/>'
        )
        for i, (x, y) in enumerate(points):
            canvas.add(
                f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{colour}"><title>{_esc(categories[i])} · '
                f"{_esc(one.label)}: {_fmt(_value(one, i))}</title></circle>"
            )
    return canvas.finish()


def stacked_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = DEFAULT_WIDTH,
    row_height: int = 24,
    label_width: int = 170,
    empty_text: str = "No data",
) -> str:
    """Horizontal stacked bars, one row per category (a station) and one segment per series (a light).

    The chart grows in height with the number of rows, so long station lists stay legible; each row ends with its
    total. Long labels are shortened with "…" and kept whole in the tooltip.

    Args:
        title: shown above the chart and used as the accessible name.
        categories: one row label each, in order.
        series: segment values aligned with ``categories`` (missing values count as 0).
        empty_text: what to show when there are no rows.

    Raises:
        ValueError: when a series has more values than there are categories, or a value is negative.
    """
    _check(categories, series)
    top = 64
    height = top + max(1, len(categories)) * row_height + 34
    canvas = _Canvas(width, height, title)
    if not categories or not series:
        return canvas.empty(empty_text)
    canvas.legend(series, 44)
    left, right = label_width, width - 56
    totals = [sum(float(_value(s, i)) for s in series) for i in range(len(categories))]
    scale_max, ticks = _ticks(max(totals))
    bottom = top + len(categories) * row_height
    for tick in ticks:
        x = left + (right - left) * tick / scale_max
        canvas.add(f'<line x1="{_n(x)}" y1="{top}" x2="{_n(x)}" y2="{bottom}" stroke="#dddddd"/>')
        canvas.text(x, bottom + 16, _fmt(tick), "middle", size=FONT_SIZE - 2)
    bar = row_height * 0.7
    for index, category in enumerate(categories):
        y = top + row_height * index + (row_height - bar) / 2
        canvas.text(left - 6, y + bar / 2 + 4.5, _clip(category, label_width - 10), "end", tooltip=category)
        x = float(left)
        for s_index, one in enumerate(series):
            value = float(_value(one, index))
            w = (right - left) * value / scale_max
            if w > 0:
                canvas.add(
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(bar)}" '
                    f'fill="{_colour(one, s_index)}"><title>{_esc(category)} · {_esc(one.label)}: '
                    f"{_fmt(_value(one, index))}</title></rect>"
                )
            x += w
        canvas.text(x + 4, y + bar / 2 + 4.5, _fmt(totals[index]), "start")
    canvas.add(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#555555"/>')
    return canvas.finish()


class _Canvas:
    """Collects SVG elements and wraps them in the one root element every chart shares."""

    def __init__(self, width: int, height: int, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []
        self.text(12, 22, title, "start", size=TITLE_SIZE, weight="bold")

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        content: str,
        anchor: str,
        *,
        size: int = FONT_SIZE,
        weight: str = "normal",
        tooltip: str | None = None,
    ) -> None:
        hint = f"<title>{_esc(tooltip)}</title>" if tooltip is not None and tooltip != content else ""
        bold = ' font-weight="bold"' if weight == "bold" else ""
        self.add(
            f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}"{bold}>'
            f"{hint}{_esc(content)}</text>"
        )

    def legend(self, series: Sequence[Series], y: int) -> None:
        x = 12.0
        for index, one in enumerate(series):
            self.add(f'<rect x="{_n(x)}" y="{y - 10}" width="12" height="12" fill="{_colour(one, index)}"/>')
            self.text(x + 16, y, one.label, "start")
            x += 16 + _text_width(one.label) + 18

    def y_axis(
        self, ticks: Sequence[float], scale_max: float, top: int, bottom: int, left: int, right: int
    ) -> None:
        for tick in ticks:
            y = bottom - (bottom - top) * tick / scale_max
            self.add(f'<line x1="{left}" y1="{_n(y)}" x2="{right}" y2="{_n(y)}" stroke="#dddddd"/>')
            self.text(left - 6, y + 4.5, _fmt(tick), "end", size=FONT_SIZE - 2)
        self.add(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#555555"/>')

    def empty(self, text: str) -> str:
        self.text(self.width / 2, self.height / 2, text, "middle")
        return self.finish()

    def finish(self) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'width="{self.width}" height="{self.height}" role="img" aria-label={quoteattr(clean_text(self.title))} '
            f'font-family={quoteattr(FONT_STACK)} style="max-width:100%;height:auto">'
            f"<title>{_esc(self.title)}</title>"
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>'
            + "".join(self.parts)
            + "</svg>"
        )


def _esc(text: str) -> str:
    """Printable and XML-escaped: user data may hold control characters that XML forbids."""
    return escape(clean_text(text))


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for one in series:
        if len(one.values) > len(categories):
            raise ValueError(
                f"series {one.label!r} has {len(one.values)} values for {len(categories)} categories"
            )
        if any(v < 0 for v in one.values):
            raise ValueError(f"series {one.label!r} has a negative value")


def _value(series: Series, index: int) -> Number:
    return series.values[index] if index < len(series.values) else 0


def _peak(series: Sequence[Series]) -> float:
    return max((float(v) for one in series for v in one.values), default=0.0)


def _colour(series: Series, index: int) -> str:
    colour = series.colour or PALETTE[index % len(PALETTE)]
    if not (
        colour.startswith("#")
        and len(colour) in (4, 7)
        and all(c in "0123456789abcdefABCDEF" for c in colour[1:])
    ):
        raise ValueError(f"colour must be #rgb or #rrggbb, got {colour!r}")
    return colour


def _ticks(peak: float) -> tuple[float, list[float]]:
    """A round axis maximum at or above ``peak`` and 4–6 evenly spaced ticks from 0 (1, 2 or 5 × 10ⁿ steps)."""
    if peak <= 0:
        return 1.0, [0.0, 1.0]
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if peak <= 5 and float(peak).is_integer():
        step = 1.0  # small counts: whole-number ticks, never 0.2 of a case
    top = step * math.ceil(peak / step)
    count = round(top / step)
    return top, [step * i for i in range(count + 1)]


def _text_width(text: str) -> float:
    """Approximate rendered width: CJK and other wide characters take a full em, the rest about half."""
    return sum(FONT_SIZE if ord(ch) > 0x2E7F else FONT_SIZE * 0.55 for ch in text)


def _clip(text: str, space: float) -> str:
    if _text_width(text) <= space:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…") > space:
            break
        out += ch
    return out + "…"


def _label_every(count: int, slot: float, categories: Sequence[str]) -> int:
    widest = max((_text_width(c) for c in categories), default=0.0) + 6
    return max(1, math.ceil(widest / slot)) if slot > 0 else 1


def _n(value: float) -> str:
    """Coordinates with at most one decimal and no "-0", so output is stable across platforms."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(value: Number) -> str:
    if isinstance(value, Fraction):
        value = float(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{float(value):.2f}".rstrip("0").rstrip(".")
