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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import create_async_engine

from shared.bus import dlq
from shared.bus.kafka import ensure_topics
from shared.bus.relay import republish
from shared.catalog import SERVICE_NAMES, SERVICES, service
from shared.commands import check_database, database_errors, hint, run_on
from shared.migrations import revision as alembic_revision
from shared.migrations import upgrade
from shared.observability import configure_logging
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


ServiceName = Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}")]


def _check_service(name: str) -> str:
    try:
        return service(name).name
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc


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
    info = service(_check_service(name))
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
    chosen = [_check_service(n) for n in (names or list(SERVICE_NAMES))]
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
    info = service(_check_service(name))
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


@app.command("audit")
def audit_log(
    service_names: Annotated[
        list[str] | None, typer.Option("--service", help="Only these services (default: all five).")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this user or partner id.")] = None,
    object_ref: Annotated[
        str | None, typer.Option("--object", help="TYPE or TYPE:ID, e.g. bill:3f2c… or case.")
    ] = None,
    client: Annotated[str | None, typer.Option(help="Only this client.")] = None,
    action: Annotated[str | None, typer.Option(help="`read` (any read) or an exact action.")] = None,
    since: Annotated[datetime | None, typer.Option(help="At or after (ISO time, UTC if no zone).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before (ISO time).")] = None,
    limit: Annotated[int, typer.Option(help="Entries per service.", min=1, max=500)] = 100,
    token: Annotated[
        str | None, typer.Option(envvar="PARLEY_TOKEN", help="An auditor's or admin's token (PARLEY_TOKEN).")
    ] = None,
    url: Annotated[
        list[str] | None,
        typer.Option(help="SERVICE=BASE_URL, repeatable (default: http://127.0.0.1:<the service's port>)."),
    ] = None,
) -> None:
    """Read the audit logs over each service's `GET /v1/audit`, newest first, merged."""
    if not token:
        raise typer.BadParameter("give an auditor's or admin's token with --token or PARLEY_TOKEN")
    bases = {info.name: f"http://127.0.0.1:{info.port}" for info in SERVICES}
    for item in url or []:
        name, _, base = item.partition("=")
        bases[_check_service(name)] = base.rstrip("/")
    chosen = [_check_service(n) for n in (service_names or list(SERVICE_NAMES))]
    params: dict[str, str] = {"limit": str(limit)}
    for key, value in (("actor", actor), ("client_id", client), ("action", action)):
        if value:
            params[key] = value
    if object_ref:
        object_type, _, object_id = object_ref.partition(":")
        params["object_type"] = object_type
        if object_id:
            params["object_id"] = object_id
    for key, moment in (("since", since), ("until", until)):
        if moment is not None:
            params[key] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
    rows: list[tuple[str, dict[str, Any]]] = []
    with httpx.Client(timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as http:
        for name in chosen:
            response = http.get(f"{bases[name]}/v1/audit", params=params)
            if response.status_code != 200:
                console.print(f"[red]{name}: {response.status_code} {response.text[:300]}[/red]")
                raise typer.Exit(1)
            rows += [(name, entry) for entry in response.json()["items"]]
    rows.sort(key=lambda r: r[1]["at"], reverse=True)
    table = Table(title=f"{len(rows)} audit entr{'y' if len(rows) == 1 else 'ies'}")
    for column in ("at", "service", "actor", "roles", "action", "object", "client", "request", "from"):
        table.add_column(column)
    for name, e in rows:
        table.add_row(
            e["at"][:19],
            name,
            f"{e['actor']} ({e['actor_kind']})",
            ", ".join(e["roles"]),
            e["action"],
            f"{e['object_type']}:{e['object_id'] or ''}",
            e["client_id"] or "",
            e["request_id"] or "",
            e["source_ip"] or "",
        )
    console.print(table)


dlq_app = typer.Typer(help="Dead letters: what a consumer group gave up on.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


@dlq_app.command("list")
def dlq_list(name: ServiceName) -> None:
    """List the dead letters of a service's consumer group, with the error that stopped each."""
    letters = asyncio.run(dlq.read_dead_letters(Settings(), _check_service(name)))
    table = Table(title=f"{name}.dlq: {len(letters)} message(s)")
    for column in ("failed at", "event", "type", "from", "attempts", "error"):
        table.add_column(column)
    for dl in letters:
        table.add_row(
            dl.failed_at.isoformat() if dl.failed_at else "?",
            dl.event_id or "?",
            dl.event_type or "?",
            dl.original_topic,
            str(dl.attempts),
            dl.error[:200],
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    name: ServiceName,
    event_id: Annotated[list[str] | None, typer.Option(help="Only these events (default: all).")] = None,
) -> None:
    """Send dead letters back to their original topic, after the cause has been fixed."""
    sent = asyncio.run(dlq.replay(Settings(), _check_service(name), set(event_id) if event_id else None))
    console.print(f"replayed {len(sent)} message(s)")


outbox_app = typer.Typer(help="The transactional outbox of a service.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("republish")
def outbox_republish(
    name: ServiceName,
    hours: Annotated[float, typer.Option(help="Re-send events published in the last N hours.")] = 24.0,
) -> None:
    """Send a service's recent events again (PARLEY_DATABASE_URL: that service's role).

    For a broker that lost its log; consumers drop the events they already handled.
    """
    info = service(_check_service(name))

    async def run() -> int:
        engine = create_async_engine(Settings().database_url)
        try:
            return await republish(engine, info.schema, timedelta(hours=hours))
        finally:
            await engine.dispose()

    published = run_on(Settings().database_url, run, hint(embedded_option=False))
    console.print(f"{published} event(s) will be published again by {info.name}'s relay")


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
