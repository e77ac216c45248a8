"""Pricing reacts to bills (received, voided) and to accepted payments (negotiation's case.agreed)."""

from __future__ import annotations

import structlog

from services.pricing.config import PricingSettings
from services.pricing.pricings import payment_accepted, price, remember, voided
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import (
    BillReceivedV1,
    BillVoidedV1,
    CaseAgreedV1,
    CaseAgreedV2,
    ClaimFrequency,
    Envelope,
)

log = structlog.get_logger(__name__)


def build_handlers(settings: PricingSettings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillReceivedV1)
    async def received(tx: Tx, bill: BillReceivedV1, _: Envelope) -> None:
        known = await remember(tx, bill)
        if known is None:
            log.info("bill.revision_known", revision=bill.revision)
            return
        replaced = bill.revision > 1 or bill.frequency is ClaimFrequency.replacement
        await price(
            tx,
            bill,
            settings,
            known,
            trigger=f"replacement claim, revision {bill.revision}" if replaced else "bill received",
        )

    @handlers.on(BillVoidedV1)
    async def void(tx: Tx, e: BillVoidedV1, _: Envelope) -> None:
        await voided(tx, e.bill_id)

    @handlers.on(CaseAgreedV1)
    @handlers.on(CaseAgreedV2)
    async def agreed(tx: Tx, e: CaseAgreedV1 | CaseAgreedV2, _: Envelope) -> None:
        # The provider accepted a payment: evidence of what providers accept, for later U&C reviews.
        if not await payment_accepted(tx, e.bill_id, e.agreed_amount):
            log.warning("payment.unknown_bill", case_id=str(e.case_id))

    return handlers
