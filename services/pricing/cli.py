"""``parley pricing …``: load (with a progress bar) and unload reference data, and re-price bills.

Connects as the pricing role with ``PARLEY_DATABASE_URL``, or with ``--embedded`` to the `make up` stack's
database (:mod:`shared.commands`: a database that cannot be used is one line, never a traceback). A
re-pricing writes its ``bill.priced`` event to the pricing outbox in the same transaction; the running
pricing service's relay publishes it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.pricing.config import PricingSettings
from services.pricing.importers import (
    DATASETS,
    LoadSummary,
    NothingToUnload,
    ReferenceFileError,
    Unloaded,
    UnloadError,
    load_manifest,
    run_load,
)
from services.pricing.importers import unload as unload_dataset
from services.pricing.importers.unload import UNITS
from services.pricing.importers.unload import check as check_unload
from services.pricing.models import access, bus
from services.pricing.pricings import reprice
from services.pricing.repository import PricingRepository
from shared.auth import operator, write_audit
from shared.bus.outbox import Outbox, Tx
from shared.commands import Embedded, Root, run_as
from shared.db import create_engine
from shared.stack.devstack import DEFAULT_ROOT

app = typer.Typer(help="Pricing: reference data and re-pricing.", no_args_is_help=True)
console = Console()


def _settings(url: str) -> PricingSettings:
    return PricingSettings(service="pricing-cli", database_url=url)


def _print(summary: LoadSummary, seconds: float) -> None:
    if summary.skipped:
        console.print(
            f"[yellow]{summary.dataset} {summary.source}: this content is already loaded; nothing changed"
        )
        return
    rate = summary.rows_loaded / seconds if seconds > 0 else 0
    console.print(
        f"[green]{summary.dataset} {summary.source}{' → ' + summary.target if summary.target else ''}: "
        f"{summary.rows_loaded:,} rows loaded, {summary.rows_rejected:,} rejected in {seconds:.1f}s "
        f"({rate:,.0f} rows/s)"
    )
    for note in summary.notes:
        console.print(f"  {note}")
    if summary.rejections:
        table = Table(title="rejected rows (first 50)")
        table.add_column("row")
        table.add_column("reason")
        for rejection in summary.rejections[:50]:
            table.add_row(rejection["row"], rejection["reason"])
        console.print(table)


@app.command()
def datasets() -> None:
    """What can be loaded."""
    table = Table(title="reference datasets")
    for column in ("dataset", "what", "options", "unload empties"):
        table.add_column(column)
    for d in DATASETS.values():
        options = (
            "--year"
            if d.needs_year
            else f"--target {'|'.join(d.targets)}"
            if d.targets
            else ("--target SOURCE" if d.named else "")
        )
        empties = {"year": "a --year", "target": "a --target", "all": "the whole table"}[UNITS[d.name].key]
        table.add_row(d.name, d.what, options, empties)
    console.print(table)


@app.command()
def load(
    dataset: Annotated[str, typer.Argument(help="See `parley pricing datasets`.")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    year: Annotated[int | None, typer.Option(help="CMS year of a Medicare file.")] = None,
    target: Annotated[
        str | None, typer.Option(help="Edit set (ncci, mue) or observation source name.")
    ] = None,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Load one file, streamed, in one transaction: all of it or nothing."""
    if dataset not in DATASETS:
        raise typer.BadParameter(f"unknown dataset; one of {', '.join(DATASETS)}", param_hint="DATASET")
    size = path.stat().st_size

    async def run(url: str) -> tuple[LoadSummary, float]:
        engine = create_engine(_settings(url), pool_size=1)
        try:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar:
                task = bar.add_task(f"{dataset} {path.name}", total=size)
                started = asyncio.get_running_loop().time()
                async with async_sessionmaker(engine)() as session, session.begin():
                    summary = await run_load(
                        session,
                        dataset,
                        path,
                        year=year,
                        target=target,
                        progress=lambda done: bar.update(task, completed=done),
                    )
                    bar.update(task, completed=size, description=f"{dataset} {path.name}: committing")
                return summary, asyncio.get_running_loop().time() - started
        finally:
            await engine.dispose()

    try:
        summary, seconds = run_as("pricing", embedded, root, run)
    except (ReferenceFileError, ValueError) as exc:
        console.print(f"[red]Nothing loaded: {exc}")
        raise typer.Exit(1) from exc
    _print(summary, seconds)


