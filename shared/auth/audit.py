"""The audit log: every read of protected health information and every change made by a person.

Each service writes to its own ``<schema>.audit_log`` (declared by :func:`shared.auth.add_access_tables`)
in the SAME transaction as the read or the change, so an entry exists exactly when the thing happened::

    await audit(tx, request, user, "read:bill", "bill", bill.id, bill.client_id)
    await audit(tx, request, user, "respond:case", "case", case.id, case.client_id,
                detail={"decision": "counter", "amount": "480.00"})

``action`` is ``<verb>:<object type>`` (``read``, ``create``, ``update``, ``delete`` or a domain verb:
``respond``, ``sign``, ``reprice``, ``load``, ``replay``…). ``detail`` holds identifiers, amounts and
decisions, never patient data (names, birth dates, member ids) and never a token.

The table is append-only for the service's own role: its migration revokes UPDATE, DELETE and TRUNCATE
from that role and adds a trigger that refuses them. (The role owns the table and could grant itself the
rights back; a hard guarantee needs migrations run by a separate owner role, see the README.)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy import Table, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.identity import Identity
from shared.bus.outbox import Tx

USER_AGENT_LIMIT = 300


async def write_audit(
    session: AsyncSession,
    table: Table,
    identity: Identity,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID | None,
    client_id: str | None,
    *,
    request_id: str | None = None,
    source_ip: str | None = None,
    user_agent: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry in the session's transaction (for callers without a request: commands)."""
    await session.execute(
        insert(table).values(
            actor_kind=identity.kind.value,
            actor=identity.subject,
            roles=sorted(identity.roles),
            via=identity.via.value,
            token_id=identity.token_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            client_id=client_id,
            request_id=request_id,
            source_ip=source_ip,
            user_agent=user_agent[:USER_AGENT_LIMIT] if user_agent else None,
            detail=dict(detail) if detail is not None else None,
        )
    )


async def audit(
    db: Tx | AsyncSession,
    request: Request,
    identity: Identity,
    action: str,
    object_type: str,
    object_id: str | uuid.UUID | None,
    client_id: str | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry for this request (actor, request id, source address) in ``db``'s transaction."""
    session = db.session if isinstance(db, Tx) else db
    await write_audit(
        session,
        request.app.state.access.audit_log,
        identity,
        action,
        object_type,
        object_id,
        client_id,
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        detail=detail,
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    client_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def search_audit(
    conn: AsyncConnection | AsyncSession,
    table: Table,
    where: AuditFilter,
    clients: frozenset[str] | None,
    *,
    limit: int,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Entries newest first. ``clients`` None: every entry; otherwise those of these clients and the
    platform's own (no client: reference loads, users, dead letters…), which are no client's data."""
    stmt = select(table).order_by(table.c.id.desc()).limit(limit)
    if clients is not None:
        stmt = stmt.where(or_(table.c.client_id.in_(sorted(clients)), table.c.client_id.is_(None)))
    if where.actor is not None:
        stmt = stmt.where(table.c.actor == where.actor)
    if where.object_type is not None:
        stmt = stmt.where(table.c.object_type == where.object_type)
    if where.object_id is not None:
        stmt = stmt.where(table.c.object_id == where.object_id)
    if where.client_id is not None:
        stmt = stmt.where(table.c.client_id == where.client_id)
    if where.action is not None:
        action = where.action
        stmt = stmt.where(
            or_(table.c.action == action, table.c.action.like(f"{action}:%"))
            if ":" not in action
            else table.c.action == action
        )
    if where.since is not None:
        stmt = stmt.where(table.c.at >= where.since)
    if where.until is not None:
        stmt = stmt.where(table.c.at < where.until)
    if before_id is not None:
        stmt = stmt.where(table.c.id < before_id)
    return [dict(row._mapping) for row in await conn.execute(stmt)]
