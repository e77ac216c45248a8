"""Agreements drafts and sends the settlement agreement as soon as both sides have agreed on terms."""

from __future__ import annotations

from datetime import UTC, datetime

from services.agreements.documents import draft_and_send
from services.agreements.repository import AgreementRepository
from shared.bus.consumer import Handlers
from shared.bus.outbox import Tx
from shared.contracts import AgreementSentV1, CaseAgreedV1, CaseAgreedV2, Envelope
from shared.settings import Settings


def build_handlers(_: Settings) -> Handlers:
    handlers = Handlers()

    # Version 2 (both sides confirmed, with payment terms and signers) maps to today's draft until the
    # agreements rebuild (issue 9) renders it from a template.
    @handlers.on(CaseAgreedV1)
    @handlers.on(CaseAgreedV2)
    async def agreed(tx: Tx, agreed: CaseAgreedV1 | CaseAgreedV2, _: Envelope) -> None:
        repository = AgreementRepository(tx.session)
        if await repository.exists_for_case(agreed.case_id):
            return
        agreement = await repository.add(draft_and_send(agreed, datetime.now(UTC)))
        assert agreement.sent_at is not None
        await tx.emit(
            AgreementSentV1(
                agreement_id=agreement.id,
                case_id=agreement.case_id,
                bill_id=agreement.bill_id,
                agreed_amount=agreement.agreed_amount,
                sent_at=agreement.sent_at,
            ),
            subject=str(agreement.bill_id),
        )

    return handlers
