"""CMS coding edits in their published layouts: NCCI procedure-to-procedure (PTP) pairs and MUEs.

PTP files (practitioner or hospital outpatient): ``Column 1``, ``Column 2``, ``* = In existence prior to
1996``, ``Effective Date`` (YYYYMMDD), ``Deletion Date *=no data``, ``Modifier 0=not allowed 1=allowed
9=not applicable``, ``PTP Edit Rationale``, after a copyright preamble. CMS ships them as the ``.TXT``
layout (tab-separated, Latin-1 or Windows-1252, a six-line preamble whose header runs over four lines:
``Effective`` above ``Date`` above the legends), as CSV and as Excel; all read through
:mod:`services.pricing.importers.tables`. A deletion date of ``*`` or blank means none: an edit applies
to services on or after its effective date and before its deletion date (``audit.ncci``).

MUE files: ``HCPCS/CPT Code`` (in the CSV a quoted cell with a line break after a quoted copyright
preamble), ``<Practitioner|Outpatient Hospital|DME Supplier> Services MUE Values``, ``MUE Adjudication
Indicator`` ("1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service Edit: Clinical": the
leading digit is the indicator), ``MUE Rationale``. A load replaces its edit set.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, parse_date
from services.pricing.importers.tables import Columns, read_table
from services.pricing.models import MueLimit, PtpEdit
from services.pricing.service_codes import service_code

PTP_COLUMNS = Columns(
    required={
        "column1": ("Column 1",),
        "column2": ("Column 2",),
        "effective": ("Effective Date*",),
        "deletion": ("Deletion Date*",),
        "modifier": ("Modifier*",),
    },
    keys=("column1", "column2"),  # the legend lines under the header, blank and footnote rows
)
MUE_COLUMNS = Columns(
    required={
        "code": ("HCPCS/CPT Code", "HCPCS Code", "HCPCS"),
        "value": ("*MUE Values", "*MUE Value"),
        "indicator": ("MUE Adjudication Indicator*",),
    },
    optional={"rationale": ("MUE Rationale*",)},
    keys=("code",),
)
BATCH = 5000


def _code(value: str, column: str) -> str:
    code = service_code(value, None)
    if code is None:
        raise ValueError(f"{column}: not a CPT/HCPCS code")
    return code


async def load_ptp(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(PtpEdit).where(PtpEdit.edit_set == summary.target))
    pending: list[dict[str, object]] = []
    seen: set[tuple[str, str, object]] = set()
    for number, row in read_table(path, PTP_COLUMNS, summary, progress):
        try:
            record: dict[str, object] = {
                "edit_set": summary.target,
                "column1": _code(row["column1"], "Column 1"),
                "column2": _code(row["column2"], "Column 2"),
                "effective_from": parse_date(row["effective"], "Effective Date"),
                "deleted_on": parse_date(row["deletion"], "Deletion Date"),
                "modifier_indicator": row["modifier"].strip(),
            }
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        if record["effective_from"] is None:
            summary.reject(number, "Effective Date: empty")
            continue
        if record["modifier_indicator"] not in ("0", "1", "9"):
            summary.reject(number, "Modifier: expected 0, 1 or 9")
            continue
        key = (str(record["column1"]), str(record["column2"]), record["effective_from"])
        if key in seen:
            summary.reject(number, "duplicate pair and effective date")
            continue
        seen.add(key)
        pending.append(record)
        if len(pending) >= BATCH:
            await session.execute(insert(PtpEdit), pending)
            summary.rows_loaded += len(pending)
            pending = []
    if pending:
        await session.execute(insert(PtpEdit), pending)
        summary.rows_loaded += len(pending)


async def load_mue(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    await session.execute(delete(MueLimit).where(MueLimit.edit_set == summary.target))
    pending: list[dict[str, object]] = []
    seen: set[str] = set()
    for number, row in read_table(path, MUE_COLUMNS, summary, progress):
        try:
            code = _code(row["code"], "HCPCS/CPT Code")
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        if not row["value"].isdigit():
            summary.reject(number, "MUE Values: not a whole number of units")
            continue
        indicator = row["indicator"].strip()[:1]
        if indicator not in ("1", "2", "3"):
            summary.reject(number, "MUE Adjudication Indicator: expected 1, 2 or 3")
            continue
        if code in seen:
            summary.reject(number, f"duplicate row for {code}")
            continue
        seen.add(code)
        pending.append(
            {
                "edit_set": summary.target,
                "hcpcs": code,
                "mue_value": int(row["value"]),
                "adjudication_indicator": indicator,
                "rationale": row.get("rationale") or None,
            }
        )
        if len(pending) >= BATCH:
            await session.execute(insert(MueLimit), pending)
            summary.rows_loaded += len(pending)
            pending = []
    if pending:
        await session.execute(insert(MueLimit), pending)
        summary.rows_loaded += len(pending)
