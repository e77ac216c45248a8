"""Request and response bodies of the intake API: what partners send and what they get back."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from services.intake.status import BillStatus
from shared.codes import (
    NPI,
    TIN,
    Amount,
    Modifier,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    ServiceDate,
    StateCode,
    Units,
    ZipCode,
)
from shared.contracts import ClaimType

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")]


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    npi: NPI = Field(description="Billing provider's National Provider Identifier (10 digits, Luhn-checked).")
    tin: TIN = Field(description="Billing provider's tax id (EIN), 9 digits.")
    name: str | None = Field(default=None, max_length=200)


class FacilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: StateCode = Field(description="State where the service was rendered: the pricing jurisdiction.")
    zip: ZipCode = Field(description="ZIP of the service facility (5 or 9 digits).")
    npi: NPI | None = None
    name: str | None = Field(default=None, max_length=200)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_number: int | None = Field(
        default=None, ge=1, le=999, description="Defaults to the line's position (1-based)."
    )
    procedure_code: ProcedureCode | None = Field(default=None, description="CPT or HCPCS code.")
    revenue_code: RevenueCode | None = Field(default=None, description="UB-04 revenue code (facility bills).")
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: Units = Field(description="Units of service, greater than zero.")
    charge: Amount = Field(description="Billed charge for the line, in dollars.")
    service_date: ServiceDate
    place_of_service: PlaceOfService | None = Field(
        default=None, description="Overrides the bill's place of service for this line."
    )

    @model_validator(mode="after")
    def _has_a_code(self) -> LineIn:
        if self.procedure_code is None and self.revenue_code is None:
            raise ValueError("a line needs a procedure_code (CPT/HCPCS) or a revenue_code, or both")
        return self


class BillIn(BaseModel):
    """A bill as a partner sends it. Every amount is in US dollars with at most two decimals."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "partner_claim_id": "CLM-2025-000123",
                    "client_id": "acme-employers",
                    "claim_type": "professional",
                    "provider": {"npi": "1912301953", "tin": "587654321", "name": "Ben Kildare Service"},
                    "facility": {"state": "FL", "zip": "33111"},
                    "place_of_service": "11",
                    "total_charge": "310.00",
                    "lines": [
                        {
                            "procedure_code": "99214",
                            "units": 1,
                            "charge": "210.00",
                            "service_date": "2025-10-03",
                        },
                        {
                            "procedure_code": "73030",
                            "modifiers": ["RT"],
                            "units": 1,
                            "charge": "100.00",
                            "service_date": "2025-10-03",
                        },
                    ],
                }
            ]
        },
    )

    partner_claim_id: Identifier = Field(description="The partner's own claim number; unique per client.")
    client_id: Identifier = Field(description="The payer (employer, carrier or plan) the bill is for.")
    claim_type: ClaimType = ClaimType.professional
    provider: ProviderIn
    facility: FacilityIn
    place_of_service: PlaceOfService | None = Field(default=None, description="CMS place-of-service code.")
    lines: list[LineIn] = Field(min_length=1, max_length=999)
    total_charge: Amount = Field(description="Must equal the sum of the line charges.")

    @field_validator("lines")
    @classmethod
    def _unique_line_numbers(cls, lines: list[LineIn]) -> list[LineIn]:
        numbers = [line.line_number or i for i, line in enumerate(lines, start=1)]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique within a bill")
        return lines

    @field_validator("total_charge")
    @classmethod
    def _total_matches_lines(cls, total: Decimal, info: ValidationInfo) -> Decimal:
        lines: list[LineIn] | None = info.data.get("lines")
        if lines is None:  # the lines were invalid; that error is reported on its own
            return total
        line_sum = sum((line.charge for line in lines), Decimal("0"))
        if line_sum != total:
            raise ValueError(f"total_charge {total} does not equal the sum of the line charges {line_sum}")
        return total


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_number: int
    procedure_code: str | None
    revenue_code: str | None
    modifiers: list[str]
    units: Decimal
    charge: Decimal
    service_date: date
    place_of_service: str | None


class ProviderOut(BaseModel):
    npi: str
    tin: str
    name: str | None


class FacilityOut(BaseModel):
    state: str
    zip: str
    npi: str | None
    name: str | None


class StatusChange(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: BillStatus
    detail: str | None
    at: datetime


class BillOut(BaseModel):
    id: uuid.UUID
    partner_claim_id: str
    client_id: str
    claim_type: ClaimType
    provider: ProviderOut
    facility: FacilityOut
    place_of_service: str | None
    total_charge: Decimal
    status: BillStatus = Field(description="Where the bill is in the workflow; see status_history.")
    status_detail: str | None = Field(description="Why it is in this status, in words.")
    priced_amount: Decimal | None = Field(description="Allowed amount once priced.")
    agreed_amount: Decimal | None = Field(description="Settlement amount once agreed with the provider.")
    received_at: datetime
    updated_at: datetime
    lines: list[LineOut]
    status_history: list[StatusChange]
