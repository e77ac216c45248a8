"""Loading the Medicare physician fee schedule (PPRRVU) and GPCI files into pricing's tables.

Both files are read row by row and columns are found by header name, never by position: CMS moves
columns between releases. The RVU file's header is split over several rows (``WORK`` above ``RVU``),
so the rows above the one starting ``HCPCS`` are stacked into one name per column. A load of a file
whose content was already loaded for that year is skipped; a changed file replaces that year's rows in
one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import structlog
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.models import Gpci, ReferenceLoad, RelativeValue

log = structlog.get_logger(__name__)

BATCH = 2000
MAX_REJECTIONS_KEPT = 50

RVU_COLUMNS = {
    "hcpcs": "HCPCS",
    "modifier": "MOD",
    "status_code": "STATUS CODE",
    "work_rvu": "WORK RVU",
    "pe_nonfacility_rvu": "NON-FAC PE RVU",
    "pe_facility_rvu": "FACILITY PE RVU",
    "mp_rvu": "MP RVU",
    "pctc_indicator": "PCTC IND",
    "global_days": "GLOB DAYS",
    "conversion_factor": "CONV FACTOR",
}


class ReferenceFileError(ValueError):
    """The file is not in a layout we can read (a needed column is missing)."""


@dataclass
class LoadSummary:
    dataset: str
    source: str
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejections: list[dict[str, str]] = field(default_factory=list)
    skipped: bool = False

    def reject(self, row_number: int, reason: str) -> None:
        self.rows_rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append({"row": str(row_number), "reason": reason})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _normalise(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().upper()


def _decimal(value: str, column: str) -> Decimal:
    try:
        return Decimal(value.strip() or "0")
    except InvalidOperation as exc:
        raise ValueError(f"{column} is not a number: {value!r}") from exc


def read_rvu_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Yield (row number, row by our column names) or (row number, rejection reason)."""
    with path.open(newline="", encoding="latin-1") as fh:
        reader = csv.reader(fh)
        above: list[list[str]] = []
        index: dict[str, int] | None = None
        for number, row in enumerate(reader, start=1):
            if index is None:
                if row and _normalise(row[0]) == "HCPCS":
                    stacked = [
                        _normalise(" ".join(r[i] if i < len(r) else "" for r in [*above[-4:], row]))
                        for i in range(len(row))
                    ]
                    index = {}
                    for ours, theirs in RVU_COLUMNS.items():
                        if theirs not in stacked:
                            raise ReferenceFileError(f"{path.name}: no {theirs!r} column in the header")
                        index[ours] = stacked.index(theirs)
                else:
                    above.append(row)
                continue
            if not row or not row[0].strip():
                continue
            try:
                yield number, {ours: row[i].strip() for ours, i in index.items()}
            except IndexError:
                yield number, f"row has {len(row)} columns, fewer than the header"
        if index is None:
            raise ReferenceFileError(f"{path.name}: no header row starting with HCPCS")


