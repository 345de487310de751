"""HTTP to central (stdlib urllib): a few small calls, every failure turned into a SyncError in words."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors import SyncError

MAX_REPLY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class CentralClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SyncError(f"CENTRAL_URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/octet-stream",
                ok: tuple[int, ...] = (200,)) -> Reply:  # fmt: skip
        headers = {"Content-Type": content_type} if body is not None else {}
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                reply = Reply(response.status, response.read(MAX_REPLY_BYTES + 1))
        except urllib.error.HTTPError as e:
            detail = e.read(4096)
            e.close()
            reply = Reply(e.code, detail)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise SyncError(f"central at {self.base_url} is not reachable: {reason}") from e
        if len(reply.body) > MAX_REPLY_BYTES:
            raise SyncError("central's reply is larger than allowed")
        if reply.status not in ok:
            raise SyncError(
                f"central answered {method} {path} with HTTP {reply.status}: {_reason(reply.body)}"
            )
        return reply


def _reason(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)
    return str(data)[:200]
