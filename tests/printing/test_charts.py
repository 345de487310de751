"""printing.charts: well-formed, self-contained, escaped and deterministic SVG for the report pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from printing.charts import (
    LIGHT_COLOURS,
    Series,
    _ticks,
    bar_chart,
    line_chart,
    stacked_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def rects_with_tooltip(root: ET.Element) -> list[tuple[ET.Element, str]]:
    out = []
    for rect in root.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None:
            out.append((rect, title.text or ""))
    return out


def test_bar_chart_draws_one_bar_per_value_with_heights_proportional_to_values():
    root = parse(
        bar_chart(
            "受理与办结",
            ["一月", "二月"],
            [Series("受理量", (10, 5)), Series("办结", (8, 0))],
        )
    )
    bars = rects_with_tooltip(root)
    assert [t for _, t in bars] == [
        "一月 · 受理量: 10",
        "一月 · 办结: 8",
        "二月 · 受理量: 5",
        "二月 · 办结: 0",
    ]
    heights = [float(r.get("height")) for r, _ in bars]
    assert heights[0] == pytest.approx(2 * heights[2], abs=0.2)
    assert heights[1] == pytest.approx(0.8 * heights[0], abs=0.2)
    assert heights[3] == 0
    assert "受理与办结" in texts(root) and "受理量" in texts(root)
    assert root.get("role") == "img" and root.get("aria-label") == "受理与办结"


def test_line_chart_places_points_by_value_and_keeps_month_order():
    root = parse(line_chart("趋势", MONTHS[:3], [Series("受理量", (0, 4, 2))]))
    circles = list(root.iter(f"{SVG}circle"))
    assert [c.find(f"{SVG}title").text for c in circles] == [
        "2026-01 · 受理量: 0",
        "2026-02 · 受理量: 4",
        "2026-03 · 受理量: 2",
    ]
    xs = [float(c.get("cx")) for c in circles]
    ys = [float(c.get("cy")) for c in circles]
    assert xs == sorted(xs)
    assert ys[1] < ys[2] < ys[0]  # SVG y grows downwards: the biggest value is highest
    assert (ys[0] - ys[2]) == pytest.approx(ys[2] - ys[1], abs=0.2)


def test_stacked_bars_add_segments_per_row_and_print_each_total():
    categories = ["示范村便民服务站", "示范镇便民服务中心"]
    series = [
        Series("绿灯", (3, 1), LIGHT_COLOURS["green"]),
        Series("黄灯", (1, 0), LIGHT_COLOURS["yellow"]),
        Series("红灯", (2, 5), LIGHT_COLOURS["red"]),
    ]
    root = parse(stacked_bar_chart("亮灯", categories, series))
    segments = rects_with_tooltip(root)
    # A zero segment is not drawn at all (it would be an invisible sliver).
    assert [t for _, t in segments] == [
        "示范村便民服务站 · 绿灯: 3",
        "示范村便民服务站 · 黄灯: 1",
        "示范村便民服务站 · 红灯: 2",
        "示范镇便民服务中心 · 绿灯: 1",
        "示范镇便民服务中心 · 红灯: 5",
    ]
    first_row = [r for r, t in segments if t.startswith("示范村")]
    for left, right in zip(first_row, first_row[1:], strict=False):
        assert float(right.get("x")) == pytest.approx(
            float(left.get("x")) + float(left.get("width")), abs=0.2
        )
    assert [r.get("fill") for r in first_row] == ["#2e7d32", "#f2b600", "#c62828"]
    labels = texts(root)
    assert "6" in labels and "示范村便民服务站" in labels


def test_stacked_chart_grows_with_rows_so_long_station_lists_stay_legible():
    few = parse(stacked_bar_chart("t", ["a"], [Series("x", (1,))]))
    many = parse(stacked_bar_chart("t", [f"站{i}" for i in range(40)], [Series("x", tuple(range(40)))]))
    assert float(many.get("height")) >= 40 * 24 > float(few.get("height"))


def test_labels_are_escaped_and_nothing_external_is_referenced():
    hostile = '<script>alert("x")</script>&"\''
    svg = bar_chart(hostile, [hostile], [Series(hostile, (1,))])
    root = parse(svg)  # still well-formed XML
    assert "<script" not in svg
    assert root.find(f".//{SVG}script") is None
    assert hostile in texts(root)
    for marker in ("href", "url(", "@import", "<image", "<foreignObject", "javascript:"):
        assert marker not in svg
    assert svg.count("http") == 1  # the SVG namespace only


def test_long_labels_are_shortened_on_screen_and_whole_in_the_tooltip():
    name = "某某县某某乡某某村便民服务站第二服务点"
    root = parse(stacked_bar_chart("t", [name], [Series("x", (1,))], label_width=100))
    label = next(t for t in root.iter(f"{SVG}text") if (t.find(f"{SVG}title") is not None))
    assert "".join(label.itertext()).endswith("…")
    assert label.find(f"{SVG}title").text == name


def test_crowded_month_labels_are_thinned_not_overlapped():
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    root = parse(line_chart("t", months, [Series("x", tuple(range(24)))], width=400))
    shown = [t for t in texts(root) if t[:4] in ("2025", "2026")]
    assert 2 <= len(shown) < 24
    assert "2026-12" in shown  # the latest month is always labelled


def test_empty_data_says_so_instead_of_drawing_an_axis():
    for svg in (
        bar_chart("t", [], [], empty_text="暂无数据"),
        bar_chart("t", ["a"], [Series("x", (0,))], empty_text="暂无数据"),
        line_chart("t", [], [Series("x", ())], empty_text="暂无数据"),
        stacked_bar_chart("t", [], [Series("x", ())], empty_text="暂无数据"),
    ):
        root = parse(svg)
        assert "暂无数据" in texts(root)
        assert not rects_with_tooltip(root)


@pytest.mark.parametrize(
    "series",
    [
        [Series("x", (1, 2, 3))],
        [Series("x", (-1,))],
        [Series("x", (1,), "red")],
        [Series("x", (1,), "#12345g")],
    ],
)
def test_bad_data_is_refused(series):
    with pytest.raises(ValueError):
        bar_chart("t", ["a", "b"], series)


def test_fractions_and_floats_are_shown_rounded():
    root = parse(bar_chart("t", ["a"], [Series("x", (Fraction(10, 3),)), Series("y", (2.5,))]))
    assert [t for _, t in rects_with_tooltip(root)] == ["a · x: 3.33", "a · y: 2.5"]


@pytest.mark.parametrize(
    ("peak", "top", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (3, 3, 1),
        (5, 5, 1),
        (7, 8, 2),
        (10, 10, 2),
        (42, 50, 10),
        (99.5, 100, 20),
        (1234, 1500, 500),
    ],
)
def test_axis_ticks_are_round_numbers_covering_the_peak(peak, top, step):
    scale_max, ticks = _ticks(peak)
    assert scale_max == top and ticks[0] == 0 and ticks[-1] == top
    assert all(b - a == pytest.approx(step) for a, b in zip(ticks, ticks[1:], strict=False))


def test_default_size_fits_a_1024_wide_screen_and_scales_down_on_a_phone():
    root = parse(line_chart("t", MONTHS, [Series("x", tuple(range(12)))]))
    assert int(root.get("width")) <= 700
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert "max-width:100%" in root.get("style")


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=15),
    data=st.data(),
)
def test_any_labels_and_counts_give_well_formed_identical_output(labels, data):
    values = tuple(data.draw(st.lists(st.integers(0, 10**6), min_size=len(labels), max_size=len(labels))))
    series = [Series(data.draw(st.text(max_size=12)), values)]
    for draw in (bar_chart, line_chart, stacked_bar_chart):
        try:
            first = draw("标题", labels, series)
        except ValueError:
            continue
        assert first == draw("标题", list(labels), list(series))
        parse(first)
