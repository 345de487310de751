"""The fast path of ``parse_canonical`` accepts exactly what the detailed check accepts (issue 5: central ingest
speed). Inputs are JSON-ish values outside and inside the profile (floats, huge integers, non-ASCII keys, lone
surrogates, deep nesting) written every way ``json.dumps`` can, with duplicate keys spliced in, and canonical
bytes mutated byte by byte; whatever the input, both paths agree on acceptance and value, and a refusal carries
exactly the error the detailed check words."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync_protocol.canonical import MAX_SAFE_INTEGER, _parse_checked, _parse_fast, parse_canonical
from sync_protocol.errors import ProtocolError
from tests.strategies import canonical_documents

PROPERTY = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_keys = st.one_of(
    st.text(max_size=6),  # any Unicode, lone surrogates included
    st.sampled_from(["a", "b", "名", "é", "\ud800", ""]),
)
integers = st.one_of(
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.sampled_from(
        [MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**15, -(10**15), 10**30]
    ),
    st.integers(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["中文", "\u2028", "\x00", "\ud83d", "𝄞", '"', "\\"]),
)
json_ish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(any_keys, children, max_size=4)
    ),
    max_leaves=20,
)


def dumps_any_way(value: object, sort_keys: bool, ensure_ascii: bool, compact: bool) -> bytes:
    separators = (",", ":") if compact else (", ", ": ")
    text = json.dumps(value, sort_keys=sort_keys, ensure_ascii=ensure_ascii, separators=separators)
    return text.encode("utf-8", "surrogatepass")


def outcome(parse, raw: bytes) -> tuple[str, object]:
    try:
        return "ok", parse(raw)
    except ProtocolError as error:
        return type(error).__name__, error.message


def assert_same(raw: bytes) -> None:
    checked = outcome(_parse_checked, raw)
    accepted, value = _parse_fast(raw)
    assert accepted == (checked[0] == "ok"), (raw, checked)
    if accepted:
        assert value == checked[1]
        assert json.dumps(value, sort_keys=True) == json.dumps(checked[1], sort_keys=True)  # ints stay ints
    assert outcome(parse_canonical, raw) == checked


@PROPERTY
@given(value=json_ish, sort_keys=st.booleans(), ensure_ascii=st.booleans(), compact=st.booleans())
@example(value={"a": 1.0}, sort_keys=True, ensure_ascii=False, compact=True)
@example(value={"a": 2**53}, sort_keys=True, ensure_ascii=False, compact=True)
@example(value={"a": -(2**53) + 1}, sort_keys=True, ensure_ascii=False, compact=True)
@example(value={"名": 1}, sort_keys=True, ensure_ascii=False, compact=True)
@example(value={"a": "\ud800"}, sort_keys=True, ensure_ascii=False, compact=True)
@example(value={"a": "\ud800"}, sort_keys=True, ensure_ascii=True, compact=True)
@example(value={"b": 1, "a": 2}, sort_keys=False, ensure_ascii=False, compact=True)
@example(value=float("nan"), sort_keys=True, ensure_ascii=False, compact=True)
def test_fast_path_agrees_with_the_detailed_check_on_json_ish_values(value, sort_keys, ensure_ascii, compact):
    assert_same(dumps_any_way(value, sort_keys, ensure_ascii, compact))


@PROPERTY
@given(document=canonical_documents, data=st.data())
def test_fast_path_agrees_on_mutated_canonical_bytes(document, data):
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert_same(raw)
    edits = data.draw(
        st.lists(st.tuples(st.integers(0, max(len(raw), 1)), st.binary(max_size=3)), max_size=3)
    )
    mutated = bytearray(raw)
    for position, replacement in edits:
        cut = data.draw(st.integers(0, 2))
        mutated[position : position + cut] = replacement
    assert_same(bytes(mutated))


@PROPERTY
@given(
    document=st.dictionaries(st.text(max_size=4), canonical_documents, min_size=1, max_size=5), data=st.data()
)
def test_a_repeated_key_is_refused_by_both_paths(document, data):
    """Splice a copy of one member into the object: the re-encoding can never equal input with a key twice."""
    items = sorted(document.items())
    index = data.draw(st.integers(0, len(items) - 1))
    twice = items[: index + 1] + [items[index]] + items[index + 1 :]
    raw = ("{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=False)}" for k, v in twice) + "}").encode("utf-8", "surrogatepass")  # fmt: skip
    assert_same(raw)
    assert outcome(_parse_checked, raw)[0] != "ok"


def test_deep_nesting_is_refused_with_the_detailed_reason():
    raw = b"[" * 100_000 + b"]" * 100_000
    assert_same(raw)
