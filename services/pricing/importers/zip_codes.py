"""Which Medicare carrier and pricing locality a ZIP code is in: CMS's ZIP5 and ZIP9 files.

Both are fixed-width text without a header, read by the positions of CMS's layout documents
(``ZIP5lyout.txt``; 1-based, inclusive):

========================  ======  ==========================================================
field                     ZIP5    ZIP9
========================  ======  ==========================================================
State                     1-2     1-2
ZIP code                  3-7     3-7
Carrier                   8-12    8-12
Pricing locality          13-14   13-14
Rural indicator           15      15 (blank urban, R rural, B super rural)
Plus-four flag            21      21
+4 range (low, high)      —       22-25, 26-29
Year and quarter          76-80   76-80
========================  ======  ==========================================================

A ZIP5 load replaces every ZIP5 row; a ZIP9 load replaces every +4 range. A line that is not in the
layout (a wrong width or a letter where digits belong) is rejected naming its line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress
from services.pricing.importers.tables import read_fixed_width
from services.pricing.models import ZipLocality
from services.pricing.staging import copy_rows

ZIP5_LAYOUT = {
    "state": (1, 2),
    "zip": (3, 7),
    "carrier": (8, 12),
    "locality": (13, 14),
    "rural": (15, 15),
    "quarter": (76, 80),
}
ZIP9_LAYOUT = {**ZIP5_LAYOUT, "plus4_low": (22, 25), "plus4_high": (26, 29)}
COPY = ("zip", "plus4_low", "plus4_high", "state", "carrier", "locality", "rural", "quarter")
BATCH = 20000


def _digits(row: dict[str, str], field: str, width: int, layout: dict[str, tuple[int, int]]) -> str:
    value = row[field]
    if not (value.isdigit() and len(value) == width):
        start, end = layout[field]
        raise ValueError(f"{field} (positions {start}-{end}): {value!r} is not {width} digits")
    return value


def _record(row: dict[str, str], layout: dict[str, tuple[int, int]], plus4: bool) -> tuple[Any, ...]:
    # CMS's own state codes: USPS codes, territories, and EK / WK for the two halves of Kansas.
    if not (len(row["state"]) == 2 and row["state"].isalpha() and row["state"].isupper()):
        raise ValueError(f"state (positions 1-2): {row['state']!r} is not a state code")
    zip5 = _digits(row, "zip", 5, layout)
    carrier = _digits(row, "carrier", 5, layout)
    locality = _digits(row, "locality", 2, layout)
    if row["rural"] not in ("", "R", "B"):
        raise ValueError(f"rural (position 15): {row['rural']!r} is not blank, R or B")
    low = high = ""
    if plus4:
        low, high = _digits(row, "plus4_low", 4, layout), _digits(row, "plus4_high", 4, layout)
        if high < low:
            raise ValueError("plus4_high (positions 26-29): below the range's low end")
    return (zip5, low, high, row["state"], carrier, locality, row["rural"], row["quarter"])


async def _load(
    session: AsyncSession, path: Path, summary: LoadSummary, progress: Progress | None, *, plus4: bool
) -> None:
    layout = ZIP9_LAYOUT if plus4 else ZIP5_LAYOUT
    await session.execute(
        delete(ZipLocality).where(ZipLocality.plus4_low != "" if plus4 else ZipLocality.plus4_low == "")
    )
    pending: list[tuple[Any, ...]] = []
    seen: set[tuple[str, str]] = set()
    quarters: set[str] = set()
    for number, row in read_fixed_width(path, layout, summary, progress, keys=("zip",)):
        try:
            record = _record(row, layout, plus4)
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        if record[:2] in seen:
            summary.reject(number, f"zip (positions 3-7): {record[0]} {record[1]} appears twice".rstrip())
            continue
        seen.add(record[:2])
        quarters.add(record[-1])
        pending.append(record)
        summary.rows_loaded += 1
        if len(pending) >= BATCH:
            await copy_rows(session, "zip_localities", pending, schema="pricing", columns=COPY)
            pending = []
    await copy_rows(session, "zip_localities", pending, schema="pricing", columns=COPY)
    if quarters:
        summary.note(f"{path.name}: year and quarter {', '.join(sorted(quarters))}")


async def load_zip5(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await _load(session, path, summary, progress, plus4=False)


async def load_zip9(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await _load(session, path, summary, progress, plus4=True)
