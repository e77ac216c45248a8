"""Replacements and voids: a claim with frequency 7 or 8 changes the bill with the same claim number.

A replacement becomes the bill's next revision (its lines replace the old ones, which the revision keeps)
and is priced again: a new ``bill.received`` with the next ``revision``. A void sets the bill to
``voided`` and emits ``bill.voided``. Both are refused once provider and payer agreed, or after a void.
"""

from __future__ import annotations

from datetime import datetime

from services.intake.bill_rows import claim_columns, kept_warnings, line_rows, patient_rows, revision_row
from services.intake.events import received_event, voided_event
from services.intake.models import Bill
from services.intake.repository import BillRepository
from services.intake.schemas import BillIn, BillSummary
from services.intake.status import OPEN_TO_CHANGE, BillStatus
from services.intake.submissions import Received, Source, Submission, rejected
from shared.bus.outbox import Tx
from shared.contracts import ClaimFrequency


async def change(
    tx: Tx,
    repository: BillRepository,
    bill: Bill | None,
    sub: Submission,
    claim: BillIn,
    source: Source,
    now: datetime,
) -> Received:
    """Apply a replacement or a void to the bill with the claim's number (``bill``: None if there is none,
    else locked by the caller). Refused while there is no such bill, and once the bill is agreed or
    voided."""
    verb = "replace" if claim.frequency is ClaimFrequency.replacement else "void"
    if bill is None:
        return rejected(
            sub,
            422,
            [
                {
                    "field": "frequency",
                    "message": f"there is no earlier claim with this number and client to {verb}",
                    "type": "not_found",
                }
            ],
            f"nothing to {verb}: send the claim as an original first",
        )
    if BillStatus(bill.status) not in OPEN_TO_CHANGE:
        why = (
            "was voided"
            if bill.status == BillStatus.voided.value
            else f"is {bill.status}: provider and payer already agreed on it"
        )
        error = {"field": "frequency", "message": f"the bill {why}", "type": "not_open"}
        return rejected(sub, 409, [error], f"bill {bill.id} {why}; it can no longer be {verb}d")
    current = {c.key: getattr(bill, c.key) for c in Bill.__table__.columns}
    if claim.frequency is ClaimFrequency.void:
        detail = f"voided by the partner (claim frequency 8); revision {bill.revision} is cancelled"
        await repository.mark_voided(bill, detail, now)
        await repository.insert_details(
            lines=[],
            patients=[],
            revisions=[],
            history=[{"bill_id": bill.id, "status": BillStatus.voided.value, "detail": detail, "at": now}],
        )
        await tx.emit(voided_event(bill, reason=detail, voided_at=now), subject=str(bill.id))
        voided = {
            **current,
            "status": BillStatus.voided.value,
            "status_detail": detail,
            "frequency": "void",
            "voided_at": now,
            "updated_at": now,
        }
        return Received(sub.index, claim.partner_claim_id, "voided", 200, BillSummary.model_validate(voided))
    revision = bill.revision + 1
    values = {
        **claim_columns(claim),
        "warnings": kept_warnings(sub.warnings),
        "revision": revision,
        "frequency": ClaimFrequency.replacement.value,
        "source": source,
        "updated_at": now,
    }
    await repository.replace(bill, values)
    detail = f"revision {revision} (replacement) received; it is priced again"
    await repository.insert_details(
        lines=line_rows(bill.id, claim),
        patients=patient_rows(bill.id, claim),
        revisions=[revision_row(bill.id, revision, claim, source, now)],
        history=[{"bill_id": bill.id, "status": BillStatus.received.value, "detail": detail, "at": now}],
    )
    await tx.emit(
        received_event(
            bill.id,
            bill.partner_id,
            claim,
            revision=revision,
            received_at=now,
            frequency=ClaimFrequency.replacement,
        ),
        subject=str(bill.id),
    )
    summary = BillSummary.model_validate({**current, **values})
    return Received(sub.index, claim.partner_claim_id, "replaced", 200, summary, warnings=sub.warnings)
