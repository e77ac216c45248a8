"""``parley``: start the platform, run a service, migrate, and operate the bus.

Services add their own sub-commands in ``services/<name>/cli.py`` or a ``cli`` package (a typer app
named ``app``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from shared.bus.kafka import ensure_topics
from shared.catalog import SERVICE_NAMES, SERVICES, service
from shared.commands import check_database, database_errors, hint
from shared.migrations import revision as alembic_revision
from shared.migrations import upgrade
from shared.observability import configure_logging
from shared.operator_cli import ServiceName, audit_log, check_service, dlq_app, outbox_app
from shared.settings import Settings
from shared.stack.demo import (
    DEMO_REFERENCE_MANIFEST,
    create_demo_key,
    create_demo_tokens,
    load_demo,
    load_reporting_history,
)
from shared.stack.devstack import DEFAULT_ROOT, DevStack, EmbeddedInfrastructure
from shared.stack.postgres import EmbeddedPostgres

app = typer.Typer(help="Parley: medical-bill negotiation platform.", no_args_is_help=True)
console = Console()


@app.callback()
def _quiet_logs() -> None:
    # The command line speaks through rich; library logs only matter when something is wrong.
    configure_logging(Settings(log_json=False, log_level="WARNING", service="cli"))


@app.command()
def up(
    root: Annotated[
        Path, typer.Option(help="Where the embedded stack keeps its data and logs.")
    ] = DEFAULT_ROOT,
    broker_port: Annotated[int, typer.Option(help="Loopback port of the embedded broker.")] = 19092,
    demo: Annotated[bool, typer.Option(help="Load demo bills and play their negotiations.")] = True,
    fresh: Annotated[bool, typer.Option(help="Delete the kept data first.")] = False,
) -> None:
    """Start everything on this machine: Postgres, the broker, the five services. Ctrl-C stops it all."""
    stack = DevStack(
        root=root,
        broker_port=broker_port,
        service_env={"pricing": {"PARLEY_REFERENCE_MANIFEST": str(DEMO_REFERENCE_MANIFEST)}},
    )
    embedded = stack.infra
    assert isinstance(embedded, EmbeddedInfrastructure)
    if fresh:
        embedded.postgres.destroy()
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started = time.monotonic()
        stack.check_ports()
        console.print("[bold]Starting Postgres and the broker…[/bold]")
        await stack.start_infrastructure()
        redelivered = await stack.redeliver_recent_events()
        if redelivered:
            console.print(
                f"  re-publishing {redelivered} recent events to the fresh broker (duplicates are dropped)"
            )
        console.print("[bold]Starting the services…[/bold]")
        stack.start_services()
        await stack.wait_ready()
        ready_in = time.monotonic() - started
        urls = {name: proc.base_url for name, proc in stack.services.items()}
        if demo:
            console.print("[bold]Loading demo bills…[/bold]")
            intake_url = stack.database_url(service("intake"))
            key = await asyncio.to_thread(create_demo_key, intake_url)
            tokens = await create_demo_tokens(intake_url, urls)
            for row in await load_demo(urls, key, tokens):
                console.print(
                    f"  {row['claim']}: bill {row['bill_id']} is [cyan]{row['status']}[/cyan] "
                    f"({row['route']} route, case {row['case']})"
                )
                if row.get("note"):
                    console.print(f"    {row['note']}")
            history = await asyncio.to_thread(
                load_reporting_history, stack.database_url(service("reporting"))
            )
            console.print(f"  reporting: {history} (synthetic, flagged demo)")
        _print_where_to_look(stack, embedded, ready_in)
        if demo:
            console.print(f"Demo partner API key (clients acme-employers, harbor-comp): [bold]{key}[/bold]")
            console.print("Demo users' tokens (sign in at any service's /signin, or send as a Bearer token):")
            for role, token in tokens.items():
                # Plain, one per line, exactly `token <role>: <token>`, so scripts can pick them up.
                print(f"token {role}: {token}")  # noqa: T201
        while not stop.is_set():
            crashed = [name for name, proc in stack.services.items() if not proc.running()]
            if crashed:
                console.print(f"[red]{', '.join(crashed)} stopped; see {stack.logs}. Shutting down.[/red]")
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    try:
        asyncio.run(run())
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]Could not start: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        console.print("[bold]Stopping…[/bold]")
        stack.stop()
        console.print("Stopped. Data kept in " + str(stack.root))


def _print_where_to_look(stack: DevStack, embedded: EmbeddedInfrastructure, ready_in: float) -> None:
    table = Table(title=f"Parley is up (ready in {ready_in:.1f}s)")
    table.add_column("service")
    table.add_column("API docs")
    table.add_column("try")
    tries = {
        "intake": "/v1/bills/{id}",
        "pricing": "/v1/pricings/{bill_id}",
        "negotiation": "/v1/queues",
        "agreements": "/v1/agreements",
        "reporting": "/dashboard",
    }
    for name, proc in stack.services.items():
        table.add_row(name, f"{proc.base_url}/docs", f"{proc.base_url}{tries[name]}")
    console.print(table)
    console.print(f"Broker: {embedded.bootstrap}   Postgres socket: {embedded.postgres.socket_dir}")
    console.print(f"Logs: {stack.logs}   Press Ctrl-C to stop.")


@app.command()
def serve(
    name: ServiceName,
    host: str = "0.0.0.0",  # noqa: S104 - a container's service listens on its interface
    port: int | None = None,
    migrate: Annotated[bool, typer.Option(help="Upgrade the service's schema before serving.")] = True,
    workers: int = 1,
) -> None:
    """Run one service (what containers run). Reads PARLEY_* from the environment."""
    info = service(check_service(name))
    if migrate:
        _upgrade(info.name, Settings().database_url)
    uvicorn.run(
        info.app_factory,
        factory=True,
        host=host,
        port=port or info.port,
        workers=workers,
        access_log=False,
        lifespan="on",
    )


@app.command()
def migrate(
    names: Annotated[list[str] | None, typer.Argument(help="Services to migrate (default: all).")] = None,
    embedded: Annotated[bool, typer.Option(help="Use the embedded stack's database under --root.")] = False,
    root: Path = DEFAULT_ROOT,
) -> None:
    """Upgrade service schemas to the latest revision.

    With --embedded, starts the embedded Postgres if needed and migrates every service as its own role.
    Otherwise migrates each named service with PARLEY_DATABASE_URL (that service's role).
    """
    chosen = [check_service(n) for n in (names or list(SERVICE_NAMES))]
    if embedded:
        stack = DevStack(root=root)
        postgres = _embedded_postgres(stack)
        was_running = postgres.is_running()
        postgres.start()
        try:
            from shared.stack.bootstrap import create_database, create_roles_and_schemas, migrate_all

            async def run() -> None:
                await create_database(stack.superuser_url("postgres"))
                await create_roles_and_schemas(stack.superuser_url())
                await migrate_all(stack.database_url, tuple(service(n) for n in chosen))

            asyncio.run(run())
        finally:
            if not was_running:
                postgres.stop()
    else:
        url = Settings().database_url
        for name in chosen:
            _upgrade(name, url)
    console.print(f"migrated: {', '.join(chosen)}")


def _upgrade(name: str, url: str) -> None:
    """Migrate one service's schema; a database that cannot be used is one line, not a traceback."""
    why = hint(embedded_option=False)
    check_database(url, why)
    with database_errors(url, why):
        upgrade(name, url)


@app.command("new-migration")
def new_migration(
    name: ServiceName,
    message: Annotated[str, typer.Option("-m", "--message")],
    root: Path = DEFAULT_ROOT,
) -> None:
    """Autogenerate a migration for one service against the embedded database; review it before committing."""
    info = service(check_service(name))
    stack = DevStack(root=root)
    postgres = _embedded_postgres(stack)
    was_running = postgres.is_running()
    postgres.start()
    try:
        alembic_revision(info.name, stack.database_url(info), message)
    finally:
        if not was_running:
            postgres.stop()


def _embedded_postgres(stack: DevStack) -> EmbeddedPostgres:
    assert isinstance(stack.infra, EmbeddedInfrastructure)
    return stack.infra.postgres


@app.command()
def topics() -> None:
    """Create every topic (and dead-letter topic) on PARLEY_KAFKA_BOOTSTRAP."""
    created = asyncio.run(ensure_topics(Settings()))
    console.print(f"created: {', '.join(created) or 'nothing (all exist)'}")


app.command("audit")(audit_log)
app.add_typer(dlq_app, name="dlq")
app.add_typer(outbox_app, name="outbox")


def _add_service_commands() -> None:
    """``parley <service> …`` for each service's ``cli.app``, plus any top-level commands a service
    offers in ``cli.commands`` (intake's ``parley users …``)."""
    for info in SERVICES:
        try:
            module = importlib.import_module(f"{info.package}.cli")
        except ModuleNotFoundError:
            continue
        app.add_typer(module.app, name=info.name)
        for name, typer_app in getattr(module, "commands", {}).items():
            app.add_typer(typer_app, name=name)


_add_service_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
