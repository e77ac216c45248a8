"""Internal users and their personal/service tokens: made, changed and revoked by an administrator.

Intake is the source of truth (``intake.users``, ``intake.user_tokens``). Every change is written with
its ``identity.events`` event (keyed by the user id) in one transaction, so each service's token replica
(:mod:`shared.auth.replica`) follows it within about a second, and with an audit entry naming the
operator. A token reads ``prlu_<token id>_<secret>``; it is shown once and only the SHA-256 of its secret
is kept (here and in every replica).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from services.intake.models import User, UserToken, access
from shared.auth import ALL_CLIENTS, Role, operator, write_audit
from shared.auth.tokens import NewToken, new_token
from shared.bus.outbox import Tx
from shared.contracts import UserDisabledV1, UserTokenIssuedV1, UserTokenRevokedV1, UserUpdatedV1

_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._%+\-@]{1,199}$")
_CLIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")


class UserError(ValueError):
    """A command that cannot be carried out; the message says why."""


def _check(roles: Sequence[str], clients: Sequence[str]) -> tuple[list[str], list[str]]:
    unknown = sorted(set(roles) - set(Role.__members__))
    if unknown:
        raise UserError(f"unknown role(s) {', '.join(unknown)}; one of: {', '.join(Role)}")
    if not roles:
        raise UserError("a user needs at least one role")
    if not clients:
        raise UserError("a user needs at least one client (or --all-clients)")
    if ALL_CLIENTS in clients and len(set(clients)) > 1:
        raise UserError("a user serves named clients or all of them, not both")
    bad = [c for c in clients if c != ALL_CLIENTS and not _CLIENT.fullmatch(c)]
    if bad:
        raise UserError(f"not a client id: {', '.join(bad)}")
    return sorted(set(roles)), sorted(set(clients))


async def _audit(tx: Tx, action: str, user_id: str, **detail: object) -> None:
    await write_audit(tx.session, access.audit_log, operator(), action, "user", user_id, None, detail=detail)


async def _issue(tx: Tx, user: User, *, expires_days: int | None, label: str | None) -> NewToken:
    token = new_token()
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    tx.session.add(
        UserToken(
            id=token.token_id,
            user_id=user.id,
            label=label,
            secret_sha256=token.secret_sha256,
            expires_at=expires_at,
        )
    )
    await tx.session.flush()
    await tx.emit(
        UserTokenIssuedV1(
            token_id=token.token_id,
            secret_sha256=token.secret_sha256,
            user_id=user.id,
            name=user.name,
            roles=list(user.roles),
            clients=list(user.clients),
            expires_at=expires_at,
            issued_at=now,
        ),
        subject=user.id,
    )
    await _audit(
        tx, "issue:token", user.id, token_id=token.token_id, label=label, expires_at=str(expires_at or "")
    )
    return token


async def create_user(
    tx: Tx,
    *,
    user_id: str,
    name: str,
    roles: Sequence[str],
    clients: Sequence[str],
    expires_days: int | None = 90,
    label: str | None = None,
) -> NewToken:
    """Create a user and its first token (returned: print it once)."""
    if not _USER_ID.fullmatch(user_id):
        raise UserError("a user id is 2-200 letters, digits or . _ % + - @, e.g. dana@acme-cc.example")
    role_list, client_list = _check(roles, clients)
    if await tx.session.get(User, user_id) is not None:
        raise UserError(f"user {user_id} exists; `parley users token {user_id}` issues another token")
    user = User(id=user_id, name=name.strip() or user_id, roles=role_list, clients=client_list)
    tx.session.add(user)
    await tx.session.flush()
    await _audit(tx, "create:user", user_id, roles=role_list, clients=client_list)
    return await _issue(tx, user, expires_days=expires_days, label=label)


async def issue_token(
    tx: Tx, user_id: str, *, expires_days: int | None = 90, label: str | None = None
) -> NewToken:
    """Another token for an existing, enabled user (a second device, a script)."""
    user = await tx.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserError(f"no user {user_id}")
    if user.disabled_at is not None:
        raise UserError(f"user {user_id} is disabled")
    return await _issue(tx, user, expires_days=expires_days, label=label)


async def update_user(
    tx: Tx,
    user_id: str,
    *,
    name: str | None = None,
    roles: Sequence[str] | None = None,
    clients: Sequence[str] | None = None,
) -> User:
    """Change a user's name, roles or clients; every token of the user carries the change."""
    user = await tx.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserError(f"no user {user_id}")
    role_list, client_list = _check(roles if roles else user.roles, clients if clients else user.clients)
    user.name = name.strip() if name else user.name
    user.roles, user.clients = role_list, client_list
    user.updated_at = datetime.now(UTC)
    await tx.session.flush()
    await tx.emit(
        UserUpdatedV1(
            user_id=user.id, name=user.name, roles=role_list, clients=client_list, updated_at=user.updated_at
        ),
        subject=user.id,
    )
    await _audit(tx, "update:user", user_id, roles=role_list, clients=client_list)
    return user


async def revoke_token(tx: Tx, token_id: str) -> bool:
    """Revoke one token; False if there is no such active token."""
    now = datetime.now(UTC)
    row = (
        await tx.session.execute(
            update(UserToken)
            .where(UserToken.id == token_id, UserToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(UserToken.user_id)
        )
    ).one_or_none()
    if row is None:
        return False
    await tx.emit(
        UserTokenRevokedV1(token_id=token_id, user_id=row.user_id, revoked_at=now), subject=row.user_id
    )
    await _audit(tx, "revoke:token", row.user_id, token_id=token_id)
    return True


async def disable_user(tx: Tx, user_id: str) -> bool:
    """Disable a user: every token stops working. False if there is no such enabled user."""
    now = datetime.now(UTC)
    done = (
        await tx.session.execute(
            update(User)
            .where(User.id == user_id, User.disabled_at.is_(None))
            .values(disabled_at=now, updated_at=now)
            .returning(User.id)
        )
    ).one_or_none()
    if done is None:
        return False
    await tx.emit(UserDisabledV1(user_id=user_id, disabled_at=now), subject=user_id)
    await _audit(tx, "disable:user", user_id)
    return True


@dataclass(frozen=True)
class UserRow:
    user: User
    tokens: list[UserToken]


async def list_users(tx: Tx) -> list[UserRow]:
    users = (await tx.session.execute(select(User).order_by(User.id))).scalars().all()
    tokens = (await tx.session.execute(select(UserToken).order_by(UserToken.created_at))).scalars().all()
    by_user: dict[str, list[UserToken]] = {}
    for token in tokens:
        by_user.setdefault(token.user_id, []).append(token)
    return [UserRow(u, by_user.get(u.id, [])) for u in users]


__all__ = [
    "UserError",
    "UserRow",
    "create_user",
    "disable_user",
    "issue_token",
    "list_users",
    "operator",
    "revoke_token",
    "update_user",
]
