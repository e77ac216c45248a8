"""Reference-data loads by name: the one entry point the command line, the admin API and start-up share.

``run_load`` takes the load lock, skips content already loaded for the same target, runs the dataset's
streaming loader in the caller's transaction and records what happened. A file with no loadable row
(every row rejected, or no row at all: a header-only file) is refused (:class:`NothingLoaded`) so a bad
file never replaces good data; emptying a target on purpose is :func:`unload`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.pricing.importers.base import (
    LoadSummary,
    Progress,
    ReferenceFileError,
    already_loaded,
    lock_loads,
    record_load,
    sha256_of,
)
from services.pricing.importers.edits import load_mue, load_ptp
from services.pricing.importers.facilities import load_facilities
from services.pricing.importers.hospital_prices import load_hpt
from services.pricing.importers.inpatient import load_drg_weights, load_ipps_rates, load_wage_index
from services.pricing.importers.medicare import load_gpci, load_localities, load_opps, load_rvu
from services.pricing.importers.observation_files import load_observations_csv
from services.pricing.importers.specialty import (
    load_anesthesia_base_units,
    load_anesthesia_cf,
    load_clfs,
    load_dmepos,
)
from services.pricing.importers.tables import MAX_JSON_DEPTH, JsonTooDeep
from services.pricing.importers.terms import load_clients, load_contracts, load_fee_schedules, load_networks
from services.pricing.importers.tic_load import load_tic
from services.pricing.importers.unload import NothingToUnload, Unloaded, UnloadError, unload
from services.pricing.importers.zip_codes import load_zip5, load_zip9
from services.pricing.staging import quiesce

Loader = Callable[[AsyncSession, Path, int, LoadSummary, Progress | None], Awaitable[None]]

__all__ = [
    "DATASETS",
    "MAX_JSON_DEPTH",
    "JsonTooDeep",
    "LoadParameterError",
    "LoadSummary",
    "NothingLoaded",
    "NothingToUnload",
    "ReferenceFileError",
    "UnloadError",
    "Unloaded",
    "load_cms",
    "load_manifest",
    "run_load",
    "unload",
]


@dataclass(frozen=True)
class Dataset:
    name: str
    loader: Loader
    what: str
    needs_year: bool = False
    targets: tuple[str, ...] = ()  # allowed targets; empty with ``named`` means any source name
    named: bool = False  # observations: the target is the source's name, replaced on reload


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "rvu",
            load_rvu,
            "Medicare physician fee schedule relative values (PPRRVU: CSV, text or Excel)",
            needs_year=True,
        ),
        Dataset(
            "gpci",
            load_gpci,
            "Medicare geographic practice cost indices (GPCI: CSV, text or Excel)",
            needs_year=True,
        ),
        Dataset(
            "localities",
            load_localities,
            "Counties of each Medicare locality (LOCCO: CSV, text or Excel)",
            needs_year=True,
        ),
        Dataset(
            "opps", load_opps, "OPPS Addendum B payment rates (tab-separated, CSV or Excel)", needs_year=True
        ),
        Dataset(
            "drg-weights",
            load_drg_weights,
            "IPPS Table 5: MS-DRG relative weights (CMS tab text, CSV or Excel; --year = fiscal year)",
            needs_year=True,
        ),
        Dataset(
            "ipps-rates",
            load_ipps_rates,
            "IPPS national standardized amounts and capital federal rate per fiscal year (CSV)",
        ),
        Dataset(
            "wage-index",
            load_wage_index,
            "IPPS wage indexes by CCN (Table 2) or CBSA (Table 3) (--year = fiscal year)",
            needs_year=True,
        ),
        Dataset(
            "anesthesia-cf",
            load_anesthesia_cf,
            "Anesthesia conversion factors by contractor and locality (ANES: CSV, text or Excel)",
            needs_year=True,
        ),
        Dataset(
            "anesthesia-base-units",
            load_anesthesia_base_units,
            "Anesthesia base units by code (CMS text, CSV or Excel)",
        ),
        Dataset(
            "clfs",
            load_clfs,
            "Clinical Laboratory Fee Schedule (CMS CSV with its preamble, text or Excel)",
            needs_year=True,
        ),
        Dataset(
            "dmepos",
            load_dmepos,
            "DMEPOS fee schedule by state, rural and non-rural (CMS Excel, or CSV)",
            needs_year=True,
        ),
        Dataset("zip5", load_zip5, "ZIP code to Medicare carrier and locality (CMS ZIP5 fixed width)"),
        Dataset("zip9", load_zip9, "ZIP+4 ranges priced in another locality (CMS ZIP9 fixed width)"),
        Dataset(
            "fee-schedules", load_fee_schedules, "Jurisdiction fee schedules with exempt facilities (JSON)"
        ),
        Dataset("contracts", load_contracts, "PPO contracts and direct agreements (JSON)"),
        Dataset("networks", load_networks, "Custom networks: the contracts each may use (JSON)"),
        Dataset("clients", load_clients, "Client settings: network, U&C percentile and basis (JSON)"),
        Dataset("facilities", load_facilities, "Facility registry with credentials (CSV)"),
        Dataset(
            "hpt",
            load_hpt,
            "Hospital price-transparency standard charges and negotiated rates (v3 tall/wide CSV or JSON)",
            named=True,
        ),
        Dataset(
            "tic",
            load_tic,
            "Transparency in Coverage in-network rates or allowed amounts (JSON)",
            named=True,
        ),
        Dataset(
            "observations", load_observations_csv, "Charge/allowance observations (generic CSV)", named=True
        ),
        Dataset(
            "ncci",
            load_ptp,
            "NCCI procedure-to-procedure edits (CMS .TXT, CSV or Excel layout)",
            targets=("practitioner", "hospital"),
        ),
        Dataset(
            "mue",
            load_mue,
            "Medically unlikely edits (CMS CSV, text or Excel layout)",
            targets=("practitioner", "hospital", "dme"),
        ),
    )
}


class LoadParameterError(ValueError):
    """A load was asked for wrongly (a missing year, an unknown edit set); message starts with the field."""


class NothingLoaded(ReferenceFileError):
    """No row of the file could be loaded (none at all, or every one rejected or kept out); nothing was
    changed. A file with nothing to load never empties a dataset: that is an unload, said on purpose."""

    def __init__(self, summary: LoadSummary) -> None:
        self.summary = summary
        if not summary.rows_rejected and not summary.kept_out:
            super().__init__(
                f"{summary.source}: the file holds no row to load (a header or an empty list only); "
                "nothing was changed. To empty what is loaded, unload it: DELETE /v1/reference/"
                f"{summary.dataset} or `parley pricing unload {summary.dataset}`"
            )
            return
        reasons = "; ".join(f"row {r['row']}: {r['reason']}" for r in summary.rejections[:3])
        kept_out = "; ".join(f"{reason}: {count}" for reason, count in summary.kept_out.items())
        why = ", ".join(
            part
            for part in (
                f"{summary.rows_rejected} rejected: {reasons}" if summary.rows_rejected else "",
                f"kept out: {kept_out}" if kept_out else "",
            )
            if part
        )
        super().__init__(f"{summary.source}: no row could be loaded ({why})")


def resolve_target(dataset: Dataset, path: Path, target: str | None) -> str:
    if dataset.targets:
        if target not in dataset.targets:
            raise LoadParameterError(f"target: {dataset.name} needs one of {', '.join(dataset.targets)}")
        return target
    if dataset.named:
        return (target or path.stem).strip()
    return ""


async def run_load(
    session: AsyncSession,
    name: str,
    path: Path,
    *,
    year: int | None = None,
    target: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load one file into one dataset in the caller's transaction; see the module docstring."""
    dataset = DATASETS[name]
    if dataset.needs_year and year is None:
        raise LoadParameterError(f"year: {name} needs the CMS year of the file")
    summary = LoadSummary(name, source or path.name, resolve_target(dataset, path, target))
    await lock_loads(session)
    digest = sha256_of(path)
    year_key = year if dataset.needs_year and year is not None else 0
    if await already_loaded(session, name, year_key, summary.target, digest):
        summary.skipped = True
        return summary
    try:
        await dataset.loader(session, path, year_key, summary, progress)
    except BaseException:
        # An observation load may fail while a chunk of its still runs on the connection
        # (ObservationWriter): the caller's rollback must wait for it.
        await quiesce(session)
        raise
    summary.close()
    if summary.rows_loaded == 0:  # a header-only file would otherwise have emptied the target
        raise NothingLoaded(summary)
    await record_load(session, summary, year_key, digest)
    return summary


