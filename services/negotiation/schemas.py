"""Request and response bodies of the negotiation API (cases, offers, approvals, confirmations).

Money is a decimal string in dollars; dates are ISO 8601; business days follow the US federal calendar.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from services.negotiation.authority import Action
from services.negotiation.cases import CaseStatus
from services.negotiation.deadlines import ClockKind
from services.negotiation.offers import Decision
from shared.codes import Amount
from shared.contracts import CaseOutcome, CaseRoute, Party, PaymentTerms, QuickPayTerms

Reason = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests ------------------------------------------------------------------------------------


class RouteIn(_In):
    route: CaseRoute = Field(description="audit, negotiate or review (repriced comes from pricing only).")
    reason: str = Field(min_length=3, max_length=2000, description="Why, recorded on the case.")


class AssignIn(_In):
    assignee: str | None = Field(
        min_length=1,
        max_length=320,
        description="User id to assign; your own id to take the case; null to return it to the queue. "
        "Another user must be known to this service (a token made by `parley users create`), not "
        "disabled, a negotiator or supervisor, and serve the case's client (422 naming why otherwise).",
    )


class OfferIn(_In):
    """A payer offer. Without an amount, the case's strategy opening (``suggested_offer``) is sent."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"amount": "1850.00", "note": "second offer after a call"}]},
    )

    amount: Amount | None = Field(default=None, description="Dollars; at most billed.")
    note: str | None = Field(default=None, max_length=2000)
    quick_pay: bool = Field(default=True, description="Attach the client's best quick-pay tier.")


class ResponseIn(_In):
    """One side's answer to the other side's open offer. A provider answer is recorded by a negotiator
    from a call, mail or fax and names the contact; a payer counter is a new offer (POST …/offers)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"party": "provider", "decision": "counter", "amount": "2400.00", "contact": "Pat Lee"},
                {"party": "provider", "decision": "accept", "contact": "Pat Lee"},
                {"party": "payer", "decision": "accept"},
                {"party": "payer", "decision": "decline", "reason": "above the U&C target by 40%"},
            ]
        },
    )

    party: Party
    decision: Decision
    amount: Amount | None = Field(default=None, description="A provider counter's amount, dollars.")
    note: str | None = Field(default=None, max_length=2000, description="The provider's note on a counter.")
    reason: str | None = Field(default=None, max_length=2000, description="Required to decline.")
    contact: str | None = Field(
        default=None, max_length=200, description="Provider responses: the provider contact who answered."
    )

    @model_validator(mode="after")
    def _complete(self) -> ResponseIn:
        if self.decision is Decision.counter and self.party is Party.payer:
            raise ValueError("a payer counter is a new offer: POST /v1/cases/{id}/offers")
        if self.decision is Decision.counter and self.amount is None:
            raise ValueError("a counter needs an amount")
        if self.decision is Decision.decline and not (self.reason or "").strip():
            raise ValueError("a decline needs a reason")
        if self.decision is not Decision.counter and self.amount is not None:
            raise ValueError("only a counter names an amount; accept takes the open offer as it is")
        return self


class ApprovalIn(_In):
    action: Action = Field(description="'offer' (send this amount) or 'accept' (the provider's amount).")
    amount: Amount
    reason: str = Field(min_length=3, max_length=2000)


class DecisionIn(_In):
    approve: bool
    reason: str = Field(min_length=3, max_length=2000)


class ConfirmationIn(_In):
    """A side's confirmation of the accepted terms. For the provider, name the contact who confirmed."""

    party: Party
    contact: str | None = Field(
        default=None, max_length=200, description="Provider: who confirmed. Payer: defaults to you."
    )
    title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class AgreementIn(_In):
    duplicate_override: str | None = Field(
        default=None,
        min_length=3,
        max_length=2000,
        description="Supervisor only: agree despite a possible duplicate payment, with the reason.",
    )


class CloseIn(_In):
    outcome: CaseOutcome = Field(description="disputed, escalated or closed_unresolved.")
    reason: str = Field(min_length=3, max_length=2000)


class ClockIn(_In):
    kind: ClockKind = ClockKind.nsa_open_negotiation
    started_on: date | None = Field(
        default=None, description="The day the open-negotiation notice was sent; today (Eastern) if omitted."
    )


