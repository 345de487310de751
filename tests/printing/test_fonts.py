"""A PDF always embeds a CJK TrueType font, or is not made at all: FontMissingError names the Debian package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from printing import FontConfig, FontMissingError, render, render_html
from printing.fonts import DEFAULT_FONT_DIRS, candidate_paths, cjk_font
from printing.samples import sample_documents

from .support import pdf_fonts, pdf_text

RECEIPT = sample_documents()["materials_receipt"]
UMING = "/usr/share/fonts/truetype/arphic/uming.ttc"


def test_no_font_in_the_search_path_raises_and_names_the_package(tmp_path: Path):
    empty = tmp_path / "fonts"
    empty.mkdir()
    with pytest.raises(FontMissingError) as caught:
        render(RECEIPT, FontConfig(search_dirs=(str(empty),)))
    assert "fonts-wqy-microhei" in str(caught.value)
    assert str(empty) in str(caught.value)
    assert caught.value.reason == "font_missing"


def test_the_print_view_still_works_without_a_font():
    assert "材料接收凭证" in render_html(RECEIPT)


def test_a_configured_path_that_is_not_a_font_is_skipped(tmp_path: Path):
    fake = tmp_path / "broken.ttf"
    fake.write_bytes(b"this is not a font")
    with pytest.raises(FontMissingError):
        cjk_font(FontConfig(path=str(fake), search_dirs=()))


def test_fonts_are_found_by_file_name_in_a_configured_folder(tmp_path: Path):
    source = Path(UMING)
    if not source.exists():
        pytest.skip("fonts-arphic-uming is not installed")
    folder = tmp_path / "fonts"
    folder.mkdir()
    os.symlink(source, folder / "uming.ttc")
    assert str(folder / "uming.ttc") in candidate_paths(FontConfig(search_dirs=(str(folder),)))
    assert cjk_font(FontConfig(search_dirs=(str(folder),))).startswith("YicibanCJK-")


def test_a_configured_song_face_is_embedded(tmp_path: Path):
    if not Path(UMING).exists():
        pytest.skip("fonts-arphic-uming is not installed")
    pdf = render(RECEIPT, FontConfig(path=UMING, search_dirs=()))
    names = [row[0] for row in pdf_fonts(pdf, tmp_path)]
    assert names and all("UMing" in name for name in names)
    assert all(row[-5] == "yes" for row in pdf_fonts(pdf, tmp_path))
    assert "本凭证不作为受理依据" in "".join(pdf_text(pdf, tmp_path).split())


def test_default_search_finds_the_debian_font(tmp_path: Path):
    if not any(Path(d, "wqy", "wqy-microhei.ttc").exists() for d in DEFAULT_FONT_DIRS):
        pytest.skip("fonts-wqy-microhei is not installed")
    names = [row[0] for row in pdf_fonts(render(RECEIPT), tmp_path)]
    assert names and all("WenQuanYiMicroHei" in name for name in names)
