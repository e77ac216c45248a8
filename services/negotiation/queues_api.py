"""Work queues over HTTP: the list of queues with their figures, and one queue's cases by priority."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.negotiation import queues
from services.negotiation.queues import AgeBucket, Filters, Queue
from services.negotiation.repository import snapshot
from services.negotiation.roles import Reader
from services.negotiation.schemas import CaseSummary
from shared.codes import Amount
from shared.http import MAX_OFFSET
from shared.service import SessionDep

router = APIRouter(prefix="/v1/queues", tags=["queues"])


class QueueOut(BaseModel):
    name: Queue
    description: str
    cases: int
    unassigned: int
    at_stake: Decimal = Field(description="Dollars the queue's cases work on.")
    oldest_opened_at: datetime | None


class QueueList(BaseModel):
    items: list[QueueOut]


class QueuePage(BaseModel):
    name: Queue
    total: int = Field(description="Cases matching the filters.")
    limit: int
    offset: int
    items: list[CaseSummary] = Field(description="Highest priority first.")


@router.get("", response_model=QueueList, summary="List the work queues")
async def list_queues(session: SessionDep, actor: Reader, client_id: str | None = None) -> QueueList:
    """Every queue with how many cases wait in it, how many are unassigned, the dollars at stake and
    the oldest case, for your clients. Roles: negotiator, supervisor, auditor, admin."""
    figures = await queues.overview(session, actor.client_scope, client_id)
    return QueueList(items=[QueueOut(**vars(f)) for f in figures])


@router.get("/{name}", response_model=QueuePage, summary="Cases in a queue, by priority")
async def get_queue(
    name: Queue,
    session: SessionDep,
    actor: Reader,
    client_id: Annotated[str | None, Query(description="Only this client.")] = None,
    state: Annotated[str | None, Query(description="Only this state (the pricing jurisdiction).")] = None,
    provider_tin: Annotated[str | None, Query(description="Only this provider.")] = None,
    assignee: Annotated[str | None, Query(description="A user id, or 'none' for unassigned cases.")] = None,
    age: Annotated[AgeBucket | None, Query(description="Days since the case opened.")] = None,
    min_billed: Annotated[Amount | None, Query(description="Billed at least, dollars.")] = None,
    max_billed: Annotated[Amount | None, Query(description="Billed at most, dollars.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> QueuePage:
    """A queue's cases, highest priority first: at stake × (1 + age in days / 30) × urgency of the
    nearest deadline (3 passed, 2 within 2 days, 1.5 within 5 days, else 1). Roles: negotiator,
    supervisor, auditor, admin."""
    filters = Filters(client_id, state, provider_tin, assignee, age, min_billed, max_billed)
    await snapshot(session)
    total, rows = await queues.page(session, name, filters, actor.client_scope, limit, offset)
    items = [CaseSummary.model_validate(case).model_copy(update={"priority": score}) for case, score in rows]
    return QueuePage(name=name, total=total, limit=limit, offset=offset, items=items)
