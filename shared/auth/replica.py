"""Every service's replica of the token hashes, kept from ``identity.events``.

Intake is the source of truth (``intake.users``, ``intake.user_tokens``, written by ``parley users …``
with the event in the same transaction). Each service's consumer applies the events to its own
``access_tokens`` table through the same inbox as any event, so a repeat changes nothing and a token is
usable on a service once that service has consumed its ``user.token_issued``. Events are keyed by the
user id, so a user's issue, change, revocation and disabling arrive in the order they happened.

:func:`add_identity_handlers` is registered on every service's handlers by :mod:`shared.service`; no
service wires it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import (
    Envelope,
    UserDisabledV1,
    UserTokenIssuedV1,
    UserTokenRevokedV1,
    UserUpdatedV1,
)


def add_identity_handlers(handlers: Handlers, tokens: Table) -> None:
    @handlers.on(UserTokenIssuedV1)
    async def issued(tx: Tx, e: UserTokenIssuedV1, _: Envelope) -> None:
        await tx.session.execute(
            pg_insert(tokens)
            .values(
                token_id=e.token_id,
                secret_sha256=e.secret_sha256,
                user_id=e.user_id,
                name=e.name,
                roles=sorted(e.roles),
                clients=sorted(e.clients),
                issued_at=e.issued_at,
                expires_at=e.expires_at,
            )
            .on_conflict_do_nothing()
        )

    @handlers.on(UserTokenRevokedV1)
    async def revoked(tx: Tx, e: UserTokenRevokedV1, _: Envelope) -> None:
        await tx.session.execute(
            update(tokens)
            .where(tokens.c.token_id == e.token_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=e.revoked_at, updated_at=func.now())
        )

    @handlers.on(UserUpdatedV1)
    async def updated(tx: Tx, e: UserUpdatedV1, _: Envelope) -> None:
        await tx.session.execute(
            update(tokens)
            .where(tokens.c.user_id == e.user_id)
            .values(name=e.name, roles=sorted(e.roles), clients=sorted(e.clients), updated_at=func.now())
        )

    @handlers.on(UserDisabledV1)
    async def disabled(tx: Tx, e: UserDisabledV1, _: Envelope) -> None:
        await tx.session.execute(
            update(tokens)
            .where(tokens.c.user_id == e.user_id, tokens.c.disabled_at.is_(None))
            .values(disabled_at=e.disabled_at, updated_at=func.now())
        )


@dataclass(frozen=True)
class StoredToken:
    token_id: str
    secret_sha256: str
    user_id: str
    name: str
    roles: tuple[str, ...]
    clients: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None
    disabled_at: datetime | None


async def find_token(conn: AsyncConnection, tokens: Table, token_id: str) -> StoredToken | None:
    row = (
        await conn.execute(
            select(
                tokens.c.token_id,
                tokens.c.secret_sha256,
                tokens.c.user_id,
                tokens.c.name,
                tokens.c.roles,
                tokens.c.clients,
                tokens.c.expires_at,
                tokens.c.revoked_at,
                tokens.c.disabled_at,
            ).where(tokens.c.token_id == token_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredToken(
        token_id=row.token_id,
        secret_sha256=row.secret_sha256,
        user_id=row.user_id,
        name=row.name,
        roles=tuple(row.roles),
        clients=tuple(row.clients),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        disabled_at=row.disabled_at,
    )


@dataclass(frozen=True)
class KnownUser:
    """A user as this service's replica knows them (every token of a user carries the same roles)."""

    user_id: str
    name: str
    roles: frozenset[str]
    clients: frozenset[str]
    disabled: bool

    def serves(self, client_id: str) -> bool:
        return "*" in self.clients or client_id in self.clients


async def find_user(db: AsyncConnection | AsyncSession, tokens: Table, user_id: str) -> KnownUser | None:
    """The user ``user_id`` from the replica (their latest token's roles and clients), or None when no
    token was ever issued to them. Users who only sign in by OIDC are not in the replica."""
    row = (
        await db.execute(
            select(tokens.c.name, tokens.c.roles, tokens.c.clients, tokens.c.disabled_at)
            .where(tokens.c.user_id == user_id)
            .order_by(tokens.c.updated_at.desc(), tokens.c.issued_at.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return KnownUser(
        user_id, row.name, frozenset(row.roles), frozenset(row.clients), row.disabled_at is not None
    )
