"""``parley intake …``: operator commands for partner keys, partner settings and the patient-data audit
log.

They connect as the intake role with ``PARLEY_DATABASE_URL``, or to the embedded dev stack's database
with ``--embedded`` (starting its Postgres for the command if it is not running).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.intake.keys import ALL_CLIENTS, create_key, list_keys, revoke_key
from services.intake.models import AuditEntry
from services.intake.partners import check_separator, list_partners, set_composite_separator
from shared.catalog import service
from shared.settings import Settings
from shared.stack.devstack import DEFAULT_ROOT, DevStack, EmbeddedInfrastructure

app = typer.Typer(help="Intake: partner API keys, partner settings and the audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="Partner API keys (stored hashed, scoped to clients).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
partners_app = typer.Typer(help="Partners and their intake settings.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
console = Console()
T = TypeVar("T")

Embedded = Annotated[bool, typer.Option(help="Use the embedded dev stack's database (under --root).")]
Root = Annotated[Path, typer.Option(help="The embedded stack's folder.")]


@contextlib.contextmanager
def _database_url(embedded: bool, root: Path) -> Iterator[str]:
    if not embedded:
        yield Settings().database_url
        return
    stack = DevStack(root=root)
    assert isinstance(stack.infra, EmbeddedInfrastructure)
    postgres = stack.infra.postgres
    was_running = postgres.is_running()
    postgres.start()
    try:
        yield stack.database_url(service("intake"))
    finally:
        if not was_running:
            postgres.stop()


def _run(embedded: bool, root: Path, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run(url: str) -> T:
        engine = create_async_engine(url)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    with _database_url(embedded, root) as url:
        return asyncio.run(run(url))


@keys_app.command("create")
def keys_create(
    partner: Annotated[str, typer.Option(help="Partner id, e.g. acme-tpa (created on first use).")],
    client: Annotated[
        list[str] | None, typer.Option(help="A client the key may act for; repeat for several.")
    ] = None,
    all_clients: Annotated[
        bool, typer.Option(help="Scope the key to every client of the partner, present and future.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="The partner's display name (first use).")] = None,
    label: Annotated[str | None, typer.Option(help="What this key is for, e.g. production.")] = None,
    quiet: Annotated[bool, typer.Option(help="Print the key only (for scripts).")] = False,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Create a key and print it. It is shown once: Parley keeps only a hash of it."""
    clients = [*(client or []), *([ALL_CLIENTS] if all_clients else [])]
    try:
        new = _run(
            embedded,
            root,
            lambda s: create_key(s, partner_id=partner, clients=clients, partner_name=name, label=label),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if quiet:
        typer.echo(new.key)
        return
    console.print(f"key id [bold]{new.key_id}[/bold] for partner {partner}, clients: {', '.join(clients)}")
    console.print(f"API key (shown once, give it to the partner securely):\n{new.key}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Revoke a key by its id; requests with it are refused within PARLEY_INTAKE_AUTH_CACHE_SECONDS."""
    if not _run(embedded, root, lambda s: revoke_key(s, key_id)):
        console.print(f"[red]no active key {key_id}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's keys.")] = None,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Every key with its partner, clients and state (never the key itself)."""
    keys = _run(embedded, root, lambda s: list_keys(s, partner))
    table = Table(title=f"{len(keys)} key(s)")
    for column in ("key id", "partner", "clients", "label", "created", "revoked"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.id,
            k.partner_id,
            ", ".join(k.clients),
            k.label or "",
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    console.print(table)


@partners_app.command("set")
def partners_set(
    partner: Annotated[str, typer.Argument(help="Partner id, e.g. acme-tpa.")],
    composite_separator: Annotated[
        str,
        typer.Option(
            help="The character this partner writes between components although its ISA16 declares "
            "another, e.g. '>'; 'none' clears it (composites must then use ISA16's separator)."
        ),
    ],
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Record a partner's X12 setting. Claims read with it carry a warning saying so."""
    try:
        separator = check_separator(composite_separator)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--composite-separator") from exc
    if not _run(embedded, root, lambda s: set_composite_separator(s, partner, separator)):
        console.print(f"[red]no partner {partner}[/red] (partners are created with their first key)")
        raise typer.Exit(1)
    said = f"'{separator}'" if separator else "none (ISA16's separator only)"
    console.print(f"partner {partner}: composite separator {said}")


@partners_app.command("list")
def partners_list(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Every partner with its settings."""
    partners = _run(embedded, root, list_partners)
    table = Table(title=f"{len(partners)} partner(s)")
    for column in ("partner", "name", "composite separator", "webhook", "active keys"):
        table.add_column(column)
    for p in partners:
        table.add_row(
            p.id, p.name, p.composite_separator or "", "yes" if p.webhook else "", str(p.active_keys)
        )
    console.print(table)


@app.command("audit")
def audit(
    bill: Annotated[uuid.UUID, typer.Option(help="The bill whose reads to list.")],
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Who read a bill's patient data, and when."""

    async def read(session: AsyncSession) -> list[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.bill_id == bill).order_by(AuditEntry.at)
        return list((await session.execute(stmt)).scalars().all())

    entries = _run(embedded, root, read)
    table = Table(title=f"{len(entries)} read(s) of bill {bill}")
    for column in ("at", "partner", "key id", "action", "request id"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.at.isoformat(timespec="seconds"), e.partner_id, e.key_id, e.action, e.request_id or ""
        )
    console.print(table)
