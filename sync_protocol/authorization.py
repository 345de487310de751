"""Epoch authorizations (开新纪元授权): central's signed permission for a station to open a new epoch.

A station whose store was restored from a backup (or re-enrolled, or recovering from a fork or a malformed event)
opens a new epoch whose ``epoch.open`` links to a head central already holds. Central opens such an epoch only
with a central-signed authorization naming exactly that station, network, new epoch, epoch reason and linked head
(SYNC-DESIGN §7); without one the ``epoch.open`` is routed to a human (quarantine reason ``epoch_needs_review``).

Body (kind ``epoch_authorization``, signed by a central key of the trust root)::

    {"v":1, "net", "st", "ep", "reason", "prev_ep", "prev_seq", "prev", "issued", "kid"}

The authorization is central's own statement, kept in central's store and checked again by ``ingest.decide`` on
every use (a row edited in the database without a central key authorizes nothing). It may also travel to the
station in a bundle's ``authorizations`` part so the station can show that its new epoch was approved.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from . import PROTOCOL_VERSION, schema
from .canonical import canonical_bytes
from .errors import MalformedError, ProtocolError, UnknownKeyError
from .events import EPOCH_OPEN, EPOCH_REASONS, Event
from .keys import SigningKey, key_id
from .schema import ZERO_ID
from .signed import SignedObject, join_envelopes, parse_signed, sign_object, split_envelopes
from .trust import check_network

KIND = "epoch_authorization"
MAX_AUTHORIZATION = 4 * 1024
MAX_PER_PART = 256
_FIELDS = frozenset({"v", "net", "st", "ep", "reason", "prev_ep", "prev_seq", "prev", "issued", "kid"})


@dataclass(frozen=True)
class EpochAuthorization:
    """Central's permission for ``station_id`` to open ``epoch`` linked to (prev_epoch, prev_seq, prev)."""

    raw: bytes
    signed: SignedObject
    network: str
    station_id: str
    epoch: int
    reason: str
    prev_epoch: int
    prev_seq: int
    prev: str
    issued_ms: int
    issuer_key_id: str

    @property
    def previous_head(self) -> tuple[int, int, str]:
        return (self.prev_epoch, self.prev_seq, self.prev)

    def covers(self, event: Event) -> bool:
        """True when ``event`` is exactly the ``epoch.open`` this authorizes (signature NOT checked here)."""
        return (
            event.type == EPOCH_OPEN
            and (event.network, event.station_id, event.epoch) == (self.network, self.station_id, self.epoch)
            and event.payload["reason"] == self.reason
            and (event.payload["prev_epoch"], event.payload["prev_seq"], event.prev) == self.previous_head
        )


def _from_signed(signed: SignedObject) -> EpochAuthorization:
    obj = signed.fields
    schema.exact_keys(obj, _FIELDS, "epoch authorization")
    schema.integer(obj, "v", minimum=1, maximum=1)
    epoch = schema.integer(obj, "ep", minimum=1)
    reason = schema.string(obj, "reason", max_length=32)
    if reason not in EPOCH_REASONS:
        raise MalformedError(f"unknown epoch reason {reason!r}")
    prev_epoch = schema.integer(obj, "prev_ep")
    prev_seq = schema.integer(obj, "prev_seq")
    prev = schema.hex_id(obj, "prev")
    if prev_epoch >= epoch:
        raise MalformedError("an authorized epoch links to an earlier epoch")
    if (prev_epoch == 0) != (prev_seq == 0) or (prev_epoch == 0) != (prev == ZERO_ID):
        raise MalformedError("the link is all zeros exactly when there is no previous epoch")
    return EpochAuthorization(
        raw=signed.raw,
        signed=signed,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        epoch=epoch,
        reason=reason,
        prev_epoch=prev_epoch,
        prev_seq=prev_seq,
        prev=prev,
        issued_ms=schema.integer(obj, "issued"),
        issuer_key_id=schema.hex_id(obj, "kid"),
    )


def issue_epoch_authorization(
    *,
    network: str,
    station_id: str,
    epoch: int,
    reason: str,
    previous_head: tuple[int, int, str] | None,
    issued_ms: int,
    central_key: SigningKey,
) -> EpochAuthorization:
    """Sign permission for ``station_id`` to open ``epoch`` (reason ``restore``, ``re_enroll``, ``fork_recovery``
    or ``install``) linked to ``previous_head`` = (epoch, seq, event id), or to nothing (zeros) when None.

    Raises:
        MalformedError: a field violates the schema.
    """
    prev_epoch, prev_seq, prev = previous_head if previous_head else (0, 0, ZERO_ID)
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "ep": epoch,
            "reason": reason,
            "prev_ep": prev_epoch,
            "prev_seq": prev_seq,
            "prev": prev,
            "issued": issued_ms,
            "kid": central_key.key_id,
        }
    )
    return parse_epoch_authorization(sign_object(KIND, body, central_key))


def parse_epoch_authorization(data: bytes) -> EpochAuthorization:
    """Parse a signed epoch authorization WITHOUT checking its signature.

    Raises:
        MalformedError: (or a subclass) not a well-formed authorization.
    """
    return _from_signed(parse_signed(data, KIND, max_size=MAX_AUTHORIZATION))


def verify_epoch_authorization(
    authorization: EpochAuthorization | bytes, central_keys: Collection[bytes], *, network: str
) -> EpochAuthorization:
    """Parse (if needed) and check an authorization against central's online keys (a root's ``central_keys``).

    Raises:
        MalformedError: not a well-formed authorization.
        UnknownKeyError: signed by a key that is not one of ``central_keys``.
        SignatureError: the signature does not verify.
        WrongNetworkError: issued for another deployment.
    """
    auth = parse_epoch_authorization(authorization) if isinstance(authorization, bytes) else authorization
    for public in central_keys:
        if key_id(public) == auth.issuer_key_id:
            auth.signed.verify(public)
            check_network(auth.network, network, "epoch authorization")
            return auth
    raise UnknownKeyError(
        "epoch authorization signed by a key that is not central's", key_id=auth.issuer_key_id
    )


def encode_authorizations(authorizations: Sequence[EpochAuthorization]) -> bytes:
    """A bundle ``authorizations`` part: each envelope followed by ``\\n`` (``signed.join_envelopes``)."""
    return join_envelopes([a.raw for a in authorizations])


def parse_authorizations(data: bytes) -> list[EpochAuthorization]:
    """Split and parse an ``authorizations`` part (signatures NOT checked: see ``verify_epoch_authorization``).

    Raises:
        MalformedError: (or a subclass) bad framing or a malformed authorization.
    """
    return [parse_epoch_authorization(e) for e in split_envelopes(data, max_items=MAX_PER_PART)]


def authorizing(
    event: Event, authorizations: Collection[EpochAuthorization], central_keys: Collection[bytes]
) -> tuple[EpochAuthorization | None, int]:
    """The first valid authorization that covers ``event``, and how many covering ones failed verification."""
    rejected = 0
    for auth in authorizations:
        if not auth.covers(event):
            continue
        try:
            return verify_epoch_authorization(auth, central_keys, network=event.network), rejected
        except ProtocolError:
            rejected += 1
    return None, rejected


__all__ = [
    "EpochAuthorization",
    "authorizing",
    "encode_authorizations",
    "parse_authorizations",
    "issue_epoch_authorization",
    "parse_epoch_authorization",
    "verify_epoch_authorization",
]
