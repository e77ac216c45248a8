"""Medicare files: the physician fee schedule (PPRRVU, GPCI, 25LOCCO) and OPPS Addendum B.

Columns are found by header name, never by position: CMS moves columns between releases. The RVU
file's header is split over several rows (``WORK`` above ``RVU``), so the rows above the one starting
``HCPCS`` are stacked into one name per column. A load replaces that year's rows of its table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import (
    LoadSummary,
    Progress,
    ReferenceFileError,
    RowResult,
    decimal,
    normalise,
    open_text,
    optional_decimal,
    read_csv_rows,
)
from services.pricing.models import Gpci, LocalityCounty, OppsRate, RelativeValue

BATCH = 2000

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

OPPS_COLUMNS = {
    "hcpcs": ("HCPCS Code", "HCPCS"),
    "status_indicator": ("SI", "Status Indicator"),
    "apc": ("APC",),
    "relative_weight": ("Relative Weight",),
    "payment_rate": ("Payment Rate",),
}


def read_rvu_rows(fh: IO[str], name: str) -> Iterator[RowResult]:
    """Yield (row number, row by our column names) or (row number, rejection reason)."""
    reader = csv.reader(fh)
    above: list[list[str]] = []
    index: dict[str, int] | None = None
    for number, row in enumerate(reader, start=1):
        if index is None:
            if row and normalise(row[0]) == "HCPCS":
                stacked = [
                    normalise(" ".join(r[i] if i < len(r) else "" for r in [*above[-4:], row]))
                    for i in range(len(row))
                ]
                index = {}
                for ours, theirs in RVU_COLUMNS.items():
                    if theirs not in stacked:
                        raise ReferenceFileError(f"{name}: no {theirs!r} column in the header")
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
        raise ReferenceFileError(f"{name}: no header row starting with HCPCS")


def read_gpci_rows(fh: IO[str], name: str) -> Iterator[RowResult]:
    reader = csv.reader(fh)
    index: dict[str, int] | None = None
    for number, row in enumerate(reader, start=1):
        names = [normalise(c) for c in row]
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
                        raise ReferenceFileError(f"{name}: no column for {ours} in the header")
                    index[ours] = found[0]
            continue
        if len(row) <= max(index.values()) or not row[index["state"]].strip():
            continue  # footnotes and blank rows after the table
        yield number, {ours: row[i].strip() for ours, i in index.items()}
    if index is None:
        raise ReferenceFileError(f"{name}: no header row naming the Medicare Administrative Contractor")


class _Batches:
    """Insert records in batches of ``BATCH``; counts what it wrote."""

    def __init__(self, session: AsyncSession, table: Any, summary: LoadSummary) -> None:
        self.session, self.table, self.summary = session, table, summary
        self.pending: list[dict[str, Any]] = []

    async def add(self, record: dict[str, Any]) -> None:
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.pending:
            await self.session.execute(insert(self.table), self.pending)
            self.summary.rows_loaded += len(self.pending)
            self.pending = []


async def load_rvu(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(RelativeValue).where(RelativeValue.year == year))
    batches = _Batches(session, RelativeValue, summary)
    seen: set[tuple[str, str]] = set()
    with open_text(path, progress, encoding="latin-1") as fh:
        for number, row in read_rvu_rows(fh, path.name):
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
                    "work_rvu": decimal(row["work_rvu"] or "0", "WORK RVU"),
                    "pe_nonfacility_rvu": decimal(row["pe_nonfacility_rvu"] or "0", "NON-FAC PE RVU"),
                    "pe_facility_rvu": decimal(row["pe_facility_rvu"] or "0", "FACILITY PE RVU"),
                    "mp_rvu": decimal(row["mp_rvu"] or "0", "MP RVU"),
                    "pctc_indicator": row["pctc_indicator"],
                    "global_days": row["global_days"],
                    "conversion_factor": decimal(row["conversion_factor"] or "0", "CONV FACTOR"),
                }
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            seen.add(key)
            await batches.add(record)
    await batches.flush()


async def load_gpci(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(Gpci).where(Gpci.year == year))
    batches = _Batches(session, Gpci, summary)
    with open_text(path, progress, encoding="latin-1") as fh:
        for number, row in read_gpci_rows(fh, path.name):
            if isinstance(row, str):
                summary.reject(number, row)
                continue
            try:
                record = {
                    "year": year,
                    "mac": row["mac"].zfill(5),
                    "state": row["state"].upper(),
                    "locality": row["locality"].zfill(2),
                    "locality_name": row["locality_name"].rstrip("*").strip(),
                    "work": decimal(row["work"], "work GPCI"),
                    "pe": decimal(row["pe"], "PE GPCI"),
                    "mp": decimal(row["mp"], "MP GPCI"),
                }
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            await batches.add(record)
    await batches.flush()


async def load_localities(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(LocalityCounty).where(LocalityCounty.year == year))
    batches = _Batches(session, LocalityCounty, summary)
    wanted = {
        "mac": ("Medicare Adminstrative Contractor", "Medicare Administrative Contractor", "MAC"),
        "locality": ("Locality Number",),
        "state": ("State",),
        "area": ("Fee Schedule Area",),
        "counties": ("Counties",),
    }
    state = ""
    seen: set[tuple[str, str]] = set()
    with open_text(path, progress, encoding="latin-1") as fh:
        for number, row in read_csv_rows(fh, wanted, path.name):
            if isinstance(row, str):
                summary.reject(number, row)
                continue
            if not row["mac"] and not row["locality"]:
                continue  # a continuation or spacer row
            state = row["state"] or state  # the state is written once, on its first locality
            key = (row["mac"].zfill(5), row["locality"].zfill(2))
            if not row["mac"].isdigit() or key in seen:
                summary.reject(number, "not a locality row (no numeric MAC) or a repeated locality")
                continue
            seen.add(key)
            await batches.add(
                {
                    "year": year,
                    "mac": key[0],
                    "locality": key[1],
                    "state_name": state.strip(),
                    "area": row["area"].strip(),
                    "counties": row["counties"].strip(),
                }
            )
    await batches.flush()


async def load_opps(
    session: AsyncSession, path: Path, year: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(OppsRate).where(OppsRate.year == year))
    batches = _Batches(session, OppsRate, summary)
    seen: set[str] = set()
    with open_text(path, progress, encoding="latin-1") as fh:
        for number, row in read_csv_rows(fh, OPPS_COLUMNS, path.name, delimiter="\t"):
            if isinstance(row, str):
                summary.reject(number, row)
                continue
            code = row["hcpcs"].upper()
            if not code or not row["status_indicator"]:
                summary.reject(number, "no HCPCS code or status indicator")
                continue
            if code in seen:
                summary.reject(number, f"duplicate row for {code}")
                continue
            try:
                record = {
                    "year": year,
                    "hcpcs": code,
                    "status_indicator": row["status_indicator"].upper(),
                    "apc": row["apc"] or None,
                    "relative_weight": optional_decimal(row["relative_weight"], "Relative Weight"),
                    "payment_rate": optional_decimal(row["payment_rate"], "Payment Rate"),
                }
            except ValueError as exc:
                summary.reject(number, str(exc))
                continue
            seen.add(code)
            await batches.add(record)
    await batches.flush()