def read_gpci_rows(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    with path.open(newline="", encoding="latin-1") as fh:
        reader = csv.reader(fh)
        index: dict[str, int] | None = None
        for number, row in enumerate(reader, start=1):
            names = [_normalise(c) for c in row]
            if index is None:
                if any(n.startswith("MEDICARE ADMINISTRATIVE CONTRACTOR") for n in names):
                    wanted = {
                        "mac": lambda n: n.startswith("MEDICARE ADMINISTRATIVE CONTRACTOR"),
                        "state": lambda n: n == "STATE",
                        "locality": lambda n: n == "LOCALITY NUMBER",
                        "locality_name": lambda n: n == "LOCALITY NAME",
                        "work": lambda n: "PW GPCI" in n or "WORK GPCI" in n,
                        "pe": lambda n: "PE GPCI" in n,
                        "mp": lambda n: "MP GPCI" in n,
                    }
                    index = {}
                    for ours, matches in wanted.items():
                        found = [i for i, n in enumerate(names) if matches(n)]
                        if not found:
                            raise ReferenceFileError(f"{path.name}: no column for {ours} in the header")
                        index[ours] = found[0]
                continue
            if len(row) <= max(index.values()) or not row[index["state"]].strip():
                continue  # footnotes and blank rows after the table
            yield number, {ours: row[i].strip() for ours, i in index.items()}
        if index is None:
            raise ReferenceFileError(
                f"{path.name}: no header row naming the Medicare Administrative Contractor"
            )


async def _already_loaded(session: AsyncSession, dataset: str, year: int, digest: str) -> bool:
    latest = (
        await session.execute(
            select(ReferenceLoad.sha256)
            .where(ReferenceLoad.dataset == dataset, ReferenceLoad.year == year)
            .order_by(ReferenceLoad.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return latest == digest


async def load_rvu(session: AsyncSession, path: Path, year: int) -> LoadSummary:
    summary = LoadSummary("rvu", path.name)
    digest = sha256_of(path)
    if await _already_loaded(session, "rvu", year, digest):
        summary.skipped = True
        return summary
    await session.execute(delete(RelativeValue).where(RelativeValue.year == year))
    batch: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for number, row in read_rvu_rows(path):
        if isinstance(row, str):
            summary.reject(number, row)
            continue
        key = (row["hcpcs"].upper(), row["modifier"].upper())
        if key in seen:
            summary.reject(number, f"duplicate row for {key[0]} modifier {key[1] or '(none)'}")
            continue
        try:
            record = {
                "year": year,
                "hcpcs": key[0],
                "modifier": key[1],
                "status_code": row["status_code"].upper(),
                "work_rvu": _decimal(row["work_rvu"], "WORK RVU"),
                "pe_nonfacility_rvu": _decimal(row["pe_nonfacility_rvu"], "NON-FAC PE RVU"),
                "pe_facility_rvu": _decimal(row["pe_facility_rvu"], "FACILITY PE RVU"),
                "mp_rvu": _decimal(row["mp_rvu"], "MP RVU"),
                "pctc_indicator": row["pctc_indicator"],
                "global_days": row["global_days"],
                "conversion_factor": _decimal(row["conversion_factor"], "CONV FACTOR"),
            }
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        seen.add(key)
        batch.append(record)
        if len(batch) >= BATCH:
            await session.execute(insert(RelativeValue), batch)
            summary.rows_loaded += len(batch)
            batch = []
    if batch:
        await session.execute(insert(RelativeValue), batch)
        summary.rows_loaded += len(batch)
    await _record_load(session, summary, year, digest)
    return summary


async def load_gpci(session: AsyncSession, path: Path, year: int) -> LoadSummary:
    summary = LoadSummary("gpci", path.name)
    digest = sha256_of(path)
    if await _already_loaded(session, "gpci", year, digest):
        summary.skipped = True
        return summary
    await session.execute(delete(Gpci).where(Gpci.year == year))
    records: list[dict[str, object]] = []
    for number, row in read_gpci_rows(path):
        if isinstance(row, str):
            summary.reject(number, row)
            continue
        try:
            records.append(
                {
                    "year": year,
                    "mac": row["mac"].zfill(5),
                    "state": row["state"].upper(),
                    "locality": row["locality"].zfill(2),
                    "locality_name": row["locality_name"].rstrip("*").strip(),
                    "work": _decimal(row["work"], "work GPCI"),
                    "pe": _decimal(row["pe"], "PE GPCI"),
                    "mp": _decimal(row["mp"], "MP GPCI"),
                }
            )
        except ValueError as exc:
            summary.reject(number, str(exc))
    if records:
        await session.execute(insert(Gpci), records)
    summary.rows_loaded = len(records)
    await _record_load(session, summary, year, digest)
    return summary


async def _record_load(session: AsyncSession, summary: LoadSummary, year: int, digest: str) -> None:
    session.add(
        ReferenceLoad(
            dataset=summary.dataset,
            year=year,
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
        loaded=summary.rows_loaded,
        rejected=summary.rows_rejected,
    )


def find_cms_files(directory: Path) -> tuple[Path, Path]:
    rvu = sorted(directory.glob("PPRRVU*.csv"))
    gpci = sorted(directory.glob("GPCI*.csv"))
    if not rvu or not gpci:
        raise ReferenceFileError(f"{directory} must hold a PPRRVU*.csv and a GPCI*.csv file")
    return rvu[-1], gpci[-1]


async def load_cms(session: AsyncSession, directory: Path, year: int) -> list[LoadSummary]:
    """Load both files in the caller's transaction, one loader at a time across replicas."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(b"pricing.reference")})
    rvu_path, gpci_path = find_cms_files(directory)
    return [await load_rvu(session, rvu_path, year), await load_gpci(session, gpci_path, year)]
