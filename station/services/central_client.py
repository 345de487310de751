"""HTTP to central (stdlib urllib): a few small calls, every failure turned into a SyncError in words."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SyncError

MAX_REPLY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        """A reply header by name, any case (HTTP header names are case-insensitive)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class CentralClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SyncError(f"CENTRAL_URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/octet-stream",
                ok: tuple[int, ...] = (200,), headers: Mapping[str, str] | None = None) -> Reply:  # fmt: skip
        sent = {"Content-Type": content_type} if body is not None else {}
        sent.update(headers or {})
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                reply = Reply(
                    response.status, response.read(MAX_REPLY_BYTES + 1), dict(response.headers.items())
                )
        except urllib.error.HTTPError as e:
            detail = e.read(4096)
            received = dict(e.headers.items()) if e.headers is not None else {}
            e.close()
            reply = Reply(e.code, detail, received)
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise SyncError(f"central at {self.base_url} is not reachable: {reason}") from e
        except http.client.HTTPException as e:  # a status line or a chunk that ended early
            raise SyncError(f"central's reply to {method} {path} was cut off ({type(e).__name__})") from e
        if len(reply.body) > MAX_REPLY_BYTES:
            raise SyncError("central's reply is larger than allowed")
        cut = _cut_off(method, reply)
        if cut:
            raise SyncError(f"central's reply to {method} {path} was cut off ({cut})")
        if reply.status not in ok:
            raise SyncError(
                f"central answered {method} {path} with HTTP {reply.status}: {_reason(reply.body)}"
            )
        return reply


def _cut_off(method: str, reply: Reply) -> str:
    """Why a successful reply is not whole, or "": read(n) returns what arrived before the connection closed, and
    headers that stop early read as a complete head. Central gives every reply with a body its Content-Length."""
    if method == "HEAD" or reply.status >= 400 or reply.status == 204:
        return ""
    promised = reply.header("Content-Length")
    if promised.isdigit():
        return "" if int(promised) == len(reply.body) else f"{len(reply.body)} of {promised} bytes arrived"
    if "chunked" in reply.header("Transfer-Encoding").lower():
        return ""  # http.client raised IncompleteRead had the chunks stopped early
    return "its headers ended early"


def _reason(body: bytes) -> str:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode("utf-8", "replace")
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)
    return str(data)[:200]
