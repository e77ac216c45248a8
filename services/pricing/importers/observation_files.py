"""Charge and allowance observations from any other export: a generic CSV (or Excel) table.

Columns ``kind`` (charge or allowed), ``setting`` (professional or facility), ``code`` (CPT/HCPCS,
optionally ``-26``/``-TC``, or ``RC`` + a revenue code), ``amount`` (for all ``units``), and optionally
``units``, ``state``, ``zip``, ``facility_npi``, ``observed_on`` and ``weight`` (how many observations
the row stands for). Read through :mod:`services.pricing.importers.tables`, so any encoding and layout
it reads will do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import LoadSummary, Progress, decimal, parse_date
from services.pricing.importers.observed import LARGEST, Registry, start_observations
from services.pricing.importers.tables import Columns, read_table
from services.pricing.observations import ObservationIn
from services.pricing.service_codes import COMPONENT_MODIFIERS, cents, service_code
from shared.codes import US_STATES

# What the observations' weight column holds (a 4-byte integer).
MAX_WEIGHT = 2**31 - 1

OBSERVATION_COLUMNS = Columns(
    required={"kind": ("kind",), "setting": ("setting",), "code": ("code",), "amount": ("amount",)},
    optional={
        "units": ("units",),
        "state": ("state",),
        "zip": ("zip",),
        "facility_npi": ("facility_npi",),
        "observed_on": ("observed_on",),
        "weight": ("weight",),
    },
)


def observation_from_row(row: dict[str, str], registry: Registry) -> ObservationIn:
    """One row of the generic CSV as an observation; ValueError names the column that is wrong."""
    kind = row["kind"].lower()
    if kind not in ("charge", "allowed"):
        raise ValueError("kind: expected charge or allowed")
    setting = row["setting"].lower()
    if setting not in ("professional", "facility"):
        raise ValueError("setting: expected professional or facility")
    raw_code = row["code"].strip().upper()
    if raw_code.startswith("RC"):
        code = service_code(None, raw_code[2:])
    else:
        base, _, component = raw_code.partition("-")
        code = service_code(base, None, [component]) if component in ("", *COMPONENT_MODIFIERS) else None
    if code is None:
        raise ValueError("code: not a CPT/HCPCS code (optionally -26 or -TC) or RC + a revenue code")
    amount = decimal(row["amount"], "amount")
    units = decimal(row.get("units") or "1", "units")
    if amount <= 0 or units <= 0:
        raise ValueError("amount: amount and units must be greater than zero")
    if amount / units > LARGEST:
        raise ValueError(f"amount: the amount per unit is over {LARGEST:,}, too large for a price")
    per_unit = cents(amount / units)
    if per_unit <= 0:
        raise ValueError("amount: the amount per unit (amount ÷ units) is under half a cent")
    weight = row.get("weight") or "1"
    if not weight.isdigit() or not 1 <= int(weight) <= MAX_WEIGHT:
        raise ValueError(f"weight: a whole number of observations, from 1 to {MAX_WEIGHT:,}")
    state = (row.get("state") or "").upper() or None
    if state is not None and state not in US_STATES:
        raise ValueError("state: not a US state code")
    zip_code = (row.get("zip") or "").strip()
    if zip_code and not (zip_code[:5].isdigit() and len(zip_code) >= 5):
        raise ValueError("zip: not a ZIP code")
    npi = row.get("facility_npi") or None
    if npi in registry and state is None:
        state, zip_from_registry = registry[npi]
        zip_code = zip_code or zip_from_registry
    return ObservationIn(
        kind=kind,
        setting=setting,
        code=code,
        amount=per_unit,
        weight=int(weight),
        state=state,
        zip3=zip_code[:3] or None,
        facility_npi=npi,
        observed_on=parse_date(row.get("observed_on"), "observed_on"),
    )


async def load_observations_csv(
    session: AsyncSession, path: Path, _: int, summary: LoadSummary, progress: Progress | None
) -> None:
    known, writer = await start_observations(session, "file", summary)
    for number, row in read_table(path, OBSERVATION_COLUMNS, summary, progress):
        try:
            observation = observation_from_row(row, known)
        except ValueError as exc:
            summary.reject(number, str(exc))
            continue
        summary.rows_loaded += 1
        await writer.add([observation])
    await writer.finish()
