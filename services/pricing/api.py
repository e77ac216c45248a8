"""Pricing's HTTP API: negotiators read how a bill was priced, with the evidence."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.pricing.repository import PricingRepository
from services.pricing.schemas import PricingHistoryOut, PricingOut
from shared.errors import NotFound
from shared.service import SessionDep

router = APIRouter(prefix="/v1/pricings", tags=["pricings"])


@router.get(
    "/{bill_id}",
    response_model=PricingHistoryOut,
    summary="How a bill was priced",
    responses={404: {"description": "The bill has not been priced (yet)."}},
)
async def get_pricing(bill_id: uuid.UUID, session: SessionDep) -> PricingHistoryOut:
    """The latest pricing of the bill with per-line amounts and their basis, and every earlier revision."""
    revisions = await PricingRepository(session).history(bill_id)
    if not revisions:
        raise NotFound(f"bill {bill_id} has not been priced")
    out = [PricingOut.model_validate(p) for p in revisions]
    return PricingHistoryOut(latest=out[-1], revisions=out)
