"""The central instance folder: layout, `init` (keys, network id, secret key) and loading the keys.

Keys (mode 0600, written atomically) live in ``keys/``:
``root_ed25519.key`` (central root key: signs trust roots only), ``central_ed25519.key`` (online key named in the
root: certificates, registries, acks, bundles), ``ingest_x25519.key`` (opens sealed batches), ``field_data.key``
(encrypts personal data and enrollment codes at rest), ``secret_key`` (Flask sessions) and
``escrow_recipient.txt`` (public only). The signed trust root version 1 is written to ``trust/root-1.signed``. The escrow *identity* is never
kept in the instance: either the admin passes ``--escrow-recipient age1…`` of a key made offline, or `init`
generates one and writes its identity to ``ESCROW-IDENTITY-MOVE-OFFLINE.txt`` for the admin to move to offline
storage and delete.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from sync_protocol.errors import ProtocolError
from sync_protocol.fieldcrypt import generate_data_key
from sync_protocol.keys import BoxKey, SigningKey
from sync_protocol.seal import decode_recipient, encode_recipient
from sync_protocol.trust import make_root

from .errors import ConfigError, InstanceError
from .files import atomic_write
from .settings import CONFIG_FILE_NAME

SUBFOLDERS = ("keys", "trust", "inbox", "quarantine", "blobs", "exports", "backups", "tmp")
ROOT_KEY_FILE = "root_ed25519.key"
CENTRAL_KEY_FILE = "central_ed25519.key"
FIELD_KEY_FILE = "field_data.key"
ROOT_DOCUMENT = "trust/root-1.signed"
INGEST_KEY_FILE = "ingest_x25519.key"
SECRET_KEY_FILE = "secret_key"
ESCROW_RECIPIENT_FILE = "escrow_recipient.txt"
ESCROW_IDENTITY_FILE = "ESCROW-IDENTITY-MOVE-OFFLINE.txt"


@dataclass(frozen=True)
class CentralKeys:
    """The keys a running central needs (the escrow identity is deliberately absent)."""

    root: SigningKey
    central: SigningKey
    ingest: BoxKey
    field_data_key: bytes = field(repr=False)
    escrow_recipient: str

    @property
    def escrow_public(self) -> bytes:
        return decode_recipient(self.escrow_recipient)


@dataclass(frozen=True)
class InitResult:
    network_id: str
    root_key_id: str
    ingest_recipient: str
    escrow_recipient: str
    escrow_identity_file: Path | None


def new_network_id() -> str:
    return "yiciban-" + secrets.token_hex(6)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_instance(
    instance: Path, *, network_id: str | None = None, escrow_recipient: str | None = None
) -> InitResult:
    """Create the folders, keys, secret key and config.toml of a new central; refuse to overwrite keys."""
    instance = Path(instance)
    keys = instance / "keys"
    if (keys / ROOT_KEY_FILE).exists():
        raise InstanceError(f"{instance} is already initialised (keys/{ROOT_KEY_FILE} exists)")
    for name in SUBFOLDERS:
        (instance / name).mkdir(parents=True, exist_ok=True)
    keys.chmod(0o700)
    if escrow_recipient is not None:
        try:
            decode_recipient(escrow_recipient)
        except ProtocolError as e:
            raise ConfigError(f"--escrow-recipient is not a valid age recipient: {e.message}") from e
    network_id = network_id or new_network_id()
    root = SigningKey.generate()
    central = SigningKey.generate()
    ingest = BoxKey.generate()
    atomic_write(keys / ROOT_KEY_FILE, root.private_bytes())
    atomic_write(keys / CENTRAL_KEY_FILE, central.private_bytes())
    atomic_write(keys / INGEST_KEY_FILE, ingest.private_raw)
    atomic_write(keys / FIELD_KEY_FILE, generate_data_key())
    root_document = make_root(
        network=network_id,
        version=1,
        root_keys=[root.public_raw],
        central_keys=[central.public_raw],
        issued_ms=int(time.time() * 1000),
        signing_key=root,
    )
    atomic_write(instance / ROOT_DOCUMENT, root_document.raw, mode=0o644)
    atomic_write(keys / SECRET_KEY_FILE, secrets.token_hex(32).encode())
    identity_file = None
    if escrow_recipient is None:
        escrow = BoxKey.generate()
        escrow_recipient = encode_recipient(escrow.public_raw)
        identity_file = instance / ESCROW_IDENTITY_FILE
        note = (
            "# yiciban escrow identity: opens every sealed file of this network with `age -d -i <this file>`.\n"
            "# Move this file to offline storage (two copies, sealed envelope) and delete it from this machine.\n"
        )
        atomic_write(identity_file, (note + escrow.identity + "\n").encode())
    atomic_write(keys / ESCROW_RECIPIENT_FILE, (escrow_recipient + "\n").encode(), mode=0o644)
    config = instance / CONFIG_FILE_NAME
    lines = [f"NETWORK_ID = {_toml_string(network_id)}"]
    if config.exists():
        lines = [config.read_text("utf-8").rstrip("\n"), *lines]
    atomic_write(config, ("\n".join(lines) + "\n").encode(), mode=0o644)
    return InitResult(network_id, root.key_id, ingest.recipient, escrow_recipient, identity_file)


def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as e:
        raise InstanceError(f"missing key file {path}: run `yiciban-central init`") from e


def load_keys(instance: Path) -> CentralKeys:
    keys = Path(instance) / "keys"
    root = SigningKey.from_private_bytes(_read_key(keys / ROOT_KEY_FILE))
    central = SigningKey.from_private_bytes(_read_key(keys / CENTRAL_KEY_FILE))
    ingest = BoxKey.from_private_bytes(_read_key(keys / INGEST_KEY_FILE))
    field_data_key = _read_key(keys / FIELD_KEY_FILE)
    escrow = _read_key(keys / ESCROW_RECIPIENT_FILE).decode().strip()
    return CentralKeys(
        root=root, central=central, ingest=ingest, field_data_key=field_data_key, escrow_recipient=escrow
    )


def read_root_document(instance: Path) -> bytes:
    return _read_key(Path(instance) / ROOT_DOCUMENT)


def read_secret_key(instance: Path) -> str | None:
    path = Path(instance) / "keys" / SECRET_KEY_FILE
    return path.read_text().strip() if path.exists() else None
