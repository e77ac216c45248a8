"""Response bodies of the reporting API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class KpisOut(BaseModel):
    client_id: str | None = Field(description="The client these figures are for; null for all clients.")
    as_of: datetime
    bills_received: int
    bills_priced: int
    bills_in_negotiation: int = Field(description="Bills for which a negotiation case was opened.")
    bills_not_negotiated: int = Field(
        description="Priced bills with nothing to negotiate, or nothing priceable."
    )
    bills_agreed: int
    bills_settled: int = Field(description="Bills whose settlement agreement is signed.")
    bills_voided: int = Field(default=0, description="Bills the partner voided (they stay in the totals).")
    total_billed: Decimal = Field(description="Billed charges of every bill received.")
    total_allowed: Decimal = Field(description="Allowed amounts of every bill priced.")
    settled_billed: Decimal = Field(description="Billed charges of the settled bills.")
    total_agreed: Decimal = Field(description="Agreed amounts of the settled bills.")
    savings: Decimal = Field(description="settled_billed − total_agreed.")
    savings_percent: Decimal = Field(description="savings as a percent of settled_billed.")
