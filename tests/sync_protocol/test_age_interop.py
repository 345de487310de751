"""Interoperability with the stock ``age`` tool (Debian package ``age``), in both directions.

An auditor must be able to open any sealed file with ``age -d -i <escrow identity>``, and a file that ``age -r``
encrypts to one of our keys must open with our code (SYNC-DESIGN §5).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sync_protocol import seal
from sync_protocol.errors import SealError

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
pytestmark = pytest.mark.skipif(AGE is None or AGE_KEYGEN is None, reason="age binary missing")

SIZES = [0, 1, 1000, seal.CHUNK_SIZE, seal.CHUNK_SIZE + 1, 3 * seal.CHUNK_SIZE - 7]


def run(args: list[str], stdin: bytes = b"") -> bytes:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=60, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{args[0]} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def age_keygen(path: Path) -> tuple[bytes, str]:
    """Let age-keygen make an identity file; return our raw private key and the recipient it printed."""
    run([str(AGE_KEYGEN), "-o", str(path)])
    lines = path.read_text().splitlines()
    identity = next(line for line in lines if line.startswith("AGE-SECRET-KEY-1"))
    recipient = next(line for line in lines if line.startswith("# public key: ")).split(": ", 1)[1]
    return seal.decode_identity(identity), recipient


@pytest.fixture
def escrow(tmp_path: Path) -> tuple[Path, bytes, str]:
    path = tmp_path / "escrow.txt"
    private, recipient = age_keygen(path)
    return path, private, recipient


def test_age_keygen_keys_decode_to_a_matching_pair(escrow: tuple[Path, bytes, str]) -> None:
    _, private, recipient = escrow
    assert seal.encode_recipient(seal.public_key_of(private)) == recipient


def test_our_identity_string_is_read_by_age_keygen(tmp_path: Path) -> None:
    private = os.urandom(32)
    path = tmp_path / "ours.txt"
    path.write_text(seal.encode_identity(private) + "\n")
    printed = run([str(AGE_KEYGEN), "-y", str(path)]).decode().strip()
    assert printed == seal.encode_recipient(seal.public_key_of(private))


@pytest.mark.parametrize("size", SIZES)
def test_file_we_seal_to_ingest_and_escrow_opens_with_age(size: int, escrow: tuple[Path, bytes, str]) -> None:
    path, _, recipient = escrow
    ingest_public = seal.public_key_of(os.urandom(32))
    plaintext = os.urandom(size)
    sealed = seal.seal(plaintext, [ingest_public, seal.decode_recipient(recipient)])
    assert run([str(AGE), "-d", "-i", str(path)], sealed) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_file_age_encrypts_to_our_recipient_opens_with_our_code(size: int, tmp_path: Path) -> None:
    private = os.urandom(32)
    _, other_recipient = age_keygen(tmp_path / "other.txt")
    plaintext = os.urandom(size)
    recipient = seal.encode_recipient(seal.public_key_of(private))
    encrypted = run([str(AGE), "-r", other_recipient, "-r", recipient], plaintext)
    assert seal.open_sealed(encrypted, [private]) == plaintext


def test_age_refuses_our_file_after_a_bit_flip(escrow: tuple[Path, bytes, str]) -> None:
    path, _, recipient = escrow
    sealed = bytearray(seal.seal(os.urandom(5000), [seal.decode_recipient(recipient)]))
    sealed[-100] ^= 0x01
    result = subprocess.run(
        [str(AGE), "-d", "-i", str(path)], input=bytes(sealed), capture_output=True, timeout=60, check=False
    )
    assert result.returncode != 0


def test_we_refuse_an_age_file_after_truncation(tmp_path: Path) -> None:
    private = os.urandom(32)
    recipient = seal.encode_recipient(seal.public_key_of(private))
    encrypted = run([str(AGE), "-r", recipient], os.urandom(2 * seal.CHUNK_SIZE))
    with pytest.raises(SealError):
        seal.open_sealed(encrypted[: -seal.ENCRYPTED_CHUNK_SIZE], [private])


VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "sealed"


@pytest.mark.parametrize("name", ["small", "multi-chunk", "exact-chunk", "empty"])
@pytest.mark.parametrize("role", ["ingest", "escrow"])
def test_sealed_vectors_open_with_age(name: str, role: str) -> None:
    sealed = (VECTOR_DIR / f"{name}.age").read_bytes()
    opened = run([str(AGE), "-d", "-i", str(VECTOR_DIR / f"{role}-identity.txt")], sealed)
    assert opened == (VECTOR_DIR / f"{name}.plaintext").read_bytes()