@app.command("load-manifest")
def load_manifest_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Load every file a manifest lists (the format the dev stack and tests use)."""

    async def run(url: str) -> list[LoadSummary]:
        engine = create_engine(_settings(url), pool_size=1)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                return await load_manifest(session, path)
        finally:
            await engine.dispose()

    try:
        for summary in run_as("pricing", embedded, root, run):
            _print(summary, 0.0)
    except (ReferenceFileError, ValueError) as exc:
        console.print(f"[red]Nothing loaded: {exc}")
        raise typer.Exit(1) from exc


@app.command()
def unload(
    dataset: Annotated[
        str, typer.Argument(help="See `parley pricing datasets` (the `unload empties` column).")
    ],
    reason: Annotated[str, typer.Option(help="Why; kept with the load records and in the audit log.")],
    year: Annotated[int | None, typer.Option(help="The year (fiscal year for IPPS) to empty.")] = None,
    target: Annotated[
        str | None, typer.Option(help="The edit set, observation source, definition id or facility NPI.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Empty one year, target or table of a dataset, on purpose (a file with no row is refused instead)."""
    if dataset not in DATASETS:
        raise typer.BadParameter(f"unknown dataset; one of {', '.join(DATASETS)}", param_hint="DATASET")
    try:
        unit = check_unload(dataset, year, target)
    except UnloadError as exc:
        field, _, message = str(exc).partition(": ")
        raise typer.BadParameter(message, param_hint=f"--{field}") from exc
    what = {"year": f"year {year}", "target": f"{unit.names} {target!r}", "all": "every row"}[unit.key]
    if not yes:
        typer.confirm(f"Empty {dataset} for {what}?", abort=True)

    async def run(url: str) -> Unloaded:
        engine = create_engine(_settings(url), pool_size=1)
        try:
            async with async_sessionmaker(engine)() as session, session.begin():
                done = await unload_dataset(session, dataset, year=year, target=target, reason=reason)
                await write_audit(
                    session,
                    access.audit_log,
                    operator(),
                    "unload:reference",
                    "dataset",
                    dataset,
                    None,
                    detail={
                        "year": year,
                        "target": done.target,
                        "rows_removed": done.rows_removed,
                        "reason": reason,
                    },
                )
                return done
        finally:
            await engine.dispose()

    try:
        done = run_as("pricing", embedded, root, run)
    except NothingToUnload as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from exc
    console.print(f"[green]{dataset}: {what} emptied, {done.rows_removed:,} rows removed")


@app.command("reprice")
def reprice_command(
    reason: Annotated[str, typer.Option(help="Why, e.g. 'OPPS 2026 loaded'; kept with the revision.")],
    bill_ids: Annotated[list[uuid.UUID] | None, typer.Argument(help="Bills to price again.")] = None,
    priced_before: Annotated[
        datetime | None,
        typer.Option(help="Also every bill whose latest pricing is older than this (ISO time)."),
    ] = None,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Price bills again with today's reference data; each gets a new revision, history is kept."""

    async def run(url: str) -> int:
        settings = _settings(url)
        engine = create_engine(settings, pool_size=1)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        outbox = Outbox(bus, source="/parley/pricing")
        done = 0
        try:
            chosen = list(bill_ids or [])
            if priced_before is not None:
                async with sessions() as session:
                    chosen += await PricingRepository(session).bills_priced_before(priced_before)
            for bill_id in dict.fromkeys(chosen):
                async with sessions() as session, session.begin():
                    pricing = await reprice(Tx(session, outbox), bill_id, settings, reason)
                if pricing is None:
                    console.print(f"[yellow]{bill_id}: pricing never received this bill")
                    continue
                done += 1
                console.print(
                    f"{bill_id}: revision {pricing.revision}, "
                    f"{pricing.method}, allowed {pricing.total_allowed}"
                )
        finally:
            await engine.dispose()
        return done

    console.print(f"re-priced {run_as('pricing', embedded, root, run)} bill(s)")