# --- responses -----------------------------------------------------------------------------------


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seq: int
    party: Party
    amount: Decimal
    note: str | None
    made_at: datetime
    made_by: str = Field(description="User id, 'parley' (automatic) or the provider contact.")
    basis: str = Field(description="Why this amount, in words a provider can read.")
    statement_sha256: str | None = Field(description="The pricing statement the offer quotes.")
    pricing_revision: int | None
    expires_at: datetime | None
    quick_pay_percent: Decimal | None = Field(exclude=True)
    quick_pay_days: int | None = Field(exclude=True)
    quick_pay_amount: Decimal | None = Field(exclude=True)
    automatic: bool
    status: str = Field(description="open, accepted, countered, declined, expired, superseded, withdrawn.")
    responded_at: datetime | None
    response_reason: str | None
    flagged: str | None = Field(description="Why the offer no longer matches the case (e.g. re-priced).")
    link_created_at: datetime | None = Field(description="When a provider link was issued for it.")

    @computed_field(description="The quick-pay incentive the offer carries.")  # type: ignore[prop-decorator]
    @property
    def quick_pay(self) -> QuickPayTerms | None:
        if self.quick_pay_percent is None or self.quick_pay_days is None or self.quick_pay_amount is None:
            return None
        return QuickPayTerms(
            discount_percent=self.quick_pay_percent,
            pay_within_days=self.quick_pay_days,
            amount=self.quick_pay_amount,
        )


class ApprovalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    case_id: uuid.UUID
    action: str
    amount: Decimal
    limit_amount: Decimal = Field(description="The most the requester could do alone.")
    rule: str = Field(description="The authority rule the amount exceeds.")
    reason: str
    requested_by: str
    requested_at: datetime
    status: str = Field(description="pending, approved, denied, used.")
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    used_at: datetime | None
    used_by: str | None = Field(description="Who made the offer or acceptance the approval allowed.")


class ConfirmationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    party: Party
    offer_id: uuid.UUID
    amount: Decimal
    confirmed_by: str
    contact_title: str | None
    recorded_by: str
    via: str = Field(description="'offer_page' or 'recorded'.")
    confirmed_at: datetime
    current: bool = Field(description="False once the case reopened or was re-priced.")


class ClockOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    started_on: date
    due_on: date = Field(description="Last business day of open negotiation.")
    follow_on_due: date | None = Field(description="Last business day to initiate IDR.")
    status: str = Field(description="running, lapsed, closed, met, stopped.")
    started_by: str


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    kind: str
    detail: str


class CaseSummary(BaseModel):
    """A case as lists and queues show it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    bill_id: uuid.UUID
    client_id: str
    provider_npi: str
    provider_tin: str
    provider_name: str | None
    state: str | None = Field(description="The pricing jurisdiction (the facility's state).")
    route: CaseRoute
    route_reason: str
    status: CaseStatus
    billed: Decimal
    target: Decimal | None = Field(description="Allowed over the priced lines (U&C: the median target).")
    unpriced_billed: Decimal
    findings_at_stake: Decimal
    at_stake: Decimal = Field(description="Dollars the route works on (savings, findings or billed).")
    assignee: str | None
    opened_at: datetime
    next_deadline_at: datetime | None
    follow_up_due_at: datetime | None
    attention: str | None = Field(description="A flag for the negotiator, with its reason.")
    blocked_reason: str | None = Field(description="Why agreement is blocked (e.g. a possible duplicate).")
    outcome: CaseOutcome | None
    close_reason: str | None
    priority: Decimal | None = Field(default=None, description="Queue priority (queues only).")

    @computed_field(description="Whole days since the case opened.")  # type: ignore[prop-decorator]
    @property
    def age_days(self) -> int:
        return max((datetime.now(UTC) - self.opened_at).days, 0)


class CaseOut(CaseSummary):
    """A case with its evidence, strategy, offers, approvals, confirmations and clocks."""

    method: str
    pricing_revision: int
    statement_sha256: str | None
    evidence: dict[str, Any] = Field(description="Per line billed, U&C reviews, target; audit findings.")
    suggested_offer: Decimal | None = Field(description="The opening strategy's amount (negotiate route).")
    suggested_basis: str | None = Field(description="The strategy's explanation.")
    opening_offer: Decimal | None
    accepted_at: datetime | None = Field(description="When an offer was accepted (terms to confirm).")
    agreed_amount: Decimal | None
    agreed_at: datetime | None = Field(description="When both sides had confirmed (case.agreed).")
    terms: PaymentTerms | None
    closed_at: datetime | None
    offers: list[OfferOut]
    approvals: list[ApprovalOut]
    confirmations: list[ConfirmationOut]
    clocks: list[ClockOut]


class CaseDetail(CaseOut):
    history: list[HistoryOut] = Field(description="Every step, in order.")


class CaseList(BaseModel):
    items: list[CaseOut]


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


class OfferLink(BaseModel):
    url: str = Field(description="The provider's page. Shown once: only a hash of its token is kept.")
    expires_at: datetime | None = Field(description="The link expires with the offer.")
