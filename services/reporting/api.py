"""Reporting's HTTP API: KPIs for dashboards, for every internal role, over the caller's clients."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.reporting.facts import kpis
from services.reporting.schemas import KpisOut
from shared.auth import ANY_ROLE, Identity, requires
from shared.errors import NotFound
from shared.service import SessionDep

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get(
    "",
    response_model=KpisOut,
    summary="Savings and volume KPIs",
    responses={404: {"description": "Not one of your clients."}},
)
async def get_kpis(
    session: SessionDep,
    user: Annotated[Identity, requires(*ANY_ROLE)],
    client_id: Annotated[str | None, Query(description="One of your clients; omit for all of them.")] = None,
) -> KpisOut:
    """Volume and savings across all bills of your clients, or one client's. Savings count settled
    bills only."""
    if client_id is not None and not user.may_see(client_id):
        raise NotFound(f"no client {client_id} among yours")
    figures = await kpis(session, client_id, user.client_scope)
    return KpisOut(client_id=client_id, as_of=datetime.now(UTC), **asdict(figures))
