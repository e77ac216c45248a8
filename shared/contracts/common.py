"""Shapes every contract shares: money, topics, the payload base class, parties and addresses."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money travels as a JSON string so no consumer ever parses it into a binary float.
Money = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")]


class Topic(StrEnum):
    bills_received = "bills.received"
    bills_priced = "bills.priced"
    negotiation = "negotiation.events"
    agreements = "agreements.events"
    identity = "identity.events"  # keyed by user id, not bill id


def dead_letter_topic(consumer_group: str) -> str:
    """Each consumer group has its own dead-letter topic, so replay goes back to that group only."""
    return f"{consumer_group}.dlq"


class Payload(BaseModel):
    """Base of every event payload. Subclasses set the three class variables."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    version: ClassVar[int]
    topic: ClassVar[Topic]

    @classmethod
    def schema_urn(cls) -> str:
        return f"urn:parley:event:{cls.event_type}:v{cls.version}"


class CaseEvent(Payload):
    """Base of the ``negotiation.events`` about one case: every one names the case, its bill and the
    client (by which readers scope it). Not a contract itself (no event type); the contracts come first
    in their fields, so their JSON is as it was when each wrote these three itself."""

    topic: ClassVar[Topic] = Topic.negotiation

    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str


# --- shared shapes -------------------------------------------------------------------------------


class ClaimType(StrEnum):
    professional = "professional"  # CMS-1500 / 837P
    institutional = "institutional"  # UB-04 / 837I


class ClaimFrequency(StrEnum):
    """X12 CLM05-3 / UB-04 type-of-bill frequency, as Parley acts on it."""

    original = "original"  # 1
    replacement = "replacement"  # 7: replaces an earlier submission of the same claim
    void = "void"  # 8: cancels it


class LineOfBusiness(StrEnum):
    workers_compensation = "workers_compensation"
    group_health = "group_health"
    auto = "auto"


class UnitOfMeasure(StrEnum):
    """What a line's ``units`` count (X12 SV103 / SV204)."""

    units = "units"  # UN (and DA, days, on an institutional line): services, items or days
    minutes = "minutes"  # MJ: anesthesia time; time units = minutes / 15


class Party(StrEnum):
    payer = "payer"  # Parley's client side
    provider = "provider"


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    line1: str
    line2: str | None = None
    city: str
    state: str
    zip: str


class ProviderRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    npi: str
    tin: str
    name: str | None = None
    taxonomy: str | None = None
    address: Address | None = None


class FacilityRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: str
    zip: str
    npi: str | None = None
    name: str | None = None
    address: Address | None = None


class BillLineV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int
    procedure_code: str | None = None  # CPT / HCPCS
    revenue_code: str | None = None
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal
    charge: Money
    service_date: date
    place_of_service: str | None = None
    ndc: str | None = None
    # Added after the first release (default: what every earlier event meant). An anesthesia line in
    # minutes keeps its minutes here; pricing turns them into time units, never units × a unit price.
    unit_of_measure: UnitOfMeasure = UnitOfMeasure.units


class PricedLineV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int
    code: str | None
    billed: Money
    allowed: Money | None = Field(description="None when the line could not be priced; see reason.")
    basis: str = Field(description="How the allowed amount was computed, in words a negotiator can quote.")
    reason: str | None = Field(default=None, description="Why a line was not priced.")


class PatientRef(BaseModel):
    """The minimum necessary to name the patient on a settlement agreement and to catch a duplicate
    payment: name and date of birth, or the client's member reference. Protected health information:
    never logged, shown only on audited reads."""

    model_config = ConfigDict(frozen=True)

    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    member_id: str | None = None


class QuickPayTerms(BaseModel):
    """A further discount the provider grants for payment within a short time of signature (seed 000)."""

    model_config = ConfigDict(frozen=True)

    discount_percent: Decimal = Field(description="Further discount off the agreed amount, e.g. 5.")
    pay_within_days: int = Field(description="Business days after execution within which payment earns it.")
    amount: Money = Field(description="What is paid if paid in time: agreed amount less the discount.")


class PaymentTerms(BaseModel):
    model_config = ConfigDict(frozen=True)

    pay_within_days: int = Field(description="Calendar days after execution within which the payer pays.")
    quick_pay: QuickPayTerms | None = None


class Signer(BaseModel):
    """A person asked to sign or confirm: the provider's representative or the payer's countersigner."""

    model_config = ConfigDict(frozen=True)

    name: str
    email: str | None = None
    title: str | None = None
    user_id: str | None = Field(default=None, description="Parley user id, for a payer-side signer.")
