"""``parley intake …`` and ``parley users …``: operator commands for partner keys and partner settings,
internal users and their tokens, webhook secrets, and the patient-data audit log.

They connect as the intake role with ``PARLEY_DATABASE_URL``, or to the embedded dev stack's database
with ``--embedded`` (starting its Postgres for the command if it is not running). User changes go out on
``identity.events`` through intake's outbox: the running intake service publishes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.intake.config import IntakeSettings
from services.intake.keys import ALL_CLIENTS, create_key, list_keys, revoke_key
from services.intake.models import Partner, access, bus
from services.intake.partners import check_separator, list_partners, set_composite_separator
from services.intake.users import (
    UserError,
    create_user,
    disable_user,
    issue_token,
    list_users,
    revoke_token,
    update_user,
)
from shared.auth import Role
from shared.bus.outbox import Outbox, Tx
from shared.catalog import service
from shared.settings import Settings
from shared.stack.devstack import DEFAULT_ROOT, DevStack, EmbeddedInfrastructure

app = typer.Typer(
    help="Intake: partner API keys, partner settings, webhook secrets and the audit log.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Partner API keys (stored hashed, scoped to clients).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
partners_app = typer.Typer(help="Partners and their intake settings.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
webhooks_app = typer.Typer(help="Partners' webhook secrets (encrypted at rest).", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
users_app = typer.Typer(
    help="Internal users (negotiators, supervisors, auditors, admins, viewers) and their tokens.",
    no_args_is_help=True,
)
# Top-level commands this service adds to `parley` (see shared/cli.py).
commands = {"users": users_app}
OUTBOX = Outbox(bus, source="/parley/intake")
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
    """Who read a bill's patient data (partners and staff), and when. `parley audit` reads every service."""
    log = access.audit_log

    async def read(session: AsyncSession) -> list[Any]:
        stmt = (
            select(log)
            .where(log.c.object_type == "bill", log.c.object_id == str(bill), log.c.action == "read:bill")
            .order_by(log.c.id)
        )
        return list((await session.execute(stmt)).all())

    entries = _run(embedded, root, read)
    table = Table(title=f"{len(entries)} read(s) of bill {bill}")
    for column in ("at", "actor", "kind", "token or key id", "action", "request id"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.at.isoformat(timespec="seconds"),
            e.actor,
            e.actor_kind,
            e.token_id or "",
            e.action,
            e.request_id or "",
        )
    console.print(table)


