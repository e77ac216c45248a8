"""``parley audit``, ``parley dlq …`` and ``parley outbox …``: the operator's commands on a running platform.

Registered on the ``parley`` app by :mod:`shared.cli`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import create_async_engine

from shared.bus import dlq
from shared.bus.relay import republish
from shared.catalog import SERVICE_NAMES, SERVICES, service
from shared.commands import hint, run_on
from shared.settings import Settings

console = Console()
ServiceName = Annotated[str, typer.Argument(help=f"One of: {', '.join(SERVICE_NAMES)}")]


def check_service(name: str) -> str:
    """The service's canonical name; ``typer.BadParameter`` naming the five when it is none of them."""
    try:
        return service(name).name
    except KeyError as exc:
        raise typer.BadParameter(str(exc)) from exc


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
        bases[check_service(name)] = base.rstrip("/")
    chosen = [check_service(n) for n in (service_names or list(SERVICE_NAMES))]
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


@dlq_app.command("list")
def dlq_list(name: ServiceName) -> None:
    """List the dead letters of a service's consumer group, with the error that stopped each."""
    letters = asyncio.run(dlq.read_dead_letters(Settings(), check_service(name)))
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
    sent = asyncio.run(dlq.replay(Settings(), check_service(name), set(event_id) if event_id else None))
    console.print(f"replayed {len(sent)} message(s)")


outbox_app = typer.Typer(help="The transactional outbox of a service.", no_args_is_help=True)


@outbox_app.command("republish")
def outbox_republish(
    name: ServiceName,
    hours: Annotated[float, typer.Option(help="Re-send events published in the last N hours.")] = 24.0,
) -> None:
    """Send a service's recent events again (PARLEY_DATABASE_URL: that service's role).

    For a broker that lost its log; consumers drop the events they already handled.
    """
    info = service(check_service(name))

    async def run() -> int:
        engine = create_async_engine(Settings().database_url)
        try:
            return await republish(engine, info.schema, timedelta(hours=hours))
        finally:
            await engine.dispose()

    published = run_on(Settings().database_url, run, hint(embedded_option=False))
    console.print(f"{published} event(s) will be published again by {info.name}'s relay")
