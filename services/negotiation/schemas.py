"""Request and response bodies of the negotiation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.negotiation.cases import CaseStatus, Decision
from shared.codes import Amount
from shared.contracts import Party


class ResponseIn(BaseModel):
    """One side's answer to the latest offer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"party": "provider", "decision": "counter", "amount": "240.00", "note": "our usual minimum"},
                {"party": "payer", "decision": "accept"},
            ]
        },
    )

    party: Party = Field(default=Party.provider, description="Who is responding.")
    decision: Decision
    amount: Amount | None = Field(default=None, description="Required for a counter; optional for accept.")
    note: str | None = Field(default=None, max_length=2000)


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    party: Party
    amount: Decimal
    note: str | None
    made_at: datetime


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    provider_npi: str
    provider_tin: str
    provider_name: str | None
    billed: Decimal
    opening_offer: Decimal
    status: CaseStatus
    agreed_amount: Decimal | None
    opened_at: datetime
    agreed_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    close_reason: str | None
    offers: list[OfferOut] = Field(description="Every offer and counter-offer, in order.")


class CaseList(BaseModel):
    items: list[CaseOut]
