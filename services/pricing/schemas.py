"""Response bodies of the pricing API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class PricedLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_number: int
    code: str | None
    modifiers: list[str]
    units: Decimal
    billed: Decimal
    schedule_amount: Decimal | None = Field(description="The fee schedule's amount for the line's units.")
    allowed: Decimal | None = Field(description="Lesser of billed and schedule; null when not priced.")
    basis: str = Field(
        description="How the amount was computed, with every factor, for a negotiator to quote."
    )
    reason: str | None = Field(description="Why the line could not be priced.")


class PricingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bill_id: uuid.UUID
    revision: int
    client_id: str
    method: str
    jurisdiction: str
    locality: str | None
    multiplier: Decimal | None
    total_billed: Decimal
    total_allowed: Decimal = Field(description="Sum of allowed amounts of the lines that could be priced.")
    unpriced_billed: Decimal = Field(description="Billed charges of the lines that could not be priced.")
    priced_at: datetime
    lines: list[PricedLineOut]


class PricingHistoryOut(BaseModel):
    latest: PricingOut
    revisions: list[PricingOut] = Field(description="Every pricing of this bill, oldest first.")
