"""``parley reporting …``: make a weekly report, re-work the KPI tables, load demo history.

Reads ``PARLEY_DATABASE_URL`` (the reporting role) and the ``PARLEY_REPORTING_*`` settings; a database
that cannot be used is one line, never a traceback (:mod:`shared.commands`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.reporting.config import ReportingSettings
from services.reporting.weekly import make_report, week_start
from shared.commands import hint, run_on
from shared.db import create_engine, session_factory

app = typer.Typer(help="Reporting: weekly reports, KPI tables, demo history.", no_args_is_help=True)
console = Console()


def _settings() -> ReportingSettings:
    return ReportingSettings(service="reporting-cli")


@app.command()
def weekly(
    client: Annotated[str, typer.Option("--client", help="The client id.")],
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W48.")],
    out: Annotated[Path | None, typer.Option(help="Also write the HTML and PDF into this folder.")] = None,
) -> None:
    """Make the client's weekly report for WEEK and store it (replacing one made before)."""
    try:
        week_start(week)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--week") from exc
    settings = _settings()

    async def run() -> tuple[str, bytes, str]:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session, session.begin():
                report = await make_report(session, settings, client, week, made_by="command")
                return report.html, report.pdf, report.pdf_sha256
        finally:
            await engine.dispose()

    html, pdf, sha = run_on(settings.database_url, run, hint(embedded_option=False))
    console.print(f"[green]weekly report of {client} for {week} stored[/green] (PDF SHA-256 {sha})")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"weekly-{client}-{week}.html").write_text(html)
        (out / f"weekly-{client}-{week}.pdf").write_bytes(pdf)
        console.print(f"written to {out}")


@app.command()
def rebuild() -> None:
    """Fill the KPI tables again from the per-bill facts (after changing a KPI's definition)."""
    from services.reporting.rebuild import rebuild as rebuild_tables

    settings = _settings()

    async def run() -> int:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await rebuild_tables(session, settings.zone)
        finally:
            await engine.dispose()

    rebuilt = run_on(settings.database_url, run, hint(embedded_option=False))
    console.print(f"[green]KPI tables rebuilt from {rebuilt:,} bills[/green]")


@app.command("demo-history")
def demo_history(
    bills: Annotated[int, typer.Option(help="How many synthetic demo bills.")] = 240,
) -> None:
    """Load six weeks of SYNTHETIC demo bills for the demo clients (flagged demo; a no-op when loaded),
    with demo fee terms, and make last week's weekly reports."""
    from datetime import UTC, datetime

    from services.reporting.demo import CLIENTS, last_week_start, load_history
    from services.reporting.weekly import week_of

    settings = _settings()

    async def run() -> int:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session, session.begin():
                added = await load_history(session, settings, bills=bills)
                if added:
                    # Fold here rather than leave it to the running service's fold loop, which cannot
                    # see these deltas before this transaction commits; wait out a fold in progress.
                    from services.reporting.cubes import fold_pending

                    while await fold_pending(session, wait=True):
                        pass
                    week = week_of(last_week_start(datetime.now(UTC), settings))
                    for client in CLIENTS:
                        await make_report(session, settings, client, week, made_by="demo")
                return added
        finally:
            await engine.dispose()

    added = run_on(settings.database_url, run, hint(embedded_option=False))
    console.print(f"demo history: {added} synthetic bills loaded" if added else "demo history already loaded")
