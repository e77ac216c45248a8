"""The events negotiation emits, built from its rows (contracts in shared/contracts/negotiation.py).

Every step of a case is one of these, written to the outbox in the transaction that made the step.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from services.negotiation.models import Approval, Case, Clock, Confirmation, Offer
from shared.contracts import (
    ApprovalDecidedV1,
    ApprovalRequestedV1,
    CaseAssignedV1,
    CaseClockV1,
    CaseClosedV2,
    CaseOpenedV2,
    CaseOutcome,
    CaseReopenedV1,
    CaseRevisedV1,
    CaseRoute,
    CaseRoutedV1,
    ClockState,
    FollowUpDueV1,
    OfferDeclinedV1,
    OfferExpiredV1,
    OfferMadeV2,
    Party,
    PricingMethod,
    ProviderRef,
    QuickPayTerms,
    TermsConfirmedV1,
)


def provider_of(case: Case) -> ProviderRef:
    return ProviderRef(npi=case.provider_npi, tin=case.provider_tin, name=case.provider_name)


def opened(case: Case, provider: ProviderRef) -> CaseOpenedV2:
    return CaseOpenedV2(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        provider=provider,
        route=CaseRoute(case.route),
        route_reason=case.route_reason,
        method=PricingMethod(case.method),
        billed=case.billed,
        target=case.target,
        findings_at_stake=case.findings_at_stake,
        opening_offer=case.opening_offer,
        pricing_revision=case.pricing_revision,
        statement_sha256=case.statement_sha256 or "",
        opened_at=case.opened_at,
    )


def routed(case: Case, previous: CaseRoute | None, by: str, at: datetime) -> CaseRoutedV1:
    return CaseRoutedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        route=CaseRoute(case.route),
        previous_route=previous,
        reason=case.route_reason,
        routed_by=by,
        routed_at=at,
    )


def assigned(case: Case, previous: str | None, by: str, at: datetime) -> CaseAssignedV1:
    return CaseAssignedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        assignee=case.assignee,
        previous_assignee=previous,
        assigned_by=by,
        assigned_at=at,
    )


def revised(
    case: Case, previous_target: Decimal | None, flagged: Offer | None, at: datetime
) -> CaseRevisedV1:
    return CaseRevisedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        pricing_revision=case.pricing_revision,
        billed=case.billed,
        previous_target=previous_target,
        target=case.target,
        flagged_offer_id=flagged.id if flagged else None,
        revised_at=at,
    )


def quick_pay_of(offer: Offer) -> QuickPayTerms | None:
    if offer.quick_pay_percent is None or offer.quick_pay_days is None or offer.quick_pay_amount is None:
        return None
    return QuickPayTerms(
        discount_percent=offer.quick_pay_percent,
        pay_within_days=offer.quick_pay_days,
        amount=offer.quick_pay_amount,
    )


def offer_made(case: Case, offer: Offer) -> OfferMadeV2:
    return OfferMadeV2(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        offer_id=offer.id,
        seq=offer.seq,
        party=Party(offer.party),
        amount=offer.amount,
        billed=case.billed,
        basis=offer.basis,
        statement_sha256=offer.statement_sha256,
        quick_pay=quick_pay_of(offer),
        expires_at=offer.expires_at,
        made_by=offer.made_by,
        automatic=offer.automatic,
        made_at=offer.made_at,
    )


def offer_expired(case: Case, offer: Offer, at: datetime) -> OfferExpiredV1:
    return OfferExpiredV1(
        case_id=case.id, bill_id=case.bill_id, client_id=case.client_id, offer_id=offer.id, expired_at=at
    )


def offer_declined(case: Case, offer: Offer, by: Party, reason: str, at: datetime) -> OfferDeclinedV1:
    return OfferDeclinedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        offer_id=offer.id,
        party=by,
        reason=reason,
        declined_at=at,
    )


def follow_up_due(case: Case, offer: Offer, days: int, at: datetime) -> FollowUpDueV1:
    return FollowUpDueV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        offer_id=offer.id,
        business_days=days,
        due_at=at,
    )


def approval_requested(case: Case, approval: Approval) -> ApprovalRequestedV1:
    return ApprovalRequestedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        approval_id=approval.id,
        action=approval.action,
        amount=approval.amount,
        limit=approval.limit_amount,
        rule=approval.rule,
        reason=approval.reason,
        requested_by=approval.requested_by,
        requested_at=approval.requested_at,
    )


def approval_decided(case: Case, approval: Approval) -> ApprovalDecidedV1:
    assert approval.decided_by is not None
    assert approval.decided_at is not None
    return ApprovalDecidedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        approval_id=approval.id,
        approved=approval.status == "approved",
        reason=approval.decision_reason or "",
        decided_by=approval.decided_by,
        decided_at=approval.decided_at,
    )


def terms_confirmed(case: Case, confirmation: Confirmation) -> TermsConfirmedV1:
    return TermsConfirmedV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        party=Party(confirmation.party),
        amount=confirmation.amount,
        confirmed_by=confirmation.confirmed_by,
        via=confirmation.via,
        confirmed_at=confirmation.confirmed_at,
    )


def reopened(case: Case, reason: str, at: datetime) -> CaseReopenedV1:
    return CaseReopenedV1(
        case_id=case.id, bill_id=case.bill_id, client_id=case.client_id, reason=reason, reopened_at=at
    )


def closed(case: Case) -> CaseClosedV2:
    assert case.outcome is not None
    assert case.closed_at is not None
    outcome = CaseOutcome(case.outcome)
    amount = case.agreed_amount
    if outcome is CaseOutcome.repriced and case.target is not None:
        amount = case.target + case.unpriced_billed
    return CaseClosedV2(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        outcome=outcome,
        reason=case.close_reason or "",
        method=PricingMethod(case.method) if case.method else None,
        agreed_amount=amount,
        closed_at=case.closed_at,
    )


def clock_changed(case: Case, clock: Clock, state: ClockState, at: datetime) -> CaseClockV1:
    return CaseClockV1(
        case_id=case.id,
        bill_id=case.bill_id,
        client_id=case.client_id,
        clock_id=clock.id,
        kind=clock.kind,
        state=state,
        started_on=clock.started_on,
        due_on=clock.due_on,
        follow_on_due=clock.follow_on_due,
        at=at,
    )
