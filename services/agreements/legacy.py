"""Version-1 events for the consumers on ``main`` today; remove once they read the version-2 family.

Today's negotiation closes a case as settled on ``agreement.signed`` v1, and intake and reporting read
``agreement.sent`` v1 and ``agreement.signed`` v1. So ``agreement.sent`` v1 goes out beside v2, and
``agreement.signed`` v1 goes out when the agreement is EXECUTED (both parties signed, copy sealed): that
is what "signed" meant to them, a settled agreement. A consumer handles one version of a type, so no
event is applied twice. When negotiation settles on ``agreement.executed`` and intake and reporting read
v2, delete this module and its two calls in ``lifecycle.py`` and ``execution.py``.
"""

from __future__ import annotations

from services.agreements.models import Agreement
from shared.bus.outbox import Tx
from shared.contracts import AgreementSentV1, AgreementSignedV1


async def emit_sent(tx: Tx, agreement: Agreement) -> None:
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


async def emit_signed(tx: Tx, agreement: Agreement, provider_signer: str) -> None:
    assert agreement.executed_at is not None
    await tx.emit(
        AgreementSignedV1(
            agreement_id=agreement.id,
            case_id=agreement.case_id,
            bill_id=agreement.bill_id,
            agreed_amount=agreement.agreed_amount,
            signer_name=provider_signer,
            signed_at=agreement.executed_at,
        ),
        subject=str(agreement.bill_id),
    )
