"""What every reference-data load shares: streaming reads with progress, a summary, idempotence.

A load runs in the caller's transaction, so it lands whole or not at all. Files are read a row (or a
JSON item) at a time and written in batches: memory stays flat however large the file. Loading content
that is already loaded for the same target (same SHA-256) is skipped; changed content replaces what that
target held. A file that is not in a layout we can read raises :class:`ReferenceFileError` naming what is
missing; a bad row is rejected with its row number and reason and the rest is loaded. A file in which no
row at all could be loaded is refused rather than replacing good data with nothing.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing import reference_cache
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
    # Read but deliberately not loaded (placeholders, expired or derived rates…): reason → how many.
    kept_out: dict[str, int] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Something the person loading should know (an encoding fallback, the sheet read…), once."""
        if text not in self.notes:
            self.notes.append(text)

    def keep_out(self, reason: str, count: int = 1) -> None:
        """Count values the file holds that are on purpose not loaded; they end up in the notes."""
        if count:
            self.kept_out[reason] = self.kept_out.get(reason, 0) + count

    def close(self) -> None:
        """Turn the kept-out counts into notes (``run_load`` calls this when the loader is done)."""
        for reason, count in self.kept_out.items():
            self.note(f"{reason}: {count}")

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


def json_objects(value: Any, name: str) -> list[dict[str, Any]]:
    """A JSON file's array of objects (``name``: the field, for the message); missing or null is none.

    Raises ValueError naming the field when it holds anything else (a string, a number, an array of
    strings): the loaders reject that item with the reason instead of failing the load.
    """
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{name}: expected an array of objects")
    return value


def json_strings(value: Any, name: str) -> list[str]:
    """A JSON file's array of codes or names (numbers read as their text); missing or null is none.
    Raises ValueError naming the field when it is not an array of strings or numbers."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ValueError(f"{name}: expected an array of strings")
    return [str(v) for v in value]


def parse_date(value: str | None, column: str) -> date | None:
    """Dates as CMS and partners write them: 2025-01-01, 20250101, 1/1/2025; '*' or empty means none."""
    if value is None or not value.strip() or value.strip() == "*":
        return None
    raw = value.strip()
    if len(raw) == 10 and raw[4] == "-":  # ISO, by far the commonest: ten times faster than strptime
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    for layout in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(raw, layout).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    raise ValueError(f"{column} is not a date (expected YYYY-MM-DD, YYYYMMDD or M/D/YYYY)")


async def lock_loads(session: AsyncSession) -> None:
    """One reference load at a time across replicas and command-line runs."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
    await reference_cache.bump(session)  # every load and unload: pricing processes drop cached reference data


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
            notes=summary.notes,
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
