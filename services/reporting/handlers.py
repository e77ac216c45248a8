"""Reporting listens to every event and keeps one row of facts per bill."""

from __future__ import annotations

from services.reporting.facts import record
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementSignedV1,
    AgreementSignedV2,
    BillPricedV1,
    BillPricedV2,
    BillReceivedV1,
    BillVoidedV1,
    CaseAgreedV1,
    CaseAgreedV2,
    CaseClosedV1,
    CaseClosedV2,
    CaseNotOpenedV1,
    CaseOpenedV1,
    CaseOpenedV2,
    CaseOutcome,
    CaseRoute,
    Envelope,
    RecipientRole,
)
from shared.settings import Settings


def build_handlers(_: Settings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillReceivedV1)
    async def received(tx: Tx, e: BillReceivedV1, _: Envelope) -> None:
        await record(
            tx.session, e.bill_id, client_id=e.client_id, received_at=e.received_at, billed=e.total_charge
        )

    @handlers.on(BillVoidedV1)
    async def voided(tx: Tx, e: BillVoidedV1, _: Envelope) -> None:
        await record(tx.session, e.bill_id, client_id=e.client_id, voided_at=e.voided_at)

    @handlers.on(BillPricedV1)
    async def priced_v1(tx: Tx, e: BillPricedV1, event: Envelope) -> None:
        await priced(tx, BillPricedV2.from_v1(e), event)

    @handlers.on(BillPricedV2)
    async def priced(tx: Tx, e: BillPricedV2, _: Envelope) -> None:
        await record(
            tx.session,
            e.bill_id,
            client_id=e.client_id,
            priced_at=e.priced_at,
            method=e.method.value,
            allowed=e.total_allowed,
            unpriced_billed=e.unpriced_billed,
        )

    @handlers.on(CaseOpenedV1)
    async def opened(tx: Tx, e: CaseOpenedV1, _: Envelope) -> None:
        await record(tx.session, e.bill_id, client_id=e.client_id, case_opened_at=e.opened_at)

    @handlers.on(CaseOpenedV2)
    async def opened_v2(tx: Tx, e: CaseOpenedV2, _: Envelope) -> None:
        # Negotiation's v2 routing (issue 8): a bill repriced by fee schedule or contract is not negotiated.
        if e.route is CaseRoute.repriced:
            await record(tx.session, e.bill_id, client_id=e.client_id, not_negotiated_reason="repriced")
        else:
            await record(tx.session, e.bill_id, client_id=e.client_id, case_opened_at=e.opened_at)

    @handlers.on(CaseNotOpenedV1)
    async def not_opened(tx: Tx, e: CaseNotOpenedV1, _: Envelope) -> None:
        await record(tx.session, e.bill_id, client_id=e.client_id, not_negotiated_reason=e.reason.value)

    @handlers.on(CaseAgreedV1)
    @handlers.on(CaseAgreedV2)
    async def agreed(tx: Tx, e: CaseAgreedV1 | CaseAgreedV2, _: Envelope) -> None:
        await record(tx.session, e.bill_id, agreed_at=e.agreed_at, agreed_amount=e.agreed_amount)

    @handlers.on(AgreementSignedV1)
    async def signed(tx: Tx, e: AgreementSignedV1, _: Envelope) -> None:
        await record(tx.session, e.bill_id, signed_at=e.signed_at)

    @handlers.on(AgreementSignedV2)
    async def signed_v2(tx: Tx, e: AgreementSignedV2, _: Envelope) -> None:
        if e.role is RecipientRole.provider:
            await record(tx.session, e.bill_id, signed_at=e.signed_at)

    @handlers.on(CaseClosedV1)
    @handlers.on(CaseClosedV2)
    async def closed(tx: Tx, e: CaseClosedV1 | CaseClosedV2, _: Envelope) -> None:
        if e.outcome is CaseOutcome.settled:
            await record(tx.session, e.bill_id, settled_at=e.closed_at, agreed_amount=e.agreed_amount)

    return handlers
