"""Pricing a received bill: look up the reference data, quote every line, store it, announce it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.pricing.config import PricingSettings
from services.pricing.engine import BillQuote, price_bill
from services.pricing.models import Pricing, PricingLine
from services.pricing.repository import PricingRepository
from shared.bus.outbox import Tx
from shared.contracts import BillPricedV1, BillReceivedV1, PricedLineV1, PricingMethod


async def price_received_bill(tx: Tx, bill: BillReceivedV1, settings: PricingSettings) -> Pricing:
    repository = PricingRepository(tx.session)
    year = settings.cms_year
    jurisdiction = bill.pricing_jurisdiction
    quote = price_bill(
        bill.lines,
        jurisdiction=jurisdiction,
        rvus=await repository.relative_values(
            year, (x.procedure_code for x in bill.lines if x.procedure_code)
        ),
        localities=await repository.localities(year, jurisdiction),
        multiplier=settings.multiplier_for(jurisdiction),
        year=year,
    )
    pricing = await repository.add(
        _record(bill, quote, revision=await repository.next_revision(bill.bill_id))
    )
    await tx.emit(priced_event(bill, pricing), subject=str(bill.bill_id))
    return pricing


def _record(bill: BillReceivedV1, quote: BillQuote, *, revision: int) -> Pricing:
    return Pricing(
        id=uuid.uuid4(),
        bill_id=bill.bill_id,
        revision=revision,
        client_id=bill.client_id,
        method=PricingMethod.fee_schedule.value,
        jurisdiction=bill.pricing_jurisdiction,
        locality=quote.locality.name if quote.locality else None,
        multiplier=quote.multiplier,
        total_billed=quote.total_billed,
        total_allowed=quote.total_allowed,
        unpriced_billed=quote.unpriced_billed,
        priced_at=datetime.now(UTC),
        lines=[
            PricingLine(
                line_number=q.line_number,
                code=q.code,
                modifiers=list(q.modifiers),
                units=q.units,
                billed=q.billed,
                schedule_amount=q.schedule_amount,
                allowed=q.allowed,
                basis=q.basis,
                reason=q.reason,
            )
            for q in quote.lines
        ],
    )


def priced_event(bill: BillReceivedV1, pricing: Pricing) -> BillPricedV1:
    return BillPricedV1(
        bill_id=bill.bill_id,
        pricing_id=pricing.id,
        client_id=bill.client_id,
        provider=bill.provider,
        method=PricingMethod(pricing.method),
        jurisdiction=pricing.jurisdiction,
        total_billed=pricing.total_billed,
        total_allowed=pricing.total_allowed,
        unpriced_billed=pricing.unpriced_billed,
        lines=[
            PricedLineV1(
                line_number=line.line_number,
                code=line.code,
                billed=line.billed,
                allowed=line.allowed,
                basis=line.basis,
                reason=line.reason,
            )
            for line in pricing.lines
        ],
        priced_at=pricing.priced_at,
    )
