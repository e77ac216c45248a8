"""Agreements sends the settlement agreement for signature as soon as both sides have agreed on terms.

``case.agreed`` v2 (terms confirmed by both sides, with the patient reference and the signers) is the
input the documents are built for; v1, from releases before negotiation's workbench, is handled with the
defaults ``terms.py`` describes. One agreement per agreed offer, and none while the case has one open or
executed: a redelivered or replayed event changes nothing, and a case agreed again after a decline or an
expiry gets a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from services.agreements.config import AgreementsSettings
from services.agreements.lifecycle import desk_for, send
from services.agreements.repository import AgreementRepository
from services.agreements.terms import AgreementTerms
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import CaseAgreedV1, CaseAgreedV2, Envelope


def build_handlers(settings: AgreementsSettings) -> Handlers:
    handlers = Handlers()
    desk = desk_for(settings)

    async def agreed(tx: Tx, agreed: CaseAgreedV1 | CaseAgreedV2) -> None:
        # Lock the case's agreements: two agreed events of one case never send two agreements.
        await tx.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(str(agreed.case_id)))))
        if await AgreementRepository(tx.session).standing_for_case(agreed.case_id, agreed.offer_id):
            return
        terms = AgreementTerms.from_event(agreed, settings.agreements_default_pay_within_days)
        await send(tx, desk, terms, datetime.now(UTC))

    @handlers.on(CaseAgreedV2)
    async def agreed_v2(tx: Tx, event: CaseAgreedV2, _: Envelope) -> None:
        await agreed(tx, event)

    @handlers.on(CaseAgreedV1)
    async def agreed_v1(tx: Tx, event: CaseAgreedV1, _: Envelope) -> None:
        await agreed(tx, event)

    return handlers
