"""Helpers for the printing tests: poppler tools (skip with a reason when missing; CI turns skips into
failures), the artifacts folder, and a station key that signs QR payloads."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "printing"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package poppler-utils)")
    return path


def pdf_text(pdf: bytes, tmp_path: Path, *, layout: bool = True, page: int | None = None) -> str:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    args = [tool("pdftotext")]
    if layout:
        args.append("-layout")
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    result = subprocess.run([*args, str(source), "-"], capture_output=True, check=True, timeout=60)
    return result.stdout.decode("utf-8")


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    """Rows of `pdffonts`: name, type…, emb, sub, uni, object, generation."""
    source = tmp_path / "fonts.pdf"
    source.write_bytes(pdf)
    result = subprocess.run([tool("pdffonts"), str(source)], capture_output=True, check=True, timeout=60)
    lines = result.stdout.decode("utf-8").splitlines()[2:]
    return [line.split() for line in lines if line.strip()]


def pdf_pages_to_png(pdf: bytes, name: str, dpi: int = 100) -> list[Path]:
    """Render every page to PNG under test-artifacts/printing/ and return the files in page order."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        [tool("pdftoppm"), "-r", str(dpi), "-png", str(source), str(ARTIFACTS / name)],
        check=True,
        timeout=120,
    )
    return sorted(ARTIFACTS.glob(f"{name}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    """The key/value lines of `pdfinfo`."""
    source = tmp_path / "info.pdf"
    source.write_bytes(pdf)
    result = subprocess.run([tool("pdfinfo"), str(source)], capture_output=True, check=True, timeout=60)
    pairs = (line.split(":", 1) for line in result.stdout.decode("utf-8").splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def pdf_page_count(pdf: bytes, tmp_path: Path) -> int:
    return int(pdf_info(pdf, tmp_path)["Pages"])


class StationKey:
    """A deterministic station signing key (raw bytes, as the nodes hold them)."""

    def __init__(self, seed: bytes) -> None:
        private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())
        self.private_raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self.public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public_raw).hexdigest()

    def lookup(self, key_ref: str) -> bytes | None:
        return self.public_raw if self.key_id.startswith(key_ref) else None
