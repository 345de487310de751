"""Importing printing is light: reportlab and segno load with the first document that needs them (a station that
only shows screens does not carry them in memory), and the public API still makes PDFs and QR codes."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import printing
heavy = ("reportlab", "segno", "PIL")
print(",".join(m for m in heavy if m in sys.modules))
from printing.samples import sample_documents
document = next(iter(sample_documents().values()))
printing.render_html(document)
print(",".join(m for m in heavy if m in sys.modules))
assert printing.render(document).startswith(b"%PDF")
print(",".join(m for m in heavy if m in sys.modules))
"""


def test_reportlab_and_segno_load_with_the_first_document_not_with_the_package():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    on_import, after_html, after_pdf = done.stdout.splitlines()
    assert on_import == "", "importing printing loads no PDF or QR library"
    assert "reportlab" not in after_html, "the HTML print view needs no reportlab"
    assert "reportlab" in after_pdf.split(",")
