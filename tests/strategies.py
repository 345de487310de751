"""Shared hypothesis strategies for the wire format, the chain and the merge."""

from __future__ import annotations

import hashlib

from hypothesis import strategies as st

MAX_SAFE_INTEGER = 2**53 - 1

safe_integers = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
ascii_keys = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
# Any Unicode scalar value except surrogates (which UTF-8 cannot carry).
unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)

json_scalars = st.one_of(st.none(), st.booleans(), safe_integers, unicode_text)
canonical_documents = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(ascii_keys, children, max_size=6),
    ),
    max_leaves=40,
)
"""Documents inside the restricted RFC 8785 profile of docs/PROTOCOL.md §2."""

json_objects = st.dictionaries(ascii_keys, canonical_documents, max_size=8)

payloads = st.dictionaries(
    st.sampled_from(["field", "old", "new", "from", "to", "note", "amount_fen", "tags"]),
    st.one_of(unicode_text, st.integers(0, 10**12), st.lists(unicode_text, max_size=3)),
    max_size=5,
)
"""Event payloads: intent-shaped (old→new, from→to) with Chinese text, amounts in fen and set-like lists."""


@st.composite
def chain_lengths_and_cuts(draw, max_events: int = 40):
    """A chain length and a sorted list of cut points splitting 1..n into contiguous batches."""
    length = draw(st.integers(min_value=1, max_value=max_events))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(1, length - 1)), max_size=6)))
    cuts = [c for c in cuts if 0 < c < length]
    return length, cuts


def split_at(items: list, cuts: list[int]) -> list[list]:
    """Split ``items`` at the given indices into contiguous runs."""
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


@st.composite
def deliveries(draw, batch_count: int):
    """An order of delivery for ``batch_count`` batches: a permutation with duplicates, every batch at least once."""
    order = draw(st.permutations(list(range(batch_count))))
    extra = draw(st.lists(st.integers(0, batch_count - 1), max_size=batch_count))
    positions = [draw(st.integers(0, len(order) + i)) for i in range(len(extra))]
    result = list(order)
    for item, position in zip(extra, positions, strict=True):
        result.insert(position, item)
    return result


def fixed_seed(label: str) -> bytes:
    return hashlib.sha256(b"yiciban strategy key " + label.encode()).digest()
