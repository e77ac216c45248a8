"""Which text encoding a reference file is in, decided from all of its bytes, never guessed from a sample.

A file is read as:

1. the encoding its byte-order mark names: UTF-8, UTF-16 or UTF-32 (little- or big-endian);
2. otherwise UTF-8, when every byte of the file is valid UTF-8 (ASCII files included);
3. otherwise Windows-1252, the code page Excel and CMS's Windows tools write (an em dash is 0x97, a
   no-break space 0xA0). This fallback is said in the load's notes with the first byte that was not UTF-8.

A file that is none of these is refused naming the byte offset and the line: a byte Windows-1252 leaves
undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), a NUL byte (UTF-16 without a byte-order mark, or not text at
all), a sequence its byte-order mark's encoding cannot decode. Because the whole file is checked before
a row is read, decoding never fails half-way through a load.

A statistical detector (charset-normalizer) was not used: it judges from a sample, so one em dash in row
80,000 of an otherwise ASCII file would be missed, and two runs over files differing by one row could
disagree. The files CMS, hospitals and payers publish are UTF-8 (with or without a mark), UTF-16 with a
mark, or Windows-1252; the rule above reads all of them and says which it used.

The check reads the file once more (at disk speed, in 1 MiB chunks: memory stays flat); its verdict is
remembered per file (path, size, modification time), so a loader that reads a file twice pays it once.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

from services.pricing.importers.base import LoadSummary, Progress, ReferenceFileError, open_binary
from services.pricing.importers.tables.json_depth import DepthGuard, DepthGuarded

CHUNK = 1 << 20
# Longest first: a UTF-32 little-endian mark starts with the UTF-16 little-endian one.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 (little-endian, from its byte-order mark)"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 (big-endian, from its byte-order mark)"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 (with a byte-order mark)"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 (little-endian, from its byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 (big-endian, from its byte-order mark)"),
)
_CUT = ("unexpected end of data", "truncated data")  # a character split by a chunk boundary
_INVALID = {"utf-8": "not UTF-8", "cp1252": "undefined in Windows-1252"}


class UndecodableFile(ReferenceFileError):
    """The file is not text in any encoding Parley reads; the message names the byte offset and line."""


@dataclass(frozen=True)
class TextEncoding:
    """How a file's bytes become text."""

    codec: str  # Python codec for the bytes after the mark (``utf-8``, ``utf-16-le``, ``cp1252``…)
    mark: int  # bytes of the byte-order mark to skip (0 when there is none)
    label: str  # how it is named to people
    note: str | None = None  # said in the load's notes: anything but plain UTF-8 or UTF-8 with a mark


@dataclass(frozen=True)
class _Fault:
    offset: int  # of the first byte that cannot be read
    line: int
    byte: int
    reason: str


def _describe(fault: _Fault) -> str:
    return f"byte {fault.offset} (line {fault.line}) is 0x{fault.byte:02X}, {fault.reason}"


def _scan(path: Path, start: int, codec: str) -> _Fault | None:
    """The first byte from ``start`` that ``codec`` cannot decode, or a NUL; None if there is none."""
    with path.open("rb") as fh:
        fh.seek(start)
        base, lines, carry = start, 0, b""
        while True:
            chunk = fh.read(CHUNK)
            data = carry + chunk
            if not data:
                return None
            try:
                text, carry = data.decode(codec), b""
            except UnicodeDecodeError as exc:
                if chunk and exc.reason in _CUT and exc.end == len(data):
                    text, carry = data[: exc.start].decode(codec), data[exc.start :]
                else:
                    before = data[: exc.start].decode(codec)
                    return _Fault(
                        base + exc.start,
                        lines + before.count("\n") + 1,
                        data[exc.start],
                        _INVALID.get(codec, f"not {codec.upper()}"),
                    )
            nul = text.find("\x00")
            if nul >= 0:
                before = text[:nul]
                return _Fault(
                    base + len(before.encode(codec)),
                    lines + before.count("\n") + 1,
                    0,
                    "a NUL byte: not text, or UTF-16/UTF-32 without a byte-order mark",
                )
            lines += text.count("\n")
            base += len(data) - len(carry)


