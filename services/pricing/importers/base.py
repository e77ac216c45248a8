"""What every reference-data load shares: streaming reads with progress, a summary, idempotence.

A load runs in the caller's transaction, so it lands whole or not at all. Files are read a row (or a
JSON item) at a time and written in batches: memory stays flat however large the file. Loading content
that is already loaded for the same target (same SHA-256) is skipped; changed content replaces what that
target held. A file that is not in a layout we can read raises :class:`ReferenceFileError` naming what is
missing; a bad row is rejected with its row number and reason and the rest is loaded. A file in which no
row at all could be loaded is refused rather than replacing good data with nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import ReferenceLoad

log = structlog.get_logger(__name__)

MAX_REJECTIONS_KEPT = 50
LOAD_LOCK = zlib.crc32(b"pricing.reference")

Progress = Callable[[int], None]  # called with the number of bytes read so far
Row = dict[str, Any]
RowResult = tuple[int, Row | str]  # (row number, the row) or (row number, why it was rejected)


class ReferenceFileError(ValueError):
    """The file is not in a layout we can read (a needed column is missing, it is not JSON, …)."""


@dataclass
class LoadSummary:
    dataset: str
    source: str
    target: str = ""
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejections: list[dict[str, str]] = field(default_factory=list)
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    def reject(self, row_number: int, reason: str) -> None:
        self.rows_rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append({"row": str(row_number), "reason": reason})

    def reasons(self) -> dict[str, int]:
        """Rejections grouped by reason (with row-specific values cut off), most frequent first."""
        counts: dict[str, int] = {}
        for rejection in self.rejections:
            key = rejection["reason"].split(":")[0]
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Counted(io.RawIOBase):
    """A raw file that reports how many bytes have been read, for a progress bar."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self._raw = raw
        self._progress = progress
        self._done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        self._done += n or 0
        if self._progress is not None:
            self._progress(self._done)
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


@contextmanager
def open_binary(path: Path, progress: Progress | None = None) -> Iterator[IO[bytes]]:
    with io.BufferedReader(_Counted(path.open("rb", buffering=0), progress), 1 << 16) as fh:
        yield fh


@contextmanager
def open_text(path: Path, progress: Progress | None = None, encoding: str = "utf-8-sig") -> Iterator[IO[str]]:
    with open_binary(path, progress) as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as fh:
        yield fh


def normalise(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().upper()


def decimal(value: str | float | int | None, column: str) -> Decimal:
    """A money or factor value as written in CMS and hospital files ("$3,179.53", "1.4", 25.0)."""
    found = optional_decimal(value, column)
    if found is None:
        raise ValueError(f"{column} is empty")
    return found


def optional_decimal(value: str | float | int | None, column: str) -> Decimal | None:
    """Like :func:`decimal`, with None for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    cleaned = str(value).strip().replace("$", "").replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"{column} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{column} is not a number")
    return number


def parse_date(value: str | None, column: str) -> date | None:
    """Dates as CMS and partners write them: 2025-01-01, 20250101, 1/1/2025; '*' or empty means none."""
    if value is None or not value.strip() or value.strip() == "*":
        return None
    raw = value.strip()
    for layout in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(raw, layout).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    raise ValueError(f"{column} is not a date (expected YYYY-MM-DD, YYYYMMDD or M/D/YYYY)")


def _matches(name: str, accepted: tuple[str, ...], prefix: bool) -> bool:
    return any(name.startswith(normalise(a)) if prefix else name == normalise(a) for a in accepted)


def header_index(
    header: list[str], wanted: Mapping[str, tuple[str, ...]], file_name: str, *, prefix: bool = False
) -> dict[str, int]:
    """Find each of our columns by any of its accepted header names (case and spacing ignored).

    With ``prefix``, a header matches when it starts with an accepted name: CMS writes legends into
    its headers ("Modifier 0=not allowed 1=allowed 9=not applicable").
    """
    names = [normalise(h) for h in header]
    index: dict[str, int] = {}
    for ours, accepted in wanted.items():
        found = [i for i, n in enumerate(names) if _matches(n, accepted, prefix)]
        if not found:
            raise ReferenceFileError(f"{file_name}: no column {accepted[0]!r} in the header")
        index[ours] = found[0]
    return index


def read_csv_rows(
    fh: IO[str],
    wanted: Mapping[str, tuple[str, ...]],
    file_name: str,
    *,
    optional: Mapping[str, tuple[str, ...]] | None = None,
    is_header: Callable[[list[str]], bool] | None = None,
    delimiter: str | None = None,
    prefix: bool = False,
) -> Iterator[RowResult]:
    """Rows of a delimited file by our column names, after the first row ``is_header`` accepts.

    By default the header is the first row naming every wanted column; preamble rows before it
    (copyright notices, titles) are skipped. The delimiter is sniffed
    from the first lines (comma or tab) unless given.
    """
    head = [line for line in (fh.readline() for _ in range(50)) if line]
    sample = "".join(head)
    sep = delimiter or ("\t" if sample.count("\t") > sample.count(",") else ",")
    reader = csv.reader(_chain(head, fh), delimiter=sep)

    def detect(row: list[str]) -> bool:
        if is_header is not None:
            return is_header(row)
        names = [normalise(c) for c in row]
        return all(any(_matches(n, accepted, prefix) for n in names) for accepted in wanted.values())

    index: dict[str, int] | None = None
    extra: dict[str, int] = {}
    for number, row in enumerate(reader, start=1):
        if index is None:
            if detect(row):
                index = header_index(row, wanted, file_name, prefix=prefix)
                names = [normalise(h) for h in row]
                for ours, accepted in (optional or {}).items():
                    hits = [i for i, n in enumerate(names) if _matches(n, accepted, prefix)]
                    if hits:
                        extra[ours] = hits[0]
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(index.values()):
            yield number, f"row has {len(row)} columns, fewer than the header"
            continue
        values = {ours: row[i].strip() for ours, i in index.items()}
        values.update({ours: row[i].strip() if i < len(row) else "" for ours, i in extra.items()})
        yield number, values
    if index is None:
        raise ReferenceFileError(
            f"{file_name}: no header row naming {', '.join(v[0] for v in wanted.values())}"
        )


def _chain(head: list[str], rest: IO[str]) -> Iterator[str]:
    yield from head
    yield from rest


async def lock_loads(session: AsyncSession) -> None:
    """One reference load at a time across replicas and command-line runs."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})


async def already_loaded(session: AsyncSession, dataset: str, year: int, target: str, digest: str) -> bool:
    latest = (
        await session.execute(
            select(ReferenceLoad.sha256)
            .where(
                ReferenceLoad.dataset == dataset, ReferenceLoad.year == year, ReferenceLoad.target == target
            )
            .order_by(ReferenceLoad.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return latest == digest


async def record_load(session: AsyncSession, summary: LoadSummary, year: int, digest: str) -> None:
    session.add(
        ReferenceLoad(
            dataset=summary.dataset,
            year=year,
            target=summary.target,
            source=summary.source,
            sha256=digest,
            rows_loaded=summary.rows_loaded,
            rows_rejected=summary.rows_rejected,
            rejections=summary.rejections,
        )
    )
    await session.flush()
    log.info(
        "reference.loaded",
        dataset=summary.dataset,
        source=summary.source,
        target=summary.target,
        loaded=summary.rows_loaded,
        rejected=summary.rows_rejected,
    )