@webhooks_app.command("reencrypt")
def webhooks_reencrypt(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Rewrite every stored webhook secret under the first key of PARLEY_SECRETS_KEYS (key rotation)."""
    box = IntakeSettings().secret_box

    async def rewrite(session: AsyncSession) -> int:
        partners = (
            (
                await session.execute(
                    select(Partner).where(Partner.webhook_secret.is_not(None)).with_for_update()
                )
            )
            .scalars()
            .all()
        )
        for partner in partners:
            assert partner.webhook_secret is not None
            partner.webhook_secret = box.rotate(partner.webhook_secret)
        await session.flush()
        return len(partners)

    console.print(f"re-encrypted {_run(embedded, root, rewrite)} webhook secret(s) under the first key")


# --- parley users --------------------------------------------------------------------------------


def _tx(embedded: bool, root: Path, work: Callable[[Tx], Awaitable[T]]) -> T:
    return _run(embedded, root, lambda session: work(Tx(session, OUTBOX)))


def _print_token(token: str, quiet: bool, what: str) -> None:
    if quiet:
        typer.echo(token)
        return
    console.print(f"{what}. Token (shown once; Parley keeps only a hash of it):")
    typer.echo(token)


Expires = Annotated[
    int, typer.Option(help="Days until the token expires; 0: never (service tokens for scripts).")
]


@users_app.command("create")
def users_create(
    user_id: Annotated[str, typer.Option("--id", help="The user id, e.g. dana@acme-cc.example.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    client: Annotated[list[str] | None, typer.Option(help="A client served; repeat for several.")] = None,
    all_clients: Annotated[bool, typer.Option(help="Serve every client, present and future.")] = False,
    expires_days: Expires = 90,
    label: Annotated[str | None, typer.Option(help="What the token is for, e.g. laptop.")] = None,
    quiet: Annotated[bool, typer.Option(help="Print the token only (for scripts).")] = False,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Create a user and print its first token (shown once)."""
    clients = [*(client or []), *([ALL_CLIENTS] if all_clients else [])]
    try:
        token = _tx(
            embedded,
            root,
            lambda tx: create_user(
                tx,
                user_id=user_id,
                name=name,
                roles=[r.value for r in role],
                clients=clients,
                expires_days=expires_days or None,
                label=label,
            ),
        )
    except UserError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _print_token(
        token.token, quiet, f"user {user_id} ({', '.join(r.value for r in role)}), token id {token.token_id}"
    )


@users_app.command("token")
def users_token(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    expires_days: Expires = 90,
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    quiet: Annotated[bool, typer.Option(help="Print the token only (for scripts).")] = False,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Issue another token for an existing user (shown once)."""
    try:
        token = _tx(
            embedded,
            root,
            lambda tx: issue_token(tx, user_id, expires_days=expires_days or None, label=label),
        )
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _print_token(token.token, quiet, f"token id {token.token_id} for {user_id}")


@users_app.command("update")
def users_update(
    user_id: Annotated[str, typer.Argument(help="The user's id.")],
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    role: Annotated[list[Role] | None, typer.Option(help="The roles (replace the current ones).")] = None,
    client: Annotated[list[str] | None, typer.Option(help="The clients (replace the current ones).")] = None,
    all_clients: Annotated[bool, typer.Option(help="Serve every client.")] = False,
    embedded: Embedded = False,
    root: Root = DEFAULT_ROOT,
) -> None:
    """Change a user's name, roles or clients; every token of the user follows at once."""
    clients = [*(client or []), *([ALL_CLIENTS] if all_clients else [])] or None
    try:
        user = _tx(
            embedded,
            root,
            lambda tx: update_user(
                tx, user_id, name=name, roles=[r.value for r in role] if role else None, clients=clients
            ),
        )
    except UserError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"{user.id}: roles {', '.join(user.roles)}; clients {', '.join(user.clients)}")


@users_app.command("revoke")
def users_revoke(token_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Revoke a token by its id: every service refuses it within about PARLEY_AUTH_CACHE_SECONDS + 1 s."""
    if not _tx(embedded, root, lambda tx: revoke_token(tx, token_id)):
        console.print(f"[red]no active token {token_id}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {token_id}")


@users_app.command("disable")
def users_disable(user_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Disable a user: all of its tokens and sessions stop working."""
    if not _tx(embedded, root, lambda tx: disable_user(tx, user_id)):
        console.print(f"[red]no enabled user {user_id}[/red]")
        raise typer.Exit(1)
    console.print(f"disabled {user_id}")


@users_app.command("list")
def users_list(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Every user with roles, clients and tokens (ids, labels, expiry, revocation; never a token)."""
    rows = _tx(embedded, root, list_users)
    table = Table(title=f"{len(rows)} user(s)")
    for column in ("user", "name", "roles", "clients", "disabled", "tokens (id label expires revoked)"):
        table.add_column(column)
    for row in rows:
        u = row.user
        tokens = "\n".join(
            " ".join(
                [
                    t.id,
                    t.label or "-",
                    t.expires_at.date().isoformat() if t.expires_at else "never",
                    "revoked" if t.revoked_at else "",
                ]
            ).strip()
            for t in row.tokens
        )
        table.add_row(
            u.id,
            u.name,
            ", ".join(u.roles),
            ", ".join(u.clients),
            u.disabled_at.isoformat(timespec="seconds") if u.disabled_at else "",
            tokens,
        )
    console.print(table)
