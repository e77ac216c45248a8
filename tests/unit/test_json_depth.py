"""The nesting limit on reference JSON: refused at the right byte, before the parser sees it, whatever the
chunking; strings (with brackets, escapes and quotes in them) never count."""

from __future__ import annotations

import codecs
import itertools
import json
import resource
from pathlib import Path

import ijson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.pricing.importers.base import LoadSummary
from services.pricing.importers.tables import MAX_JSON_DEPTH, JsonTooDeep, open_json
from services.pricing.importers.tables.json_depth import DepthGuard


def first_too_deep(data: bytes, limit: int) -> int | None:
    """The plain walk the guard must agree with: offset of the first byte opening level limit + 1."""
    depth, in_string, escaped = 0, False, False
    for index, byte in enumerate(data):
        if escaped:
            escaped = False
        elif byte == ord("\\"):  # outside a string it is not JSON: the parser stops there anyway
            escaped = True
        elif in_string:
            in_string = byte != ord('"')
        elif byte == ord('"'):
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > limit:
                return index
        elif byte in b"]}":
            depth -= 1
    return None


def guarded_verdict(data: bytes, cuts: list[int], limit: int) -> int | None:
    guard = DepthGuard("test.json", limit)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    try:
        for start, end in itertools.pairwise(bounds):
            guard.feed(data[start:end])
    except JsonTooDeep as exc:
        return exc.offset
    return None


PIECES = [b"[", b"]", b"{", b"}", b'"', b"\\", b"\\\\", b'\\"', b"a", b",", b":", b"1", b'"[{"', b"  "]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=120),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    limit=st.integers(min_value=1, max_value=6),
)
def test_the_guard_agrees_with_a_plain_walk_however_the_bytes_are_chunked(
    pieces: list[bytes], cuts: list[int], limit: int
) -> None:
    data = b"".join(pieces)
    assert guarded_verdict(data, cuts, limit) == first_too_deep(data, limit)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count() -> None:
    nested = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    text = json.dumps({"note": "[[[[{{{{" * 40 + '"\\' + "]]]"}).encode()
    data = b'{"a": ' + text + b', "b": ' + nested[1:-1] + b"}"
    assert first_too_deep(data, MAX_JSON_DEPTH) is None
    for size in (1, 2, 3, 7, 64, 4096):  # every chunking: a string or an escape cut anywhere
        assert guarded_verdict(data, list(range(0, len(data), size)), MAX_JSON_DEPTH) is None
    deeper = b'{"a": ' + text + b', "b": ' + nested + b"}"
    expected = len(b'{"a": ' + text + b', "b": ') + MAX_JSON_DEPTH - 1
    assert first_too_deep(deeper, MAX_JSON_DEPTH) == expected
    for size in (1, 5, 64, 100_000):
        assert guarded_verdict(deeper, list(range(0, len(deeper), size)), MAX_JSON_DEPTH) == expected


def test_a_deep_file_is_refused_at_its_byte_before_ijson_grows(tmp_path: Path) -> None:
    # 200 KB of arrays got pricing OOM-killed before the limit: ijson's memory grows with depth squared.
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"in_network": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(JsonTooDeep) as refused, open_json(path, LoadSummary("tic", path.name)) as fh:
        for _ in ijson.items(fh, "in_network.item"):
            pass
    assert refused.value.offset == len(b'{"in_network": ') + MAX_JSON_DEPTH - 1
    assert f"deep.json: JSON nested deeper than 64 levels at byte {refused.value.offset}" in str(
        refused.value
    )
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: under 50 MB


def test_the_offset_counts_a_byte_order_mark_and_a_shallow_file_reads_whole(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_bytes(codecs.BOM_UTF8 + b"[" * 70 + b"]" * 70)
    with pytest.raises(JsonTooDeep) as refused, open_json(deep, LoadSummary("hpt", deep.name)) as fh:
        list(ijson.items(fh, "item"))
    assert refused.value.offset == 3 + MAX_JSON_DEPTH  # the mark, then the 65th bracket
    shallow = tmp_path / "shallow.json"
    document = {"in_network": [{"rates": [[[1, {"x": "]]]"}]]]} for _ in range(3000)]}
    shallow.write_bytes(json.dumps(document).encode())
    with open_json(shallow, LoadSummary("tic", shallow.name)) as fh:
        assert len(list(ijson.items(fh, "in_network.item"))) == 3000
