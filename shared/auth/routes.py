"""Access endpoints every service serves: who am I, the audit log, and dead letters for admins.

- ``GET /v1/me`` (any signed-in user): the identity the request's credentials prove.
- ``GET /v1/audit`` (auditor, admin): this service's audit log, newest first, filtered and paged; an
  identity scoped to some clients sees only their entries and the platform's (entries of no client).
- ``GET /v1/admin/dlq`` and ``POST /v1/admin/dlq/replay`` (admin): what this service's consumer gave up
  on, and sending it back (the same as ``parley dlq list|replay``; the replay is audited).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.audit import AuditFilter, audit, search_audit
from shared.auth.dependency import requires
from shared.auth.identity import Identity, Role
from shared.bus import dlq
from shared.errors import Unprocessable
from shared.http import is_cursor


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.runtime.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(_session, scope="function")]

router = APIRouter(tags=["access"])


class MeOut(BaseModel):
    kind: str = Field(description="`user` for people and scripts.")
    subject: str = Field(description="The user id (what the audit log records).")
    name: str = Field(description="The user's display name.")
    roles: list[Role] = Field(description="Roles held; each route's docs name the roles it admits.")
    clients: list[str] = Field(description="Client ids this user may see; `*` means every client.")
    via: str = Field(description="`token`, `oidc` (a bearer JWT) or `session` (the browser cookie).")
    token_id: str | None = Field(description="The personal token's id (or the JWT's `jti`), if any.")
    expires_at: datetime | None = Field(description="When the credential expires (None: never).")


@router.get("/v1/me", response_model=MeOut, summary="Who am I")
async def me(user: Annotated[Identity, requires()]) -> MeOut:
    """The identity the request's credentials prove: user id, name, roles, clients and expiry."""
    return MeOut(
        kind=user.kind.value,
        subject=user.subject,
        name=user.name,
        roles=sorted(user.roles),
        clients=sorted(user.clients),
        via=user.via.value,
        token_id=user.token_id,
        expires_at=user.expires_at,
    )


class AuditEntryOut(BaseModel):
    id: int = Field(description="Increasing within this service.")
    at: datetime = Field(description="When it happened (the database's clock).")
    actor_kind: str = Field(description="`user`, `partner` or `operator` (the command line).")
    actor: str = Field(description="User id or partner id.")
    roles: list[str] = Field(description="The actor's roles at the time.")
    via: str = Field(description="How the actor was authenticated.")
    token_id: str | None = Field(description="The token or partner key used.")
    action: str = Field(description="`<verb>:<object type>`, e.g. `read:bill`, `respond:case`.")
    object_type: str = Field(description="What was read or changed.")
    object_id: str | None = Field(description="Its id.")
    client_id: str | None = Field(
        description="The client it belongs to; None for the platform's own entries (reference loads, users…)."
    )
    request_id: str | None = Field(description="The request's `X-Request-Id`.")
    source_ip: str | None = Field(description="The caller's address as this service saw it.")
    user_agent: str | None = Field(description="The caller's User-Agent (truncated).")
    detail: dict[str, Any] | None = Field(description="Identifiers and amounts; never patient data.")


class AuditPage(BaseModel):
    items: list[AuditEntryOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; None at the end.")


@router.get("/v1/audit", response_model=AuditPage, summary="The audit log")
async def get_audit(
    request: Request,
    session: Session,
    user: Annotated[Identity, requires(Role.auditor, Role.admin)],
    actor: Annotated[str | None, Query(max_length=320, description="Only this user or partner.")] = None,
    object_type: Annotated[
        str | None, Query(max_length=64, description="Only this kind of object (bill, case…).")
    ] = None,
    object_id: Annotated[str | None, Query(max_length=200, description="Only this object.")] = None,
    client_id: Annotated[str | None, Query(max_length=200, description="Only this client.")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="`read` (any read) or an exact action, `read:bill`.")
    ] = None,
    since: Annotated[datetime | None, Query(description="At or after this instant.")] = None,
    until: Annotated[datetime | None, Query(description="Before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Entries per page.")] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> AuditPage:
    """Who read or changed what in this service, and when. An auditor or admin scoped to some clients
    sees their clients' entries and the platform's own, which belong to no client (reference-data loads,
    user and token changes, dead-letter replays): those are not client data. Another client's entries
    are never shown."""
    if cursor is not None and not is_cursor(cursor):
        raise Unprocessable(
            "the cursor is not one this API returned",
            errors=[{"field": "query:cursor", "message": "unrecognised cursor", "type": "cursor"}],
        )
    rows = await search_audit(
        session,
        request.app.state.access.audit_log,
        AuditFilter(actor, object_type, object_id, client_id, action, since, until),
        user.client_scope,
        limit=limit + 1,
        before_id=int(cursor) if cursor else None,
    )
    page = rows[:limit]
    return AuditPage(
        items=[AuditEntryOut.model_validate(r) for r in page],
        next_cursor=str(page[-1]["id"]) if len(rows) > limit else None,
    )


class DeadLetterOut(BaseModel):
    partition: int = Field(description="Partition of the dead-letter topic.")
    offset: int = Field(description="Offset in that partition.")
    event_id: str | None = Field(description="The event's id (None if it could not be read).")
    event_type: str | None = Field(description="The event's CloudEvents type.")
    original_topic: str = Field(description="Where it came from (and goes back to on replay).")
    attempts: int = Field(description="Attempts made before giving up.")
    failed_at: datetime | None = Field(description="When the consumer gave up.")
    error: str = Field(description="The error that stopped it.")


class ReplayIn(BaseModel):
    event_ids: list[str] | None = Field(
        default=None, max_length=10_000, description="Only these events; omit to replay every dead letter."
    )


class ReplayOut(BaseModel):
    replayed: int = Field(description="Messages sent back to their original topic.")
    event_ids: list[str | None] = Field(description="Their event ids.")


@router.get("/v1/admin/dlq", response_model=list[DeadLetterOut], summary="Dead letters of this service")
async def list_dead_letters(
    request: Request, _: Annotated[Identity, requires(Role.admin)]
) -> list[DeadLetterOut]:
    """Every message this service's consumer gave up on, oldest first, with the error."""
    settings = request.app.state.runtime.settings
    letters = await dlq.read_dead_letters(settings, settings.service)
    return [
        DeadLetterOut(
            partition=d.partition,
            offset=d.offset,
            event_id=d.event_id,
            event_type=d.event_type,
            original_topic=d.original_topic,
            attempts=d.attempts,
            failed_at=d.failed_at,
            error=d.error,
        )
        for d in letters
    ]


@router.post("/v1/admin/dlq/replay", response_model=ReplayOut, summary="Replay dead letters")
async def replay_dead_letters(
    request: Request, body: ReplayIn, user: Annotated[Identity, requires(Role.admin)]
) -> ReplayOut:
    """Send dead letters back to their original topic, after the cause was fixed. Safe to repeat:
    consumers' inboxes drop events they already handled (so an Idempotency-Key is not needed)."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    sent = await dlq.replay(settings, settings.service, set(body.event_ids) if body.event_ids else None)
    async with runtime.sessions() as session, session.begin():
        await audit(
            session,
            request,
            user,
            "replay:dlq",
            "dlq",
            settings.service,
            None,
            detail={"replayed": len(sent), "event_ids": [d.event_id for d in sent][:100]},
        )
    return ReplayOut(replayed=len(sent), event_ids=[d.event_id for d in sent])
