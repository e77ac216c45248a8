"""``parley users …``: Parley's internal users (negotiators, supervisors, auditors, admins, viewers) and
their tokens.

User changes go out on ``identity.events`` through intake's outbox: the running intake service publishes
them, and every service's replica of users and tokens follows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from services.intake.cli.base import Embedded, Root, clients_of, console, fail, print_table, run_tx
from services.intake.users import (
    UserError,
    UserRow,
    create_user,
    disable_user,
    issue_token,
    list_users,
    revoke_token,
    update_user,
)
from shared.auth import Role
from shared.stack.devstack import DEFAULT_ROOT

app = typer.Typer(
    help="Internal users (negotiators, supervisors, auditors, admins, viewers) and their tokens.",
    no_args_is_help=True,
)


def _print_token(token: str, quiet: bool, what: str) -> None:
    if quiet:
        typer.echo(token)
        return
    console.print(f"{what}. Token (shown once; Parley keeps only a hash of it):")
    typer.echo(token)


# Bounded: a negative count printed a token that was already expired, a huge one a traceback (a date past
# the year 9999). Service tokens that never expire are 0.
Expires = Annotated[
    int,
    typer.Option(
        min=0, max=36500, help="Days until the token expires; 0: never (service tokens for scripts)."
    ),
]


@app.command("create")
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
    clients = clients_of(client, all_clients)
    try:
        token = run_tx(
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


@app.command("token")
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
        token = run_tx(
            embedded,
            root,
            lambda tx: issue_token(tx, user_id, expires_days=expires_days or None, label=label),
        )
    except UserError as exc:
        fail(str(exc))
    _print_token(token.token, quiet, f"token id {token.token_id} for {user_id}")


@app.command("update")
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
    clients = clients_of(client, all_clients) or None
    try:
        user = run_tx(
            embedded,
            root,
            lambda tx: update_user(
                tx, user_id, name=name, roles=[r.value for r in role] if role else None, clients=clients
            ),
        )
    except UserError as exc:
        fail(str(exc))
    console.print(f"{user.id}: roles {', '.join(user.roles)}; clients {', '.join(user.clients)}")


@app.command("revoke")
def users_revoke(token_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Revoke a token by its id: every service refuses it within about PARLEY_AUTH_CACHE_SECONDS + 1 s."""
    if not run_tx(embedded, root, lambda tx: revoke_token(tx, token_id)):
        fail(f"no active token {token_id}")
    console.print(f"revoked {token_id}")


@app.command("disable")
def users_disable(user_id: str, embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Disable a user: all of its tokens and sessions stop working."""
    if not run_tx(embedded, root, lambda tx: disable_user(tx, user_id)):
        fail(f"no enabled user {user_id}")
    console.print(f"disabled {user_id}")


@app.command("list")
def users_list(embedded: Embedded = False, root: Root = DEFAULT_ROOT) -> None:
    """Every user with roles, clients and tokens (ids, labels, expiry, revocation; never a token)."""
    rows = run_tx(embedded, root, list_users)
    print_table(
        f"{len(rows)} user(s)",
        ("user", "name", "roles", "clients", "disabled", "tokens (id label expires revoked)"),
        (_user_row(row) for row in rows),
    )


def _user_row(row: UserRow) -> tuple[str, ...]:
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
    return (
        u.id,
        u.name,
        ", ".join(u.roles),
        ", ".join(u.clients),
        u.disabled_at.isoformat(timespec="seconds") if u.disabled_at else "",
        tokens,
    )
