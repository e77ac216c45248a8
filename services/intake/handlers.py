"""Intake follows each bill downstream, so partners can ask one place where their bill stands."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from services.intake.bill_status import record_status
from services.intake.status import BillStatus
from shared.bus.consumer import Handlers, PermanentError
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementExecutedV1,
    AgreementSentV1,
    AgreementSentV2,
    AgreementSignedV1,
    AgreementSignedV2,
    BillPricedV1,
    BillPricedV2,
    CaseAgreedV1,
    CaseAgreedV2,
    CaseClosedV1,
    CaseClosedV2,
    CaseNotOpenedV1,
    CaseOpenedV1,
    CaseOpenedV2,
    CaseOutcome,
    CaseReopenedV1,
    CaseRoute,
    Envelope,
    RecipientRole,
)
from shared.settings import Settings


async def _record(
    tx: Tx,
    bill_id: uuid.UUID,
    status: BillStatus,
    detail: str,
    event: Envelope,
    at: datetime,
    *,
    priced_amount: Decimal | None = None,
    pricing_method: str | None = None,
    agreed_amount: Decimal | None = None,
    reopen: bool = False,
) -> None:
    found = await record_status(
        tx.session,
        bill_id,
        status,
        detail=detail,
        event_id=event.id,
        at=at,
        priced_amount=priced_amount,
        pricing_method=pricing_method,
        agreed_amount=agreed_amount,
        reopen=reopen,
    )
    if not found:
        raise PermanentError(f"{event.type} for unknown bill {bill_id}")


def build_handlers(_: Settings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillPricedV1)
    async def priced_v1(tx: Tx, e: BillPricedV1, event: Envelope) -> None:
        await priced(tx, BillPricedV2.from_v1(e), event)

    @handlers.on(BillPricedV2)
    async def priced(tx: Tx, e: BillPricedV2, event: Envelope) -> None:
        unpriced = [line.line_number for line in e.lines if line.allowed is None]
        how = {
            "fee_schedule": f"the {e.jurisdiction} fee schedule",
            "contract": "a PPO contract",
            "agreement": "a direct agreement",
            "usual_and_customary": "usual-and-customary review (median of three)",
        }.get(e.method.value, e.method.value)
        detail = f"priced by {how} at {e.total_allowed}"
        if e.findings:
            detail += f"; {len(e.findings)} audit finding(s)"
        if unpriced:
            detail += f"; lines {', '.join(map(str, unpriced))} could not be priced"
        await _record(
            tx,
            e.bill_id,
            BillStatus.priced,
            detail,
            event,
            e.priced_at,
            priced_amount=e.total_allowed,
            pricing_method=e.method.value,
        )

    @handlers.on(CaseOpenedV1)
    async def opened(tx: Tx, e: CaseOpenedV1, event: Envelope) -> None:
        detail = f"negotiation case {e.case_id} opened; opening offer {e.opening_offer}"
        await _record(tx, e.bill_id, BillStatus.in_negotiation, detail, event, e.opened_at)

    @handlers.on(CaseOpenedV2)
    async def opened_v2(tx: Tx, e: CaseOpenedV2, event: Envelope) -> None:
        if e.route is CaseRoute.repriced:
            await _record(tx, e.bill_id, BillStatus.repriced, e.route_reason, event, e.opened_at)
            return
        detail = f"negotiation case {e.case_id} opened on the {e.route.value} route: {e.route_reason}"
        await _record(tx, e.bill_id, BillStatus.in_negotiation, detail, event, e.opened_at)

    @handlers.on(CaseReopenedV1)
    async def reopened(tx: Tx, e: CaseReopenedV1, event: Envelope) -> None:
        detail = f"back in negotiation: {e.reason}"
        await _record(tx, e.bill_id, BillStatus.in_negotiation, detail, event, e.reopened_at, reopen=True)

    @handlers.on(CaseNotOpenedV1)
    async def not_opened(tx: Tx, e: CaseNotOpenedV1, event: Envelope) -> None:
        await _record(tx, e.bill_id, BillStatus.not_negotiated, e.detail, event, e.decided_at)

    @handlers.on(CaseAgreedV1)
    @handlers.on(CaseAgreedV2)
    async def agreed(tx: Tx, e: CaseAgreedV1 | CaseAgreedV2, event: Envelope) -> None:
        detail = f"provider and payer agreed on {e.agreed_amount}"
        await _record(
            tx, e.bill_id, BillStatus.agreed, detail, event, e.agreed_at, agreed_amount=e.agreed_amount
        )

    @handlers.on(AgreementSentV1)
    @handlers.on(AgreementSentV2)
    async def sent(tx: Tx, e: AgreementSentV1 | AgreementSentV2, event: Envelope) -> None:
        detail = f"settlement agreement {e.agreement_id} sent to the provider for signature"
        await _record(tx, e.bill_id, BillStatus.agreement_sent, detail, event, e.sent_at)

    @handlers.on(AgreementSignedV1)
    async def signed(tx: Tx, e: AgreementSignedV1, event: Envelope) -> None:
        detail = f"settlement agreement signed by {e.signer_name}"
        await _record(tx, e.bill_id, BillStatus.signed, detail, event, e.signed_at)

    @handlers.on(AgreementSignedV2)
    async def signed_v2(tx: Tx, e: AgreementSignedV2, event: Envelope) -> None:
        if e.role is RecipientRole.provider:
            detail = f"settlement agreement signed by {e.signer_name}"
            await _record(tx, e.bill_id, BillStatus.signed, detail, event, e.signed_at)

    @handlers.on(AgreementExecutedV1)
    async def executed(tx: Tx, e: AgreementExecutedV1, event: Envelope) -> None:
        detail = f"settlement agreement executed (countersigned by {e.countersigner})"
        await _record(
            tx, e.bill_id, BillStatus.settled, detail, event, e.executed_at, agreed_amount=e.agreed_amount
        )

    @handlers.on(CaseClosedV1)
    async def closed(tx: Tx, e: CaseClosedV1, event: Envelope) -> None:
        status = BillStatus.settled if e.outcome is CaseOutcome.settled else BillStatus.closed
        await _record(tx, e.bill_id, status, e.reason, event, e.closed_at, agreed_amount=e.agreed_amount)

    @handlers.on(CaseClosedV2)
    async def closed_v2(tx: Tx, e: CaseClosedV2, event: Envelope) -> None:
        if e.outcome is CaseOutcome.repriced:
            await _record(tx, e.bill_id, BillStatus.repriced, e.reason, event, e.closed_at)
            return
        settled = e.outcome is CaseOutcome.settled
        status = BillStatus.settled if settled else BillStatus.closed
        amount = e.agreed_amount if settled else None
        await _record(tx, e.bill_id, status, e.reason, event, e.closed_at, agreed_amount=amount)

    return handlers
