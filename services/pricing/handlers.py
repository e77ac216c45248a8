"""Pricing reacts to one event: a bill was received."""

from __future__ import annotations

from services.pricing.config import PricingSettings
from services.pricing.pricings import price_received_bill
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import BillReceivedV1, Envelope


def build_handlers(settings: PricingSettings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillReceivedV1)
    async def price(tx: Tx, bill: BillReceivedV1, _: Envelope) -> None:
        await price_received_bill(tx, bill, settings)

    return handlers