@lru_cache(maxsize=64)
def _detect(path: Path, _size: int, _mtime: int) -> TextEncoding:
    with path.open("rb") as fh:
        head = fh.read(4)
    for mark, codec, label in _MARKS:
        if head.startswith(mark):
            fault = _scan(path, len(mark), codec)
            if fault is not None:
                raise UndecodableFile(
                    f"{path.name}: its byte-order mark says {label}, but {_describe(fault)}"
                )
            note = None if codec == "utf-8" else f"{path.name}: read as {label}"
            return TextEncoding(codec, len(mark), label, note)
    not_utf8 = _scan(path, 0, "utf-8")
    if not_utf8 is None:
        return TextEncoding("utf-8", 0, "UTF-8")
    if not_utf8.byte == 0:
        raise UndecodableFile(f"{path.name}: cannot be read as text: {_describe(not_utf8)}")
    not_1252 = _scan(path, 0, "cp1252")
    if not_1252 is not None:
        raise UndecodableFile(
            f"{path.name}: cannot be read as text: {_describe(not_utf8)}; as Windows-1252, "
            f"{_describe(not_1252)}"
        )
    return TextEncoding(
        "cp1252", 0, "Windows-1252", f"{path.name}: {_describe(not_utf8)}: read as Windows-1252"
    )


def detect_encoding(path: Path) -> TextEncoding:
    """The encoding ``path`` is read in (see the module docstring); :class:`UndecodableFile` if none."""
    stat = path.stat()
    return _detect(path.resolve(), stat.st_size, stat.st_mtime_ns)


@contextmanager
def open_text(path: Path, summary: LoadSummary, progress: Progress | None = None) -> Iterator[IO[str]]:
    """The file as text in its detected encoding (line ends kept for the csv module); notes any fallback."""
    encoding = detect_encoding(path)
    if encoding.note:
        summary.note(encoding.note)
    with open_binary(path, progress) as raw:
        raw.read(encoding.mark)
        with io.TextIOWrapper(raw, encoding=encoding.codec, newline="") as fh:
            yield fh


def peek_text(path: Path, characters: int = 256) -> str:
    """The first characters of the file as text (to tell JSON from CSV, say)."""
    encoding = detect_encoding(path)
    with path.open("rb") as raw:
        raw.read(encoding.mark)
        with io.TextIOWrapper(raw, encoding=encoding.codec, newline="") as fh:
            return fh.read(characters)


class _AsUtf8(io.RawIOBase):
    """Re-encodes a stream of another encoding as UTF-8, a chunk at a time (JSON parsers want UTF-8)."""

    def __init__(self, raw: IO[bytes], codec: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(codec)("strict")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            chunk = self._raw.read(CHUNK)
            self._done = not chunk
            self._pending = self._decoder.decode(chunk, final=self._done).encode("utf-8")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


@contextmanager
def open_json(path: Path, summary: LoadSummary, progress: Progress | None = None) -> Iterator[IO[bytes]]:
    """The file as UTF-8 bytes without a byte-order mark, for ijson; other encodings are re-encoded.

    Nesting deeper than :data:`MAX_JSON_DEPTH` raises :class:`JsonTooDeep` while reading, before the
    parser gets the bytes (see :mod:`.json_depth`); its offset is the file's for UTF-8, else the offset
    in the file re-encoded as UTF-8.
    """
    encoding = detect_encoding(path)
    if encoding.note:
        summary.note(encoding.note)
    guard = DepthGuard(path.name, start=encoding.mark if encoding.codec == "utf-8" else 0)
    with open_binary(path, progress) as raw:
        raw.read(encoding.mark)
        utf8 = raw if encoding.codec == "utf-8" else io.BufferedReader(_AsUtf8(raw, encoding.codec), CHUNK)
        with utf8:
            yield cast(IO[bytes], DepthGuarded(utf8, guard))  # a reader: all ijson calls
