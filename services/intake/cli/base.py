"""What every ``parley intake …`` and ``parley users …`` command shares: where the database is, running
the command's work in one transaction, and printing its answer.

Commands connect as the intake role with ``PARLEY_DATABASE_URL``, or to the embedded dev stack's database
with ``--embedded`` (starting its Postgres for the command if it is not running): see
:mod:`shared.commands`, which every service's commands share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.intake.keys import ALL_CLIENTS
from services.intake.models import bus
from shared.bus.outbox import Outbox, Tx
from shared.commands import Embedded, Root, run_as

OUTBOX = Outbox(bus, source="/parley/intake")
console = Console()
T = TypeVar("T")


def run(embedded: bool, root: Path, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction on intake's database; it commits when ``work`` returns. A database
    that cannot be used ends the command in one line (:mod:`shared.commands`)."""

    async def in_session(url: str) -> T:
        engine = create_async_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return run_as("intake", embedded, root, in_session)


def run_tx(embedded: bool, root: Path, work: Callable[[Tx], Awaitable[T]]) -> T:
    """``run``, with the work's events written to intake's outbox (the running service publishes them)."""
    return run(embedded, root, lambda session: work(Tx(session, OUTBOX)))


def clients_of(client: list[str] | None, all_clients: bool) -> list[str]:
    """The clients named with ``--client``, and every client (``*``) with ``--all-clients``."""
    return [*(client or []), *([ALL_CLIENTS] if all_clients else [])]


def fail(message: str, hint: str = "") -> NoReturn:
    """Say what went wrong (in red, then the hint) and end the command with exit status 1."""
    console.print(f"[red]{message}[/red]" + (f" {hint}" if hint else ""))
    raise typer.Exit(1)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print the rows as a table under the title, one column per name."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


__all__ = ["OUTBOX", "Embedded", "Root", "clients_of", "console", "fail", "print_table", "run", "run_tx"]
