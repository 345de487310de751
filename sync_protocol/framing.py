"""Section framing shared by the batch and bundle containers: ``<header line>\\n<n bytes>\\n`` repeated.

A header is ASCII words separated by single spaces whose last word is the section's byte length (decimal, no
leading zeros); each section's bytes are followed by one newline so a human can read a container with ``less``.
"""

from __future__ import annotations

import re
import zlib

from .errors import MalformedError, SizeLimitError

MAX_HEADER = 160


class SectionReader:
    """Reads a container front to back; every mistake is a MalformedError."""

    def __init__(self, data: bytes, magic: bytes) -> None:
        if not data.startswith(magic):
            raise MalformedError("not a yiciban container of this kind")
        self.data = data
        self.pos = len(magic)

    def header(self, pattern: re.Pattern[bytes]) -> re.Match[bytes]:
        """The next header line, which must fully match ``pattern``."""
        end = self.data.find(b"\n", self.pos, self.pos + MAX_HEADER)
        if end < 0:
            raise MalformedError("section header missing")
        match = pattern.fullmatch(self.data[self.pos : end])
        if match is None:
            raise MalformedError("bad section header")
        self.pos = end + 1
        return match

    def take(self, length: int) -> bytes:
        """The next ``length`` bytes, which must be followed by a newline."""
        end = self.pos + length
        if end + 1 > len(self.data) or self.data[end : end + 1] != b"\n":
            raise MalformedError("section length does not match its content")
        chunk = self.data[self.pos : end]
        self.pos = end + 1
        return chunk

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise MalformedError("bytes after the end of the container")


LENGTH = rb"(0|[1-9][0-9]{0,8})"
"""A section length: decimal, no leading zeros."""


def inflate(data: bytes, limit: int) -> bytes:
    """zlib-decompress at most ``limit`` bytes: a decompression bomb stops at the cap.

    Raises:
        MalformedError: not one complete zlib stream.
        SizeLimitError: the output would exceed ``limit``.
    """
    decompressor = zlib.decompressobj()
    try:
        out = decompressor.decompress(data, limit + 1)
    except zlib.error as e:
        raise MalformedError(f"not zlib data: {e}") from e
    if len(out) > limit or decompressor.unconsumed_tail:
        raise SizeLimitError(f"container exceeds {limit} bytes")
    if not decompressor.eof or decompressor.unused_data:
        raise MalformedError("zlib stream is truncated or followed by junk")
    return out
