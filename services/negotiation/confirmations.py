"""Both parties confirm the terms before anything is sent for signature (seed 000), then ``case.agreed``.

The terms are the accepted amount, the payment terms (the client's days to pay; the accepted offer's
quick-pay discount and deadline), the claim reference and the provider. The provider confirms on the
offer page (accepting there confirms the terms shown) or a negotiator records which provider contact
confirmed them; the payer side is confirmed by a negotiator or supervisor. Once both have, and the
duplicate-payment check passes (no other agreed or settled case of the same client for the same
provider, patient and dates of service), the case is agreed and ``case.agreed`` (v2) carries
everything the agreement needs. A blocked agreement keeps both confirmations and says why.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.negotiation import events, providers
from services.negotiation.cases import CaseStatus, log, refresh, require_active
from services.negotiation.client_settings import Settings
from services.negotiation.deadlines import ClockStatus
from services.negotiation.models import BillFacts, Case, Confirmation, Offer
from services.negotiation.strategy import money
from shared.bus.outbox import Tx
from shared.contracts import (
    BillReceivedV1,
    CaseAgreedV2,
    ClockState,
    LineOfBusiness,
    Party,
    PatientRef,
    PaymentTerms,
    PricingMethod,
    Signer,
)
from shared.errors import Conflict, Unprocessable


def duplicate_key(bill: BillReceivedV1) -> str:
    """Same client, provider TIN, patient and dates of service → same key. The patient is the member id
    when the partner sent one, else name and birth date (case-insensitive). Hashed: the key is not PHI."""
    patient = bill.patient or PatientRef()
    who = (
        f"member:{patient.member_id.strip().lower()}"
        if patient.member_id
        else f"name:{(patient.last_name or '').strip().lower()}|{(patient.first_name or '').strip().lower()}"
        f"|{patient.birth_date or ''}"
    )
    days = sorted(line.service_date for line in bill.lines)
    raw = f"{bill.client_id}|{bill.provider.tin}|{who}|{days[0]}|{days[-1]}"
    return hashlib.sha256(raw.encode()).hexdigest()


def accepted_offer(case: Case) -> Offer:
    offer = next((o for o in case.offers if o.id == case.accepted_offer_id), None)
    assert offer is not None, "a confirming case has an accepted offer"
    return offer


def current(case: Case, party: Party) -> Confirmation | None:
    return next(
        (
            c
            for c in case.confirmations
            if c.current and c.party == party.value and c.offer_id == case.accepted_offer_id
        ),
        None,
    )


async def confirm(
    tx: Tx,
    case: Case,
    party: Party,
    settings: Settings,
    *,
    confirmed_by: str,
    title: str | None,
    email: str | None,
    via: str,
    recorded_by: str,
    now: datetime,
) -> Confirmation:
    """Record one side's confirmation of the accepted terms; agree the case when both have."""
    require_active(case, statuses=(CaseStatus.confirming.value,))
    if current(case, party) is not None:
        raise Conflict(f"the {party.value} already confirmed these terms")
    offer = accepted_offer(case)
    if party is Party.provider:
        if not confirmed_by.strip():
            raise Unprocessable(
                "name the provider contact who confirmed the terms",
                errors=[{"field": "contact", "message": "required", "type": "missing"}],
            )
        await providers.contact_named(
            tx.session, case.provider_tin, confirmed_by, role=title, email=email, by=recorded_by, at=now
        )
    confirmation = Confirmation(
        id=uuid.uuid4(),
        case_id=case.id,
        offer_id=offer.id,
        party=party.value,
        amount=offer.amount,
        confirmed_by=confirmed_by.strip(),
        contact_title=title,
        contact_email=email,
        recorded_by=recorded_by,
        via=via,
        confirmed_at=now,
        current=True,
    )
    case.confirmations.append(confirmation)
    log(
        tx.session,
        case,
        recorded_by,
        "confirmed",
        f"{party.value} confirmed the terms ({money(offer.amount)}): {confirmed_by} via {via}",
        now,
    )
    await tx.emit(events.terms_confirmed(case, confirmation), subject=str(case.bill_id))
    await tx.session.flush()
    if current(case, Party.provider) and current(case, Party.payer):
        await agree(tx, case, settings, by=recorded_by, now=now)
    return confirmation


