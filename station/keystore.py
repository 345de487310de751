"""The instance's secrets on disk: ``keys/`` files written atomically with mode 0600.

Files: ``secret_key`` (Flask session key, hex), ``data.key`` (32-byte field-encryption key), ``signing.key``
(Ed25519 private, 32 raw bytes), ``box.key`` (X25519 private, 32 raw bytes). Private keys never leave the machine.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sync_protocol.fieldcrypt import FieldCipher, generate_data_key
from sync_protocol.keys import BoxKey, SigningKey

from .errors import InstanceError

INSTANCE_FOLDERS = ("keys", "blobs", "exports", "backups", "imports")
SECRET_KEY_FILE = "secret_key"
DATA_KEY_FILE = "data.key"
SIGNING_KEY_FILE = "signing.key"
BOX_KEY_FILE = "box.key"


def write_file_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write to a temp file in the same folder, fsync, rename over ``path``, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class InstanceKeys:
    secret_key: str
    data_key: bytes
    signing_key: SigningKey
    box_key: BoxKey

    @property
    def field_cipher(self) -> FieldCipher:
        return FieldCipher(self.data_key)


def create_instance_files(instance: Path) -> list[str]:
    """Create the instance folders and any missing key file; never overwrite an existing key."""
    instance.mkdir(parents=True, exist_ok=True)
    for folder in INSTANCE_FOLDERS:
        (instance / folder).mkdir(exist_ok=True)
    os.chmod(instance / "keys", 0o700)
    generators = {
        SECRET_KEY_FILE: lambda: secrets.token_hex(32).encode("ascii"),
        DATA_KEY_FILE: generate_data_key,
        SIGNING_KEY_FILE: lambda: SigningKey.generate().private_bytes(),
        BOX_KEY_FILE: lambda: BoxKey.generate().private_raw,
    }
    created = []
    for name, make in generators.items():
        path = instance / "keys" / name
        if not path.exists():
            write_file_atomically(path, make())
            created.append(name)
    return created


def _read(instance: Path, name: str) -> bytes:
    path = instance / "keys" / name
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise InstanceError(
            f"{path} is missing: run `yiciban-station init --instance {instance}` first"
        ) from e


def load_keys(instance: Path) -> InstanceKeys:
    """Read every key of the instance.

    Raises:
        InstanceError: a key file is missing or has the wrong size.
    """
    try:
        return InstanceKeys(
            secret_key=_read(instance, SECRET_KEY_FILE).decode("ascii").strip(),
            data_key=_read(instance, DATA_KEY_FILE),
            signing_key=SigningKey.from_private_bytes(_read(instance, SIGNING_KEY_FILE)),
            box_key=BoxKey.from_private_bytes(_read(instance, BOX_KEY_FILE)),
        )
    except InstanceError:
        raise
    except Exception as e:
        raise InstanceError(f"a key file in {instance / 'keys'} is damaged: {e}") from e
