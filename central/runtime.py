"""What a running central holds besides the database: its settings, instance folder and keys.

Set once by ``create_app`` so huey tasks (which run outside any request) reach the same values the views use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync_protocol.fieldcrypt import FieldCipher

from .errors import InstanceError
from .instance import CentralKeys, load_keys, read_root_document


@dataclass
class Runtime:
    settings: dict[str, Any]
    _keys: CentralKeys | None = None

    @property
    def instance(self) -> Path:
        return Path(self.settings["INSTANCE_PATH"])

    @property
    def network_id(self) -> str:
        network = self.settings.get("NETWORK_ID") or ""
        if not network:
            raise InstanceError("NETWORK_ID is not set: run `yiciban-central init`")
        return network

    @property
    def keys(self) -> CentralKeys:
        if self._keys is None:
            self._keys = load_keys(self.instance)
        return self._keys

    @property
    def cipher(self) -> FieldCipher:
        return FieldCipher(self.keys.field_data_key)

    @property
    def identity(self):
        """Central's public identity for enrollment replies (services.enrollment.CentralIdentity)."""
        from sync_protocol.seal import encode_recipient

        from .services.enrollment import CentralIdentity

        keys = self.keys
        return CentralIdentity(
            network=self.network_id,
            root_public=keys.root.public_raw,
            central_key=keys.central,
            ingest_recipient=encode_recipient(keys.ingest.public_raw),
            escrow_recipient=keys.escrow_recipient,
        )

    @property
    def root_document(self) -> bytes:
        return read_root_document(self.instance)

    def folder(self, name: str) -> Path:
        path = self.instance / name
        path.mkdir(parents=True, exist_ok=True)
        return path


_current: Runtime | None = None


def set_runtime(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current_runtime() -> Runtime:
    if _current is None:
        raise InstanceError("central is not configured: call create_app first")
    return _current
