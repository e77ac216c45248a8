"""``negotiation.events``: cases, offers, approvals, agreement on terms, and how a case ends."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.contracts.bills import PricingMethod
from shared.contracts.common import (
    CaseEvent,
    LineOfBusiness,
    Money,
    Party,
    PatientRef,
    Payload,
    PaymentTerms,
    ProviderRef,
    QuickPayTerms,
    Signer,
    Topic,
)

# --- negotiation.events --------------------------------------------------------------------------


class NotOpenedReason(StrEnum):
    no_savings = "no_savings"  # the priced amount is not below billed charges
    unpriced = "unpriced"  # no line could be priced: a person must review the bill


class CaseOpenedV1(CaseEvent):
    event_type: ClassVar[str] = "case.opened"
    version: ClassVar[int] = 1

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


class CaseAgreedV1(CaseEvent):
    event_type: ClassVar[str] = "case.agreed"
    version: ClassVar[int] = 1

    provider: ProviderRef
    billed: Money
    agreed_amount: Money
    offer_id: uuid.UUID
    agreed_at: datetime


class CaseOutcome(StrEnum):
    """How a case ended. Version 1 of ``case.closed`` only ever carries the first two."""

    settled = "settled"  # the settlement agreement was executed
    closed_unresolved = "closed_unresolved"  # closed without agreement, with the reason
    repriced = "repriced"  # fee schedule or contract: no negotiation
    disputed = "disputed"  # the bill's errors are disputed with the provider (audit route), with the reason
    escalated = "escalated"  # handed beyond the negotiation team (e.g. No Surprises Act IDR), with the reason
    voided = "voided"  # the partner voided the bill


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


# --- version 2: routing, work queues, evidence-backed offers, authority, both sides confirming -------


class CaseRoute(StrEnum):
    """Where a priced bill goes first (seed 003: route by what blocks payment)."""

    repriced = "repriced"  # priced by fee schedule or contract: closes without negotiation
    audit = "audit"  # audit findings put money at stake above the client's threshold: dispute errors first
    negotiate = "negotiate"  # a valid bill above its U&C target
    review = "review"  # nothing could be priced: a person decides


class CaseOpenedV2(CaseEvent):
    """A case exists for a priced bill, on its route. A ``repriced`` case is opened and closed at once."""

    event_type: ClassVar[str] = "case.opened"
    version: ClassVar[int] = 2

    provider: ProviderRef
    route: CaseRoute
    route_reason: str
    method: PricingMethod
    billed: Money
    target: Money | None = Field(
        description="The negotiation target (U&C median) or the fee schedule / contract amount."
    )
    findings_at_stake: Money = Field(description="Dollars at stake in the bill's audit findings.")
    opening_offer: Money | None = Field(description="None until an offer is made (review and audit routes).")
    pricing_revision: int
    statement_sha256: str
    opened_at: datetime


class CaseRoutedV1(CaseEvent):
    """A case's route changed (a supervisor re-routed it, or a re-pricing moved it)."""

    event_type: ClassVar[str] = "case.routed"
    version: ClassVar[int] = 1

    route: CaseRoute
    previous_route: CaseRoute | None
    reason: str
    routed_by: str = Field(description="User id, or 'parley' for an automatic decision.")
    routed_at: datetime


class CaseAssignedV1(CaseEvent):
    event_type: ClassVar[str] = "case.assigned"
    version: ClassVar[int] = 1

    assignee: str | None = Field(description="User id; None when the case is returned to the queue.")
    previous_assignee: str | None
    assigned_by: str
    assigned_at: datetime


class CaseRevisedV1(CaseEvent):
    """A replacement bill was re-priced while the case was open: new target and evidence."""

    event_type: ClassVar[str] = "case.revised"
    version: ClassVar[int] = 1

    pricing_revision: int
    billed: Money
    previous_target: Money | None
    target: Money | None
    flagged_offer_id: uuid.UUID | None = Field(
        description="An offer already out that rests on the old figures; flagged, never changed."
    )
    revised_at: datetime


class OfferMadeV2(CaseEvent):
    """An offer or counter-offer, with the evidence it rests on."""

    event_type: ClassVar[str] = "case.offer_made"
    version: ClassVar[int] = 2

    offer_id: uuid.UUID
    seq: int = Field(description="1 for the opening offer, then one more per offer.")
    party: Party
    amount: Money
    billed: Money
    basis: str = Field(description="Why this amount, in words a provider can read.")
    statement_sha256: str | None = Field(description="The pricing statement the offer quotes.")
    quick_pay: QuickPayTerms | None = None
    expires_at: datetime | None
    made_by: str = Field(description="User id, 'parley' (automatic), or the provider contact's name.")
    automatic: bool = False
    made_at: datetime


class OfferExpiredV1(CaseEvent):
    event_type: ClassVar[str] = "case.offer_expired"
    version: ClassVar[int] = 1

    offer_id: uuid.UUID
    expired_at: datetime


class OfferDeclinedV1(CaseEvent):
    """A side declined the other's offer outright (no counter), with its reason."""

    event_type: ClassVar[str] = "case.offer_declined"
    version: ClassVar[int] = 1

    offer_id: uuid.UUID
    party: Party = Field(description="Who declined.")
    reason: str
    declined_at: datetime


class TermsConfirmedV1(CaseEvent):
    """One side confirmed the agreed terms; the case is agreed once both have."""

    event_type: ClassVar[str] = "case.terms_confirmed"
    version: ClassVar[int] = 1

    party: Party
    amount: Money
    confirmed_by: str = Field(description="User id, or the provider contact who confirmed.")
    via: str = Field(description="'offer_page' (the provider's link), or 'recorded' by a negotiator.")
    confirmed_at: datetime


class CaseAgreedV2(CaseEvent):
    """Both sides confirmed the same terms: everything the settlement agreement needs.

    Emitted only after both confirmations and the duplicate-payment check. Carries the minimum necessary
    patient reference, for the agreement document.
    """

    event_type: ClassVar[str] = "case.agreed"
    version: ClassVar[int] = 2

    partner_claim_id: str | None
    provider: ProviderRef
    patient: PatientRef | None
    service_from: date | None
    service_to: date | None
    jurisdiction: str | None
    line_of_business: LineOfBusiness | None
    method: PricingMethod
    billed: Money
    target: Money | None
    agreed_amount: Money
    offer_id: uuid.UUID
    terms: PaymentTerms
    statement_sha256: str | None
    provider_signer: Signer | None = Field(description="Who signs for the provider (its confirming contact).")
    payer_signer: Signer | None = Field(description="Who countersigns for the payer side.")
    provider_confirmed_by: str
    payer_confirmed_by: str
    first_offer_accepted: bool
    offers: int = Field(description="Offers made in the case, both sides.")
    agreed_at: datetime


class CaseReopenedV1(CaseEvent):
    """An agreed case is back in negotiation (the provider declined to sign), with the reason."""

    event_type: ClassVar[str] = "case.reopened"
    version: ClassVar[int] = 1

    reason: str
    reopened_at: datetime


class CaseClosedV2(CaseEvent):
    event_type: ClassVar[str] = "case.closed"
    version: ClassVar[int] = 2

    outcome: CaseOutcome
    reason: str
    method: PricingMethod | None = None
    agreed_amount: Money | None = Field(
        description="Settled: the agreed amount; repriced: the priced amount."
    )
    closed_at: datetime
