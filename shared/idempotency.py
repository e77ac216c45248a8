"""Idempotency-Key for POST endpoints: a retried request gets the first result, not a second effect.

The key row is inserted in the same transaction as the effect. A concurrent retry blocks on the primary
key until the first request commits, then reads its stored response. If the first request fails, its key
row rolls back with everything else, and a retry runs afresh. Reusing a key with a different request
body is refused with 422, naming the header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Unprocessable

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal). Retrying with the same key returns the first "
        "result instead of acting twice.",
    ),
]

REPLAYED_HEADER = "Idempotent-Replayed"


def add_idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("scope", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("request_hash", Text, nullable=False),
        Column("status_code", Integer),
        Column("response", JSONB),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("scope", "key"),
    )


def fingerprint(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass
class KeyClaim:
    """An Idempotency-Key to claim in the statement that performs the request's effect (see intake's
    single bill), with the response that statement's success means. ``claimed`` is set by that
    statement: False when the key was already used (:meth:`Idempotency.replay` answers instead), None
    while no statement tried (the request was refused before writing anything)."""

    scope: str
    key: str
    request_hash: str
    claimed: bool | None = None


@dataclass(frozen=True)
class Idempotency:
    table: Table

    async def run(
        self,
        session: AsyncSession,
        *,
        key: str | None,
        scope: str,
        request_hash: str,
        action: Callable[[], Awaitable[tuple[int, BaseModel]]],
    ) -> JSONResponse:
        """Run ``action`` once per (scope, key) and answer with its stored result ever after."""
        if key is None:
            status, model = await action()
            return JSONResponse(model.model_dump(mode="json"), status_code=status)
        table = self.table
        claimed = (
            await session.execute(
                pg_insert(table)
                .values(scope=scope, key=key, request_hash=request_hash)
                .on_conflict_do_nothing()
                .returning(table.c.key)
            )
        ).first()
        if claimed is None:
            replayed = await self.replay(session, KeyClaim(scope, key, request_hash))
            assert replayed is not None  # the key row exists: it made the insert conflict
            return replayed
        status, model = await action()
        body: Any = model.model_dump(mode="json")
        await session.execute(
            update(table)
            .where(table.c.scope == scope, table.c.key == key)
            .values(status_code=status, response=body)
        )
        return response(status, body, replayed=False)

    async def replay(self, session: AsyncSession, claim: KeyClaim) -> JSONResponse | None:
        """The stored answer to a key used before (422 if it was used with a different request); None
        if the key was not used."""
        table = self.table
        row = (
            await session.execute(
                select(table.c.request_hash, table.c.status_code, table.c.response).where(
                    table.c.scope == claim.scope, table.c.key == claim.key
                )
            )
        ).one_or_none()
        if row is None:
            return None
        if row.request_hash != claim.request_hash:
            raise Unprocessable(
                "Idempotency-Key was already used with a different request; use a new key for a new request.",
                errors=[
                    {
                        "field": "header:Idempotency-Key",
                        "message": "reused with a different body",
                        "type": "idempotency_key_reused",
                    }
                ],
            )
        return response(row.status_code, row.response, replayed=True)


def response(status: int, body: Any, *, replayed: bool) -> JSONResponse:
    """An answer under an Idempotency-Key, saying whether it is a replay."""
    response = JSONResponse(body, status_code=status)
    response.headers[REPLAYED_HEADER] = "true" if replayed else "false"
    return response
