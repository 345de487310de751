"""Tables for a spreadsheet: CSV bytes that Excel on a clerk's PC opens as they are meant.

UTF-8 with a byte-order mark (without it Excel reads the Chinese as the local code page), CRLF line ends, and
every cell that a spreadsheet would take for a formula (CSV injection: ``=HYPERLINK(...)``, ``+cmd|...``) kept as
text by a leading apostrophe. Numbers such as ``-16.67%`` are left alone: a spreadsheet reads them as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

UTF8_BOM = b"\xef\xbb\xbf"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?%?")


def spreadsheet_text(cell: str) -> str:
    """The cell as a spreadsheet shows it literally: a formula-looking text gets a leading apostrophe."""
    if cell[:1] in FORMULA_STARTS and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    """The rows as CSV: UTF-8 with a byte-order mark, CRLF lines, formula-looking cells kept as text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_text(cell) for cell in row])
    return UTF8_BOM + out.getvalue().encode("utf-8")
