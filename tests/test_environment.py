"""The machine has what the suite needs. In CI a skip here fails the run (see conftest.py), so a missing package
in `./run setup` is caught by name instead of by a confusing failure elsewhere."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import pytest

BINARIES = {
    "chromium": "chromium",
    "age": "age",
    "age-keygen": "age",
    "pdftotext": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "pdffonts": "poppler-utils",
    "redis-server": "redis-server",
}
FONTS = {
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc": "fonts-wqy-microhei",
}


@pytest.mark.parametrize(("binary", "package"), sorted(BINARIES.items()))
def test_binary_is_installed(binary, package):
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} missing: install the Debian package {package}")


def test_postgresql_server_is_installed():
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb") + [p for p in [shutil.which("initdb")] if p]
    if not candidates:
        pytest.skip("PostgreSQL server missing: install the Debian package postgresql")


@pytest.mark.parametrize(("path", "package"), sorted(FONTS.items()))
def test_cjk_font_is_installed(path, package):
    if not Path(path).exists():
        pytest.skip(f"{path} missing: install the Debian package {package}")
