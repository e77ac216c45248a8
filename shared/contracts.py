"""Event contracts: the only thing services share about each other.

Every message on Kafka is a CloudEvents 1.0 envelope (structured JSON mode) whose ``data`` is one of the
payload models below. A payload is identified by ``(type, version)``; the version travels in
``dataschema`` (``urn:parley:event:<type>:v<version>``). A change that would break a consumer is a new
payload class with the next version, registered beside the old one; existing classes are never edited in
a breaking way.

The Kafka key of every event is the bill id (the envelope's ``subject``), so all events of one bill keep
their order within a topic. Identity events (``identity.events``) are keyed by the user id instead, so
a user's token issues, revocations and changes keep their order.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money travels as a JSON string so no consumer ever parses it into a binary float.
Money = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")]


class Topic(StrEnum):
    bills_received = "bills.received"
    bills_priced = "bills.priced"
    negotiation = "negotiation.events"
    agreements = "agreements.events"
    identity = "identity.events"


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


class PricedLineV1(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_number: int
    code: str | None
    billed: Money
    allowed: Money | None = Field(description="None when the line could not be priced; see reason.")
    basis: str = Field(description="How the allowed amount was computed, in words a negotiator can quote.")
    reason: str | None = Field(default=None, description="Why a line was not priced.")


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


# --- negotiation.events --------------------------------------------------------------------------


class NotOpenedReason(StrEnum):
    no_savings = "no_savings"  # the priced amount is not below billed charges
    unpriced = "unpriced"  # no line could be priced: a person must review the bill


class CaseOpenedV1(Payload):
    event_type: ClassVar[str] = "case.opened"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.negotiation

    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    provider: ProviderRef
    billed: Money
    opening_offer: Money
    opened_at: datetime


class CaseNotOpenedV1(Payload):
    event_type: ClassVar[str] = "case.not_opened"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.negotiation

    bill_id: uuid.UUID
    client_id: str
    reason: NotOpenedReason
    detail: str
    decided_at: datetime


class OfferMadeV1(Payload):
    event_type: ClassVar[str] = "case.offer_made"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.negotiation

    case_id: uuid.UUID
    bill_id: uuid.UUID
    offer_id: uuid.UUID
    party: Party
    amount: Money
    made_at: datetime


class CaseAgreedV1(Payload):
    event_type: ClassVar[str] = "case.agreed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.negotiation

    case_id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    provider: ProviderRef
    billed: Money
    agreed_amount: Money
    offer_id: uuid.UUID
    agreed_at: datetime


class CaseOutcome(StrEnum):
    settled = "settled"
    closed_unresolved = "closed_unresolved"


class CaseClosedV1(Payload):
    event_type: ClassVar[str] = "case.closed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.negotiation

    case_id: uuid.UUID
    bill_id: uuid.UUID
    outcome: CaseOutcome
    agreed_amount: Money | None
    reason: str
    closed_at: datetime


# --- agreements.events ---------------------------------------------------------------------------


class AgreementSentV1(Payload):
    event_type: ClassVar[str] = "agreement.sent"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    agreed_amount: Money
    sent_at: datetime


class AgreementSignedV1(Payload):
    event_type: ClassVar[str] = "agreement.signed"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.agreements

    agreement_id: uuid.UUID
    case_id: uuid.UUID
    bill_id: uuid.UUID
    agreed_amount: Money
    signer_name: str
    signed_at: datetime


# --- identity.events ------------------------------------------------------------------------------
# Intake holds internal users and their tokens (``parley users …``); every service keeps a replica of the
# token hashes from these events and checks a token by a local lookup. The secret never travels.


class UserTokenIssuedV1(Payload):
    """A personal or service token was issued. Carries the SHA-256 of the secret, never the secret."""

    event_type: ClassVar[str] = "user.token_issued"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    token_id: str
    secret_sha256: str = Field(description="Hex SHA-256 of the token's secret part.")
    user_id: str
    name: str
    roles: list[str]
    clients: list[str] = Field(description="Client ids, or ['*'] for every client.")
    expires_at: datetime | None
    issued_at: datetime


class UserTokenRevokedV1(Payload):
    event_type: ClassVar[str] = "user.token_revoked"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    token_id: str
    user_id: str
    revoked_at: datetime


class UserUpdatedV1(Payload):
    """A user's name, roles or clients changed: every token of the user carries the new ones."""

    event_type: ClassVar[str] = "user.updated"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    user_id: str
    name: str
    roles: list[str]
    clients: list[str]
    updated_at: datetime


class UserDisabledV1(Payload):
    """The user may no longer sign in: every token of the user stops working."""

    event_type: ClassVar[str] = "user.disabled"
    version: ClassVar[int] = 1
    topic: ClassVar[Topic] = Topic.identity

    user_id: str
    disabled_at: datetime


# --- registry and envelope -----------------------------------------------------------------------

PAYLOADS: dict[tuple[str, int], type[Payload]] = {
    (cls.event_type, cls.version): cls
    for cls in (
        BillReceivedV1,
        BillVoidedV1,
        BillPricedV1,
        BillPricedV2,
        CaseOpenedV1,
        CaseNotOpenedV1,
        OfferMadeV1,
        CaseAgreedV1,
        CaseClosedV1,
        AgreementSentV1,
        AgreementSignedV1,
        UserTokenIssuedV1,
        UserTokenRevokedV1,
        UserUpdatedV1,
        UserDisabledV1,
    )
}

EVENT_TYPE_PREFIX = "parley."

P = TypeVar("P", bound=Payload)


class UnknownEventError(ValueError):
    """The envelope names a (type, version) this build has no contract for."""


class Envelope(BaseModel):
    """A CloudEvents 1.0 envelope in structured JSON mode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls, payload: Payload, *, source: str, subject: str, event_id: uuid.UUID | None = None
    ) -> Envelope:
        return cls(
            id=event_id or uuid.uuid4(),
            source=source,
            type=EVENT_TYPE_PREFIX + payload.event_type,
            subject=subject,
            time=datetime.now(UTC),
            dataschema=payload.schema_urn(),
            data=payload.model_dump(mode="json"),
        )

    @property
    def event_type(self) -> str:
        return self.type.removeprefix(EVENT_TYPE_PREFIX)

    @property
    def version(self) -> int:
        _, _, tail = self.dataschema.rpartition(":v")
        try:
            return int(tail)
        except ValueError as exc:
            raise UnknownEventError(f"dataschema {self.dataschema!r} carries no version") from exc

    def payload_class(self) -> builtins.type[Payload]:
        try:
            return PAYLOADS[(self.event_type, self.version)]
        except KeyError as exc:
            raise UnknownEventError(f"no contract for {self.type} v{self.version}") from exc

    def payload(self, cls: builtins.type[P]) -> P:
        return cls.model_validate(self.data)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