def find_cms_files(directory: Path) -> list[tuple[str, Path]]:
    """The bundled-layout CMS files of one folder, by dataset."""
    patterns = {
        "rvu": "PPRRVU*.csv",
        "gpci": "GPCI*.csv",
        "localities": "*LOCCO*.csv",
        "opps": "OPPS*Addendum*B*.txt",
    }
    found = []
    for dataset, pattern in patterns.items():
        matches = sorted(directory.glob(pattern))
        if dataset in ("rvu", "gpci") and not matches:
            raise ReferenceFileError(f"{directory} must hold a PPRRVU*.csv and a GPCI*.csv file")
        if matches:
            found.append((dataset, matches[-1]))
    return found


async def load_cms(session: AsyncSession, directory: Path, year: int) -> list[LoadSummary]:
    return [await run_load(session, d, p, year=year) for d, p in find_cms_files(directory)]


async def load_manifest(
    session: AsyncSession, manifest: Path, progress: Progress | None = None
) -> list[LoadSummary]:
    """Load every file a manifest lists, in order: ``[{"dataset", "file", "year"?, "target"?}, …]``.

    Paths are relative to the manifest. This is how the dev stack and the tests seed fee schedules,
    contracts and observations, through the same loaders as any other file.
    """
    try:
        with manifest.open() as fh:  # a few lines: reading it does not block anyone
            entries = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise ReferenceFileError(f"{manifest}: not a readable JSON manifest ({exc})") from exc
    summaries = []
    for entry in entries:
        if entry.get("dataset") not in DATASETS:
            raise ReferenceFileError(f"{manifest}: unknown dataset {entry.get('dataset')!r}")
        summaries.append(
            await run_load(
                session,
                entry["dataset"],
                manifest.parent / entry["file"],
                year=entry.get("year"),
                target=entry.get("target"),
                progress=progress,
            )
        )
    return summaries
