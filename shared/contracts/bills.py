"""``bills.received`` and ``bills.priced``: a bill as received from a partner, and its pricing decision."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import (
    BillLineV1,
    ClaimFrequency,
    ClaimType,
    FacilityRef,
    LineOfBusiness,
    Money,
    PatientRef,
    Payload,
    PricedLineV1,
    ProviderRef,
    Topic,
)

# --- bills.received ------------------------------------------------------------------------------


class BillReceivedV1(Payload):
    """A bill to work on. A replacement arrives as the same ``bill_id`` with the next ``revision``.

    Fields added after the first release have defaults, so events written before them still parse.
    """

    event_type: ClassVar[str] = "bill.received"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.bills_received

    bill_id: uuid.UUID
    client_id: str
    partner_claim_id: str
    claim_type: ClaimType
    provider: ProviderRef
    facility: FacilityRef
    total_charge: Money
    lines: list[BillLineV1]
    received_at: datetime
    revision: int = 1
    frequency: ClaimFrequency = ClaimFrequency.original
    partner_id: str | None = None
    line_of_business: LineOfBusiness | None = None
    jurisdiction: str | None = Field(
        default=None, description="Pricing jurisdiction; the facility's state if None."
    )
    type_of_bill: str | None = None  # UB-04 type of bill (institutional)
    admission_date: date | None = None
    discharge_date: date | None = None
    place_of_service: str | None = None
    diagnoses: list[str] = Field(default_factory=list)  # ICD-10-CM, principal first
    # Claims for services before 2015-10-01 are coded in ICD-9-CM; never mixed into ``diagnoses``.
    diagnoses_icd9: list[str] = Field(default_factory=list)
    # Minimum necessary patient reference, for the settlement agreement and the duplicate-payment check.
    patient: PatientRef | None = None
    drg: str | None = Field(
        default=None, description="MS-DRG the provider billed (3 digits; X12 837I HI*DR), if any."
    )
    discharge_status: str | None = Field(
        default=None, description="UB-04 patient discharge status (2 digits; X12 CL103), e.g. 02 transfer."
    )

    @property
    def pricing_jurisdiction(self) -> str:
        return self.jurisdiction or self.facility.state


class BillVoidedV1(Payload):
    """The partner voided the claim: downstream work on the bill stops."""

    event_type: ClassVar[str] = "bill.voided"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.bills_received

    bill_id: uuid.UUID
    client_id: str
    partner_claim_id: str
    reason: str
    voided_at: datetime


# --- bills.priced --------------------------------------------------------------------------------


class PricingMethod(StrEnum):
    """How a bill was priced. Version 1 events only ever carry ``fee_schedule``."""

    fee_schedule = "fee_schedule"  # a jurisdiction's fee schedule: no negotiation needed
    contract = "contract"  # a PPO contract in the client's network
    agreement = "agreement"  # a direct agreement between Parley and the provider
    usual_and_customary = "usual_and_customary"  # the median of three U&C reviews: the negotiation target


class BillPricedV1(Payload):
    event_type: ClassVar[str] = "bill.priced"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.bills_priced

    bill_id: uuid.UUID
    pricing_id: uuid.UUID
    client_id: str
    provider: ProviderRef
    method: PricingMethod
    jurisdiction: str
    total_billed: Money
    total_allowed: Money = Field(description="Sum of allowed amounts over the lines that could be priced.")
    unpriced_billed: Money = Field(description="Billed charges of the lines that could not be priced.")
    lines: list[PricedLineV1]
    priced_at: datetime


class ReviewKind(StrEnum):
    """The three usual-and-customary reviews."""

    services = "services"  # the same service, every facility, nationally
    geography = "geography"  # the same service in the facility's area: ZIP3, then state, then national
    peers = "peers"  # the same service at facilities with the same credentials


class WideningStepV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    scope: str = Field(description="Which observations were counted, e.g. 'ZIP3 331' or 'state FL'.")
    observations: int
    used: bool = Field(description="True for the step whose observations gave the allowance.")


class ReviewLineV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int
    allowance: Money | None = Field(
        description="Lesser of billed and the percentile × units; None: too little data."
    )
    per_unit: Money | None = Field(description="The percentile of the per-unit amounts observed.")
    observations: int = Field(
        description="Observations in the scope used (0 when there was too little data)."
    )
    scope: str | None
    steps: list[WideningStepV2] = Field(description="Each scope tried, narrowest first.")
    note: str | None = None


class ReviewV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ReviewKind
    percentile: int
    basis: str = Field(description="'charges' (billed charges observed) or 'allowed' (amounts paid).")
    total: Money = Field(description="Sum of the allowances of the lines this review could price.")
    lines: list[ReviewLineV2]


class UsualAndCustomaryV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    percentile: int
    basis: str
    min_observations: int
    reviews: list[ReviewV2] = Field(
        description="Services performed, geographic location, facility credentials."
    )
    median_total: Money = Field(description="Sum over lines of the median of the reviews' allowances.")


class FindingV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str = Field(
        description="e.g. duplicate_line, ncci_ptp, mue, modifier_25, modifier_59, modifier_pctc."
    )
    line_number: int | None = Field(description="The line the finding is about; None for the whole bill.")
    related_line: int | None = None
    amount_at_stake: Money
    detail: str


class DecisionStepV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str = Field(description="fee_schedule, contract or usual_and_customary, in the order tried.")
    applied: bool
    detail: str


class PricedLineV2(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int
    code: str | None
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal | None = Field(default=None, description="None only in events read from version 1.")
    billed: Money
    method_amount: Money | None = Field(description="The method's amount before the lesser-of-billed rule.")
    allowed: Money | None = Field(
        description="What the line is worth under the bill's method; None: not priced."
    )
    basis: str
    reason: str | None = None


class BillPricedV2(Payload):
    """The pricing decision for one bill, with everything a negotiator needs to defend it.

    ``total_allowed`` is what pricing can support over the lines it priced: the fee schedule or contract
    amount, or for U&C the sum of each line's median review allowance (the negotiation target). Lines
    that could not be priced are named with the reason and counted in ``unpriced_billed``.
    """

    event_type: ClassVar[str] = "bill.priced"
    version: ClassVar[int] = 2
    topic: ClassVar[Topic] = Topic.bills_priced

    bill_id: uuid.UUID
    bill_revision: int = 1
    pricing_id: uuid.UUID
    revision: int = Field(description="Pricing revision: re-pricing the same bill adds one.")
    trigger: str = Field(
        description="Why this pricing happened: the bill arrived, was replaced, or re-priced."
    )
    client_id: str
    provider: ProviderRef
    method: PricingMethod
    jurisdiction: str
    total_billed: Money
    total_allowed: Money
    unpriced_billed: Money
    lines: list[PricedLineV2]
    decision: list[DecisionStepV2]
    fee_schedule_id: str | None = None
    contract_id: str | None = None
    usual_and_customary: UsualAndCustomaryV2 | None = None
    findings: list[FindingV2] = Field(default_factory=list)
    statement_sha256: str = Field(description="SHA-256 of the pricing statement served by the pricing API.")
    priced_at: datetime

    @classmethod
    def from_v1(cls, old: BillPricedV1) -> BillPricedV2:
        """Read an event written before version 2 (fee schedule only) in today's shape."""
        return cls(
            bill_id=old.bill_id,
            pricing_id=old.pricing_id,
            revision=1,
            trigger="bill received",
            client_id=old.client_id,
            provider=old.provider,
            method=old.method,
            jurisdiction=old.jurisdiction,
            total_billed=old.total_billed,
            total_allowed=old.total_allowed,
            unpriced_billed=old.unpriced_billed,
            lines=[
                PricedLineV2(
                    line_number=line.line_number,
                    code=line.code,
                    billed=line.billed,
                    method_amount=line.allowed,
                    allowed=line.allowed,
                    basis=line.basis,
                    reason=line.reason,
                )
                for line in old.lines
            ],
            decision=[
                DecisionStepV2(step="fee_schedule", applied=True, detail=f"{old.jurisdiction} fee schedule")
            ],
            statement_sha256="",
            priced_at=old.priced_at,
        )
