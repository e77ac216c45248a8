"""Emptying what loads put in, on purpose: ``DELETE /v1/reference/{dataset}`` and ``parley pricing unload``.

A file with no loadable row is refused, so no upload empties a dataset by accident; an operator who means
to empty one says so with an unload, naming the same unit a load replaces:

- a year's rows (``--year``): the CMS datasets loaded with a year, and ``ipps-rates`` (the fiscal year);
- an edit set (``ncci``, ``mue``: ``--target``);
- an observation source (``hpt``, ``tic``, ``observations``: ``--target``), with its U&C cells;
- one definition by id (``fee-schedules``, ``contracts``, ``networks``, ``clients``; ``facilities``: an
  NPI, its peer cells following the registry);
- the whole table (``zip5``, ``zip9``, ``anesthesia-base-units``).

It runs under the load lock in the caller's transaction and is recorded in ``reference_loads`` (source
``(unloaded)``, no digest, the reason in its notes), so the same file loaded afterwards loads again.
Nothing to remove is :class:`NothingToUnload`, so a typo in a year or a name is said, never a silent no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import lock_loads
from services.pricing.models import (
    AnesthesiaBaseUnit,
    AnesthesiaConversionFactor,
    ClientSettings,
    ClinicalLabRate,
    Contract,
    DmeposFee,
    DrgWeight,
    Facility,
    FeeSchedule,
    Gpci,
    IppsRate,
    LocalityCounty,
    MueLimit,
    Network,
    OppsRate,
    PtpEdit,
    ReferenceLoad,
    RelativeValue,
    WageIndex,
    ZipLocality,
)
from services.pricing.observations import refold_facilities, withdraw

Remove = Callable[[AsyncSession, int | str], Awaitable[int]]  # (session, the year or target) → rows


class UnloadError(ValueError):
    """An unload asked for wrongly; the message starts with the parameter (``year: …``)."""


class NothingToUnload(LookupError):
    """Nothing is loaded for that dataset and year or target; nothing changed."""


@dataclass(frozen=True)
class Unit:
    """What one unload of a dataset removes: a year's rows, one target's, or all of them."""

    key: str  # "year", "target" or "all"
    remove: Remove
    names: str = ""  # what a target is, for messages ("edit set", "observation source", …)
    choices: tuple[str, ...] = ()  # the only targets there are (edit sets)


def _rows(column: Any) -> Remove:
    async def remove(session: AsyncSession, key: int | str) -> int:
        statement = delete(column.class_).where(column == key).execution_options(synchronize_session=False)
        return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    return remove


def _every(model: Any, *conditions: Any) -> Remove:
    async def remove(session: AsyncSession, _: int | str) -> int:
        statement = delete(model).where(*conditions).execution_options(synchronize_session=False)
        return int((await session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    return remove


def _source(origin: str) -> Remove:
    async def remove(session: AsyncSession, name: int | str) -> int:
        return await withdraw(session, origin, str(name))

    return remove


async def _facility(session: AsyncSession, npi: int | str) -> int:
    if await session.get(Facility, str(npi)) is None:
        return 0
    # Its observations leave its place and peer groups with its credentials, for the place of an
    # unregistered provider at the same state and ZIP3.
    await refold_facilities(session, [str(npi)], add=False)
    await session.execute(delete(Facility).where(Facility.npi == str(npi)))
    await refold_facilities(session, [str(npi)], add=True)
    return 1


EDIT_SETS = {"ncci": ("practitioner", "hospital"), "mue": ("practitioner", "hospital", "dme")}
UNITS: dict[str, Unit] = {
    "rvu": Unit("year", _rows(RelativeValue.year)),
    "gpci": Unit("year", _rows(Gpci.year)),
    "localities": Unit("year", _rows(LocalityCounty.year)),
    "opps": Unit("year", _rows(OppsRate.year)),
    "drg-weights": Unit("year", _rows(DrgWeight.fiscal_year)),
    "ipps-rates": Unit("year", _rows(IppsRate.fiscal_year)),
    "wage-index": Unit("year", _rows(WageIndex.fiscal_year)),
    "anesthesia-cf": Unit("year", _rows(AnesthesiaConversionFactor.year)),
    "clfs": Unit("year", _rows(ClinicalLabRate.year)),
    "dmepos": Unit("year", _rows(DmeposFee.year)),
    "anesthesia-base-units": Unit("all", _every(AnesthesiaBaseUnit)),
    "zip5": Unit("all", _every(ZipLocality, ZipLocality.plus4_low == "")),
    "zip9": Unit("all", _every(ZipLocality, ZipLocality.plus4_low != "")),
    "fee-schedules": Unit("target", _rows(FeeSchedule.id), "fee schedule id"),
    "contracts": Unit("target", _rows(Contract.id), "contract id"),
    "networks": Unit("target", _rows(Network.id), "network id"),
    "clients": Unit("target", _rows(ClientSettings.client_id), "client id"),
    "facilities": Unit("target", _facility, "facility NPI"),
    "hpt": Unit("target", _source("hpt"), "observation source"),
    "tic": Unit("target", _source("tic"), "observation source"),
    "observations": Unit("target", _source("file"), "observation source"),
    "ncci": Unit("target", _rows(PtpEdit.edit_set), "edit set", EDIT_SETS["ncci"]),
    "mue": Unit("target", _rows(MueLimit.edit_set), "edit set", EDIT_SETS["mue"]),
}
# Loads of these record their target (the rest are recorded under "", see ``run_load``).
TARGETED_LOADS = frozenset({"hpt", "tic", "observations", "ncci", "mue"})


@dataclass(frozen=True)
class Unloaded:
    dataset: str
    year: int | None
    target: str | None
    rows_removed: int


def check(dataset: str, year: int | None, target: str | None) -> Unit:
    """The unit of ``dataset``, with ``year``/``target`` given exactly when it needs them."""
    unit = UNITS[dataset]
    if unit.key == "year" and year is None:
        raise UnloadError(f"year: {dataset} is unloaded a year at a time; give the year to empty")
    if unit.key != "year" and year is not None:
        raise UnloadError(f"year: {dataset} has no year; leave it out")
    if unit.key == "target" and not (target or "").strip():
        raise UnloadError(f"target: {dataset} is unloaded one {unit.names} at a time; name it")
    if unit.key != "target" and target is not None:
        raise UnloadError(f"target: {dataset} has no target; leave it out")
    if unit.choices and target not in unit.choices:
        raise UnloadError(f"target: {dataset} edit sets are {', '.join(unit.choices)}")
    return unit


async def unload(
    session: AsyncSession, dataset: str, *, year: int | None, target: str | None, reason: str
) -> Unloaded:
    """Empty one unit of ``dataset`` in the caller's transaction (see the module docstring).

    Raises :class:`UnloadError` for a missing or needless parameter and :class:`NothingToUnload` when
    nothing is loaded there.
    """
    unit = check(dataset, year, target)
    name = (target or "").strip()
    await lock_loads(session)
    removed = await unit.remove(session, year if unit.key == "year" and year is not None else name)
    what = {"year": f"year {year}", "target": f"{unit.names} {name!r}", "all": "every row"}[unit.key]
    if removed == 0:
        raise NothingToUnload(f"nothing is loaded in {dataset} for {what}; nothing changed")
    # The key a load of this unit is recorded under, so that the same file loads again afterwards.
    load_year = year if unit.key == "year" and dataset != "ipps-rates" else 0
    load_target = name if dataset in TARGETED_LOADS else ""
    session.add(
        ReferenceLoad(
            dataset=dataset,
            year=load_year or 0,
            target=load_target,
            source="(unloaded)",
            sha256="",
            rows_loaded=0,
            rows_rejected=0,
            rejections=[],
            notes=[f"unloaded {what}: {removed:,} rows removed", f"reason: {reason}"],
        )
    )
    await session.flush()
    return Unloaded(dataset, year, name or None, removed)
