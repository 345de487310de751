"""File and folder names for sealed files on HTTP and on a USB stick (names only: no I/O here).

Every name is lower-case ASCII, made of network/station ids, numbers and hex digests: never personal data.
USB layout, relative to the stick's root::

    yiciban/<network>/up/<station>/batch-<station>-e<epoch>-<first>-<last>-<digest>.age
    yiciban/<network>/up/<station>/blob-<sha256>.age
    yiciban/<network>/down/<station>/bundle-<station>-v<version>-<digest>.age
    yiciban/<network>/acks/<station>/ack-<station>-v<version>.sig

``<first>``, ``<last>`` and ``<version>`` are zero-padded to 9 digits so names sort; ``<digest>`` is the first 16
hex digits of the sha256 of the file's own bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import MalformedError
from .schema import check_name

ROOT = "yiciban"
UP, DOWN, ACKS = "up", "down", "acks"
MAX_FILE_SIZE = 64 * 1024 * 1024
"""No file on a stick or in a PUT body is larger than this."""

_BATCH = re.compile(
    r"batch-([a-z0-9][a-z0-9-]{0,63})-e([1-9][0-9]{0,8})-([0-9]{9})-([0-9]{9})-([0-9a-f]{16})\.age"
)
_BLOB = re.compile(r"blob-([0-9a-f]{64})\.age")
_BUNDLE = re.compile(r"bundle-([a-z0-9][a-z0-9-]{0,63})-v([0-9]{9})-([0-9a-f]{16})\.age")
_ACK = re.compile(r"ack-([a-z0-9][a-z0-9-]{0,63})-v([0-9]{9})\.sig")


def file_digest(data: bytes) -> str:
    """The 16-hex-digit digest that ends a file name."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class BatchName:
    station_id: str
    epoch: int
    first_seq: int
    last_seq: int
    digest: str


def batch_file_name(station_id: str, epoch: int, first_seq: int, last_seq: int, sealed: bytes) -> str:
    """``batch-<station>-e<epoch>-<first>-<last>-<digest>.age`` for the sealed bytes."""
    check_name(station_id, "station id")
    return f"batch-{station_id}-e{epoch}-{first_seq:09d}-{last_seq:09d}-{file_digest(sealed)}.age"


def parse_batch_file_name(name: str) -> BatchName:
    """Raises MalformedError unless ``name`` is a batch file name."""
    match = _BATCH.fullmatch(name)
    if match is None:
        raise MalformedError("not a batch file name")
    station, epoch, first, last, digest = match.groups()
    return BatchName(station, int(epoch), int(first), int(last), digest)


def blob_file_name(sha256_hex: str) -> str:
    """``blob-<sha256>.age``: blobs are content-addressed, so one name per content."""
    name = f"blob-{sha256_hex}.age"
    if not _BLOB.fullmatch(name):
        raise MalformedError("blob names need a lower-case sha256")
    return name


def bundle_file_name(station_id: str, version: int, sealed: bytes) -> str:
    check_name(station_id, "station id")
    return f"bundle-{station_id}-v{version:09d}-{file_digest(sealed)}.age"


def ack_file_name(station_id: str, version: int) -> str:
    check_name(station_id, "station id")
    return f"ack-{station_id}-v{version:09d}.sig"


def is_transfer_file_name(name: str) -> bool:
    """True for any name this protocol writes (a carrier copies nothing else)."""
    return any(p.fullmatch(name) for p in (_BATCH, _BLOB, _BUNDLE, _ACK))


def station_folder(network: str, station_id: str, direction: str) -> PurePosixPath:
    """The stick folder for one station and direction (``up``, ``down`` or ``acks``)."""
    if direction not in (UP, DOWN, ACKS):
        raise ValueError(f"unknown direction {direction!r}")
    return PurePosixPath(
        ROOT, check_name(network, "network id"), direction, check_name(station_id, "station id")
    )
