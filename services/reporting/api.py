"""Reporting's HTTP API: KPIs for dashboards."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter

from services.reporting.facts import kpis
from services.reporting.schemas import KpisOut
from shared.service import SessionDep

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get("", response_model=KpisOut, summary="Savings and volume KPIs")
async def get_kpis(session: SessionDep, client_id: str | None = None) -> KpisOut:
    """Volume and savings across all bills, or one client's. Savings count settled bills only."""
    return KpisOut(client_id=client_id, as_of=datetime.now(UTC), **asdict(await kpis(session, client_id)))
