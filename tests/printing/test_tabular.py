"""printing.tabular: CSV bytes a spreadsheet opens as meant — BOM, CRLF, formulas kept as text."""

from __future__ import annotations

import csv
import io

import pytest

from printing.tabular import csv_bytes, spreadsheet_text


def test_bytes_start_with_the_bom_and_lines_end_with_crlf():
    body = csv_bytes([["代码", "名称"], ["990101101201", "示范村便民服务站"]])
    assert body == "\ufeff代码,名称\r\n990101101201,示范村便民服务站\r\n".encode()
    assert body.startswith(b"\xef\xbb\xbf")


def test_a_formula_cell_is_kept_as_text_and_quotes_survive():
    body = csv_bytes([["990101101201", '=HYPERLINK("http://x","点我")', "50.00%"]])
    assert body == '\ufeff990101101201,"\'=HYPERLINK(""http://x"",""点我"")",50.00%\r\n'.encode()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["990101101201", '\'=HYPERLINK("http://x","点我")', "50.00%"]]


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=1", "'\r=1"),
        ("-16.67%", "-16.67%"),  # a negative number stays a number
        ("+5", "+5"),
        ("-3", "-3"),
        ("", ""),
        ("示范村", "示范村"),
        ("a=b", "a=b"),
    ],
)
def test_only_formula_looking_text_gets_an_apostrophe(cell, shown):
    assert spreadsheet_text(cell) == shown
