"""What negotiation does with each event it consumes.

- ``bill.received``: the bill facts (claim reference, patient reference, dates of service, line of
  business, state) and the provider database (name, address, NPIs, facilities).
- ``bill.voided``: an open case closes as voided; a case never opens for a voided bill.
- ``bill.priced``: the provider's charges and targets seen; a case opened on its route, or an open case
  revised (routing.py, cases.py).
- ``agreement.executed`` settles the case; ``agreement.signed`` v1 (today's agreements service, which
  has no countersignature) settles it too. ``agreement.declined`` sends it back to negotiation with the
  reason; ``agreement.expired`` flags it for the negotiator.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog

from services.negotiation import authority, cases, offers
from services.negotiation.client_settings import settings_for, settings_of
from services.negotiation.models import Case
from services.negotiation.repository import CaseRepository
from services.negotiation.routing import route_for
from services.negotiation.strategy import money
from shared.bus.consumer import Handlers, PermanentError
from shared.bus.outbox import Tx
from shared.contracts import (
    AgreementDeclinedV1,
    AgreementExecutedV1,
    AgreementExpiredV1,
    AgreementSentV1,
    AgreementSentV2,
    AgreementSignedV1,
    AgreementSignedV2,
    BillPricedV1,
    BillPricedV2,
    BillReceivedV1,
    BillVoidedV1,
    CaseNotOpenedV1,
    CaseOutcome,
    CaseRoute,
    Envelope,
)
from shared.settings import Settings

log = structlog.get_logger(__name__)


async def _case(tx: Tx, case_id: uuid.UUID, what: str) -> Case:
    case = await CaseRepository(tx.session).get(case_id, for_update=True)
    if case is None:
        raise PermanentError(f"{what} for unknown case {case_id}")
    return case


async def on_priced(tx: Tx, priced: BillPricedV2) -> None:
    repository = CaseRepository(tx.session)
    if any(isinstance(o, Case) and o.bill_id == priced.bill_id for o in tx.session.new):
        await tx.session.flush()  # this batch opened the bill's case: the read below must see it
    context = await repository.observe_pricing(priced)
    settings = settings_of(context.settings)
    routing = route_for(priced, settings.audit_threshold, priced.client_id)
    now = datetime.now(UTC)
    # A bill's first pricing (the usual case) finds no case and locks nothing; a later one locks and
    # loads its case. Two first pricings at once cannot both open one: cases.bill_id is unique.
    case = await repository.for_bill(priced.bill_id) if context.case_id is not None else None
    if case is not None:
        if priced.revision > case.pricing_revision:
            await cases.revise(tx, case, priced, routing, settings, now)
        return  # an older or repeated pricing changes nothing
    if context.voided:
        return  # priced before the void reached pricing: there is nothing to negotiate
    if routing.route is None:
        assert routing.not_opened is not None
        await tx.emit(
            CaseNotOpenedV1(
                bill_id=priced.bill_id,
                client_id=priced.client_id,
                reason=routing.not_opened,
                detail=routing.reason,
                decided_at=now,
            ),
            subject=str(priced.bill_id),
        )
        return
    case = await cases.open_case(tx, priced, routing, settings, now)
    if (
        case.route == CaseRoute.negotiate.value
        and case.suggested_offer is not None
        and case.billed <= settings.auto_offer_ceiling
    ):
        limit = authority.negotiator_limit(settings.authority, case)
        if authority.within(limit, case.suggested_offer):
            await offers.make_payer_offer(
                tx,
                case,
                settings,
                amount=None,
                note=None,
                quick_pay=True,
                by=cases.PARLEY,
                supervisor=False,
                now=now,
                automatic=True,
            )
        else:
            cases.flag(
                tx.session,
                case,
                f"no automatic offer: the opening {money(case.suggested_offer)} is "
                f"beyond a negotiator's authority ({limit.rule})",
                now,
            )


def build_handlers(_: Settings) -> Handlers:
    handlers = Handlers()

    @handlers.on(BillReceivedV1)
    async def received(tx: Tx, bill: BillReceivedV1, _: Envelope) -> None:
        await CaseRepository(tx.session).record_received(bill)

    @handlers.on(BillPricedV1)
    async def priced_v1(tx: Tx, priced: BillPricedV1, event: Envelope) -> None:
        await on_priced(tx, BillPricedV2.from_v1(priced))

    @handlers.on(BillPricedV2)
    async def priced_v2(tx: Tx, priced: BillPricedV2, _: Envelope) -> None:
        await on_priced(tx, priced)

    @handlers.on(BillVoidedV1)
    async def voided(tx: Tx, voided: BillVoidedV1, _: Envelope) -> None:
        repository = CaseRepository(tx.session)
        await repository.record_void(voided.bill_id, voided.reason, voided.voided_at)
        case = await repository.for_bill(voided.bill_id)
        if case is None:
            return
        now = datetime.now(UTC)
        if case.status not in cases.ACTIVE:
            # Intake refuses a void once a case is agreed; this is a void racing an agreement.
            log.warning("case.void_after_agreement", case_id=str(case.id), status=case.status)
            cases.log(tx.session, case, cases.PARLEY, "void_ignored", f"bill voided while {case.status}", now)
            return
        settings = await settings_for(tx.session, case.client_id)
        reason = f"the partner voided the bill: {voided.reason}"
        await cases.close(tx, case, CaseOutcome.voided, reason, cases.PARLEY, settings, now)

    async def settle(tx: Tx, case_id: uuid.UUID, why: str) -> None:
        case = await _case(tx, case_id, why)
        if not await cases.settle(tx, case, why, datetime.now(UTC)):
            log.warning("case.settle_ignored", case_id=str(case.id), status=case.status)

    @handlers.on(AgreementExecutedV1)
    async def executed(tx: Tx, e: AgreementExecutedV1, _: Envelope) -> None:
        await settle(
            tx,
            e.case_id,
            f"agreement executed (signed by {e.provider_signer}, countersigned by {e.countersigner})",
        )

    @handlers.on(AgreementSignedV1)
    async def signed_v1(tx: Tx, e: AgreementSignedV1, _: Envelope) -> None:
        await settle(tx, e.case_id, f"agreement signed by {e.signer_name}")

    @handlers.on(AgreementSignedV2)
    async def signed_v2(tx: Tx, e: AgreementSignedV2, _: Envelope) -> None:
        case = await _case(tx, e.case_id, "agreement.signed")
        cases.log(
            tx.session,
            case,
            cases.PARLEY,
            "agreement_signed",
            f"{e.role.value} {e.signer_name} signed agreement {e.agreement_id}",
            e.signed_at,
        )

    @handlers.on(AgreementSentV1)
    async def sent_v1(tx: Tx, e: AgreementSentV1, _: Envelope) -> None:
        case = await _case(tx, e.case_id, "agreement.sent")
        cases.log(
            tx.session,
            case,
            cases.PARLEY,
            "agreement_sent",
            f"agreement {e.agreement_id} sent for {money(e.agreed_amount)}",
            e.sent_at,
        )

    @handlers.on(AgreementSentV2)
    async def sent_v2(tx: Tx, e: AgreementSentV2, _: Envelope) -> None:
        case = await _case(tx, e.case_id, "agreement.sent")
        cases.log(
            tx.session,
            case,
            cases.PARLEY,
            "agreement_sent",
            f"agreement {e.agreement_id} sent for {money(e.agreed_amount)}",
            e.sent_at,
        )

    @handlers.on(AgreementDeclinedV1)
    async def declined(tx: Tx, e: AgreementDeclinedV1, _: Envelope) -> None:
        case = await _case(tx, e.case_id, "agreement.declined")
        who = e.signer_name or e.role.value
        await cases.reopen(
            tx, case, f"{who} declined to sign agreement {e.agreement_id}: {e.reason}", datetime.now(UTC)
        )

    @handlers.on(AgreementExpiredV1)
    async def expired(tx: Tx, e: AgreementExpiredV1, _: Envelope) -> None:
        case = await _case(tx, e.case_id, "agreement.expired")
        waiting = e.waiting_for.value if e.waiting_for else "a signer"
        cases.flag(
            tx.session,
            case,
            f"agreement {e.agreement_id} expired unsigned (waiting for the {waiting}): resend or reopen",
            datetime.now(UTC),
            kind="agreement_expired",
        )

    return handlers
