"""A limit on how deeply a reference JSON file nests, checked on the bytes before the parser sees them.

ijson (every JSON loader's parser) keeps, for each open array or object, the dotted path to it, so its
memory grows with the square of the nesting depth: 60 KB of ``[`` made the pricing service use 2.1 GB,
and 200 KB got it killed. Real files are shallow (a Transparency in Coverage in-network file nests 7
levels, a hospital price-transparency file 6, Parley's definition files 4), so a file nested deeper than
:data:`MAX_JSON_DEPTH` levels is refused with :class:`JsonTooDeep`, naming the byte offset, before the
parser is given the chunk that goes too deep.

:class:`DepthGuard` sits between the file and the parser and costs little: per chunk, escapes are cut
out (when there is a backslash at all), ``bytes.translate`` keeps only quotes and brackets, and one
regular expression drops the strings from what is left (all in C, over a few kilobytes per 64 KiB
chunk); matched ``[]``/``{}`` pairs are then removed level by level (a few passes for a shallow file) to
bound the deepest point of the chunk. Only a chunk whose bound exceeds the limit is walked bracket by bracket,
and only a chunk that really does is walked byte by byte to name the offset. A string (or an escape)
split across two chunks is carried over.
"""

from __future__ import annotations

import re
from typing import IO

from services.pricing.importers.base import ReferenceFileError

MAX_JSON_DEPTH = 64

# Escapes are pairs (a backslash and the byte it escapes): cut them out first, then only quotes and
# brackets decide what is inside a string. A backslash outside a string is not JSON: the parser stops
# there whatever follows, so cutting it with its next byte cannot hide a level the parser would open.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_STRUCTURE = bytes.maketrans(b"[{]}", b"(())")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


class JsonTooDeep(ReferenceFileError):
    """The JSON nests deeper than the limit; ``offset`` is the byte that opened the level too many."""

    def __init__(self, name: str, offset: int, limit: int) -> None:
        super().__init__(
            f"{name}: JSON nested deeper than {limit} levels at byte {offset} (reference files nest fewer "
            "than 12); refused before reading further"
        )
        self.offset = offset
        self.limit = limit


class DepthGuard:
    """Follows the nesting depth of a JSON byte stream fed to it chunk by chunk (see the module doc).

    ``feed`` raises :class:`JsonTooDeep` when a chunk opens level ``limit + 1``; offsets count from
    ``start`` (the bytes of a byte-order mark already skipped). Malformed JSON is the parser's business:
    an unmatched closing bracket takes the depth below zero, and the parser stops at it, before anything
    that follows could nest.
    """

    def __init__(self, name: str, limit: int = MAX_JSON_DEPTH, start: int = 0) -> None:
        self.name = name
        self.limit = limit
        self.depth = 0
        self.offset = start  # of the next byte fed
        self.in_string = False
        self.escaped = False  # the previous chunk ended on a backslash inside a string

    def feed(self, chunk: bytes) -> None:
        start_state = (self.depth, self.in_string, self.escaped)
        rest = chunk[1:] if self.escaped else chunk
        self.escaped = False
        if b"\\" in rest:
            rest = _ESCAPE.sub(b"", rest)
            if rest.endswith(b"\\"):  # a lone backslash ends the chunk: it escapes the next one's first byte
                rest, self.escaped = rest[:-1], True
        structure = rest.translate(_STRUCTURE, _NOT_STRUCTURE)  # quotes and brackets only, in C
        if self.in_string:
            closing = structure.find(b'"')
            structure = b"" if closing < 0 else structure[closing + 1 :]
            self.in_string = closing < 0
        brackets = _STRING.sub(b"", structure)
        opening = brackets.find(b'"')
        if opening >= 0:  # a string opens and goes on into the next chunk
            brackets, self.in_string = brackets[:opening], True
        opened, closed = brackets.count(b"("), brackets.count(b")")
        if self.depth + opened > self.limit and self._deepest(brackets) > self.limit:
            self._refuse(chunk, start_state)
        self.depth += opened - closed
        self.offset += len(chunk)

    def _deepest(self, brackets: bytes) -> int:
        """The deepest level the chunk reaches: a cheap upper bound first, exact only when it matters."""
        nested, rest = 0, brackets
        while b"()" in rest:  # each pass removes the innermost level of matched pairs
            if self.depth + nested >= self.limit:
                break  # deep already: walk it
            rest = rest.replace(b"()", b"")
            nested += 1
        else:
            bound = self.depth + rest.count(b"(") + nested
            if bound <= self.limit:
                return bound
        depth = deepest = self.depth
        for bracket in brackets:
            depth += 1 if bracket == ord("(") else -1
            deepest = max(deepest, depth)
        return deepest

    def _refuse(self, chunk: bytes, state: tuple[int, bool, bool]) -> None:
        """Walk the chunk byte by byte from its start to name the offset of the level too many."""
        depth, in_string, escaped = state
        for index, byte in enumerate(chunk):
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash (outside a string too, as ``feed`` reads it)
                escaped = True
            elif in_string:
                in_string = byte != 0x22  # quote
            elif byte == 0x22:
                in_string = True
            elif byte in (0x5B, 0x7B):  # [ {
                depth += 1
                if depth > self.limit:
                    raise JsonTooDeep(self.name, self.offset + index, self.limit)
            elif byte in (0x5D, 0x7D):  # ] }
                depth -= 1
        raise AssertionError("the bound said the chunk goes too deep")  # pragma: no cover


class DepthGuarded:
    """A JSON byte stream whose every chunk goes through a :class:`DepthGuard` before it is handed on.

    Only ``read`` (all a JSON parser calls): no buffer of its own, so the bytes are not copied again.
    """

    def __init__(self, raw: IO[bytes], guard: DepthGuard) -> None:
        self._raw = raw
        self._guard = guard

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._guard.feed(data)
        return data