async def duplicate_of(session: AsyncSession, case: Case, facts: BillFacts) -> Case | None:
    """Another agreed or settled case of the same client, provider, patient and dates of service."""
    stmt = (
        select(Case)
        .join(BillFacts, BillFacts.bill_id == Case.bill_id)
        .where(
            BillFacts.duplicate_key == facts.duplicate_key,
            Case.id != case.id,
            Case.status.in_([CaseStatus.agreed.value, CaseStatus.settled.value]),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def agree(
    tx: Tx, case: Case, settings: Settings, *, by: str, now: datetime, override: str | None = None
) -> bool:
    """Both sides confirmed: check for a duplicate payment, then agree and emit ``case.agreed``.

    Returns False (and records the reason on the case) when the agreement is blocked."""
    facts = await tx.session.get(BillFacts, case.bill_id)
    if facts is None:
        case.blocked_reason = (
            "the bill's claim details (bill.received) have not reached negotiation yet; retry"
        )
        log(tx.session, case, by, "blocked", case.blocked_reason, now)
        return False
    other = await duplicate_of(tx.session, case, facts)
    if other is not None and override is None:
        case.blocked_reason = (
            f"possible duplicate payment: case {other.id} (bill {other.bill_id}) for the same provider, "
            f"patient and dates of service was {other.status} at {money(other.agreed_amount or Decimal(0))}"
        )
        log(tx.session, case, by, "blocked", case.blocked_reason, now)
        return False
    if other is not None:
        log(tx.session, case, by, "duplicate_override", f"agreed despite case {other.id}: {override}", now)
    offer = accepted_offer(case)
    provider_confirmation, payer_confirmation = current(case, Party.provider), current(case, Party.payer)
    assert provider_confirmation is not None
    assert payer_confirmation is not None
    quick_pay = events.quick_pay_of(offer) if offer.party == Party.payer.value else None
    terms = PaymentTerms(pay_within_days=settings.payment_terms_days, quick_pay=quick_pay)
    case.status, case.agreed_amount, case.agreed_offer_id, case.agreed_at = (
        CaseStatus.agreed.value,
        offer.amount,
        offer.id,
        now,
    )
    case.terms, case.blocked_reason = terms.model_dump(mode="json"), None
    first_offer = offer.seq == 1
    for clock in case.clocks:
        if clock.status == ClockStatus.running.value:
            clock.status, clock.ended_at = ClockStatus.met.value, now
            await tx.emit(events.clock_changed(case, clock, ClockState.met, now), subject=str(case.bill_id))
    await providers.record_payment(
        tx.session, case, offer, quick_pay=quick_pay is not None, first_offer=first_offer, at=now
    )
    refresh(case)
    log(tx.session, case, by, "agreed", f"both sides confirmed {money(offer.amount)}", now)
    patient = PatientRef(
        first_name=facts.patient_first_name,
        last_name=facts.patient_last_name,
        birth_date=facts.patient_birth_date,
        member_id=facts.patient_member_id,
    )
    await tx.emit(
        CaseAgreedV2(
            case_id=case.id,
            bill_id=case.bill_id,
            client_id=case.client_id,
            partner_claim_id=facts.partner_claim_id,
            provider=events.provider_of(case),
            patient=patient if any(patient.model_dump().values()) else None,
            service_from=facts.service_from,
            service_to=facts.service_to,
            jurisdiction=facts.jurisdiction or facts.state,
            line_of_business=LineOfBusiness(facts.line_of_business) if facts.line_of_business else None,
            method=PricingMethod(case.method),
            billed=case.billed,
            target=case.target,
            agreed_amount=offer.amount,
            offer_id=offer.id,
            terms=terms,
            statement_sha256=offer.statement_sha256 or case.statement_sha256,
            provider_signer=Signer(
                name=provider_confirmation.confirmed_by,
                title=provider_confirmation.contact_title,
                email=provider_confirmation.contact_email,
            ),
            payer_signer=settings.countersigner,
            provider_confirmed_by=provider_confirmation.confirmed_by,
            payer_confirmed_by=payer_confirmation.confirmed_by,
            first_offer_accepted=first_offer,
            offers=len(case.offers),
            agreed_at=now,
        ),
        subject=str(case.bill_id),
    )
    return True


def facts_row(bill: BillReceivedV1) -> dict[str, object]:
    """The ``bill_facts`` row of a received bill."""
    patient = bill.patient or PatientRef()
    days = sorted(line.service_date for line in bill.lines)
    return {
        "bill_id": bill.bill_id,
        "revision": bill.revision,
        "client_id": bill.client_id,
        "partner_claim_id": bill.partner_claim_id,
        "provider_tin": bill.provider.tin,
        "provider_npi": bill.provider.npi,
        "line_of_business": bill.line_of_business.value if bill.line_of_business else None,
        "jurisdiction": bill.jurisdiction,
        "state": bill.facility.state,
        "service_from": days[0],
        "service_to": days[-1],
        "patient_first_name": patient.first_name,
        "patient_last_name": patient.last_name,
        "patient_birth_date": patient.birth_date,
        "patient_member_id": patient.member_id,
        "duplicate_key": duplicate_key(bill),
        "received_at": bill.received_at,
    }
