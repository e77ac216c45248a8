"""Medicare files: the physician fee schedule (PPRRVU, GPCI, 25LOCCO) and OPPS Addendum B.

Each is read through :mod:`services.pricing.importers.tables` in any layout CMS ships it (CSV, tab- or
pipe-separated text, Excel), columns found by header name, never by position: CMS moves columns between
releases, and the RVU file's header is split over several rows (``WORK`` above ``RVU``). A load replaces
that year's rows of its table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, decimal, optional_decimal
from services.pricing.importers.tables import Columns, read_table
from services.pricing.models import Gpci, LocalityCounty, OppsRate, RelativeValue

BATCH = 2000

RVU_COLUMNS = Columns(
    required={
        "hcpcs": ("HCPCS",),
        "modifier": ("MOD",),
        "status_code": ("STATUS CODE",),
        "work_rvu": ("WORK RVU",),
        "pe_nonfacility_rvu": ("NON-FAC PE RVU",),
        "pe_facility_rvu": ("FACILITY PE RVU",),
        "mp_rvu": ("MP RVU",),
        "pctc_indicator": ("PCTC IND",),
        "global_days": ("GLOB DAYS",),
        "conversion_factor": ("CONV FACTOR",),
    },
    keys=("hcpcs",),
)
GPCI_COLUMNS = Columns(
    required={
        "mac": ("Medicare Administrative Contractor*", "MAC", "Contractor"),
        "state": ("State",),
        "locality": ("Locality Number", "Locality"),
        "locality_name": ("Locality Name",),
        "work": ("*PW GPCI*", "*Work GPCI*"),
        "pe": ("*PE GPCI*",),
        "mp": ("*MP GPCI*",),
    },
    keys=("state",),  # footnotes below the table name no state
)
LOCALITY_COLUMNS = Columns(
    required={
        "mac": ("Medicare Adminstrative Contractor", "Medicare Administrative Contractor", "MAC"),
        "locality": ("Locality Number",),
        "state": ("State",),
        "area": ("Fee Schedule Area",),
        "counties": ("Counties",),
    },
    keys=("mac", "locality"),  # spacer rows between localities
)
OPPS_COLUMNS = Columns(
    required={
        "hcpcs": ("HCPCS Code", "HCPCS"),
        "status_indicator": ("SI", "Status Indicator"),
        "apc": ("APC",),
        "relative_weight": ("Relative Weight",),
        "payment_rate": ("Payment Rate",),
    }
)


class Batches:
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
    batches = Batches(session, RelativeValue, summary)
    seen: set[tuple[str, str]] = set()
    for number, row in read_table(path, RVU_COLUMNS, summary, progress):
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
    batches = Batches(session, Gpci, summary)
    for number, row in read_table(path, GPCI_COLUMNS, summary, progress):
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
    batches = Batches(session, LocalityCounty, summary)
    state = ""
    seen: set[tuple[str, str]] = set()
    for number, row in read_table(path, LOCALITY_COLUMNS, summary, progress):
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
    batches = Batches(session, OppsRate, summary)
    seen: set[str] = set()
    for number, row in read_table(path, OPPS_COLUMNS, summary, progress):
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
