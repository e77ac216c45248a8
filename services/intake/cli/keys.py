"""``parley intake keys …``: partner API keys, created, listed and revoked by Parley operations."""

from __future__ import annotations

from typing import Annotated

import typer

from services.intake.cli.base import Embedded, Root, clients_of, console, fail, print_table, run
from services.intake.keys import create_key, list_keys, revoke_key
from shared.stack.devstack import DEFAULT_ROOT

app = typer.Typer(help="Partner API keys (stored hashed, scoped to clients).", no_args_is_help=True)


@app.command("create")
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
    clients = clients_of(client, all_clients)
    try:
        new = run(
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


@app.command("revoke")
def keys_revoke(key_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Revoke a key by its id; requests with it are refused within PARLEY_INTAKE_AUTH_CACHE_SECONDS."""
    if not run(embedded, root, lambda s: revoke_key(s, key_id)):
        fail(f"no active key {key_id}")
    console.print(f"revoked {key_id}")


@app.command("list")
def keys_list(
    partner: Annotated[str | None, typer.Option(help="Only this partner's keys.")] = None,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Every key with its partner, clients and state (never the key itself)."""
    keys = run(embedded, root, lambda s: list_keys(s, partner))
    print_table(
        f"{len(keys)} key(s)",
        ("key id", "partner", "clients", "label", "created", "revoked"),
        (
            (
                k.id,
                k.partner_id,
                ", ".join(k.clients),
                k.label or "",
                k.created_at.isoformat(timespec="seconds"),
                k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
            )
            for k in keys
        ),
    )
