"""Negotiation opens a case for each priced bill that can save money, and settles it once signed."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from services.negotiation.cases import close_voided, open_case, opening_for, settle
from services.negotiation.repository import CaseRepository
from shared.bus.consumer import Handlers, PermanentError
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementSignedV1,
    BillPricedV1,
    BillPricedV2,
    BillVoidedV1,
    CaseClosedV1,
    CaseNotOpenedV1,
    CaseOpenedV1,
    CaseOutcome,
    Envelope,
    OfferMadeV1,
    Party,
)
from shared.settings import Settings

log = structlog.get_logger(__name__)


def build_handlers(_: Settings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillPricedV1)
    async def priced_v1(tx: Tx, priced: BillPricedV1, event: Envelope) -> None:
        await priced_v2(tx, BillPricedV2.from_v1(priced), event)

    @handlers.on(BillPricedV2)
    async def priced_v2(tx: Tx, priced: BillPricedV2, _: Envelope) -> None:
        # total_allowed is what pricing can support: the fee schedule or contract amount, or for U&C the
        # median of the three reviews (the negotiation target); unpriced lines still count at billed.
        repository = CaseRepository(tx.session)
        if await repository.exists_for_bill(priced.bill_id):
            return  # a re-pricing of a bill already in negotiation does not open a second case
        if await repository.is_voided(priced.bill_id):
            return  # priced before the void reached pricing: there is nothing to negotiate
        now = datetime.now(UTC)
        subject = str(priced.bill_id)
        opening = opening_for(priced)
        if opening.opening_offer is None:
            assert opening.reason is not None
            await tx.emit(
                CaseNotOpenedV1(
                    bill_id=priced.bill_id,
                    client_id=priced.client_id,
                    reason=opening.reason,
                    detail=opening.detail,
                    decided_at=now,
                ),
                subject=subject,
            )
            return
        case = await repository.add(open_case(priced, opening.opening_offer, now))
        await tx.emit(
            CaseOpenedV1(
                case_id=case.id,
                bill_id=case.bill_id,
                client_id=case.client_id,
                provider=priced.provider,
                billed=case.billed,
                opening_offer=case.opening_offer,
                opened_at=now,
            ),
            subject=subject,
        )
        first = case.offers[0]
        await tx.emit(
            OfferMadeV1(
                case_id=case.id,
                bill_id=case.bill_id,
                offer_id=first.id,
                party=Party.payer,
                amount=first.amount,
                made_at=now,
            ),
            subject=subject,
        )

    @handlers.on(BillVoidedV1)
    async def voided(tx: Tx, voided: BillVoidedV1, _: Envelope) -> None:
        repository = CaseRepository(tx.session)
        await repository.record_void(voided.bill_id, voided.reason, voided.voided_at)
        case = await repository.for_bill(voided.bill_id)
        now = datetime.now(UTC)
        reason = f"the partner voided the bill: {voided.reason}"
        if case is None:
            return
        if not close_voided(case, reason, now):
            # Intake refuses a void once a case is agreed; this is a void racing an agreement.
            log.warning("case.void_after_agreement", case_id=str(case.id), status=case.status)
            return
        await tx.session.flush()
        await tx.emit(
            CaseClosedV1(
                case_id=case.id,
                bill_id=case.bill_id,
                outcome=CaseOutcome.closed_unresolved,
                agreed_amount=None,
                reason=reason,
                closed_at=now,
            ),
            subject=str(case.bill_id),
        )

    @handlers.on(AgreementSignedV1)
    async def signed(tx: Tx, signed: AgreementSignedV1, _: Envelope) -> None:
        case = await CaseRepository(tx.session).get(signed.case_id, for_update=True)
        if case is None:
            raise PermanentError(f"agreement {signed.agreement_id} signed for unknown case {signed.case_id}")
        now = datetime.now(UTC)
        if settle(case, now):
            await tx.session.flush()
            await tx.emit(
                CaseClosedV1(
                    case_id=case.id,
                    bill_id=case.bill_id,
                    outcome=CaseOutcome.settled,
                    agreed_amount=case.agreed_amount,
                    reason=f"agreement signed by {signed.signer_name}",
                    closed_at=now,
                ),
                subject=str(case.bill_id),
            )

    return handlers
