"""A bill's status as downstream events move it (pricing, negotiation, agreements).

Each event costs two statements: one reads and locks the bill with everything the decision needs
(whether the history already shows the status in this round, whether the partner has a webhook), one
writes the history entry and the bill together. The webhook delivery is a third only when the partner
has a webhook and the change is one it can see. Events are applied one at a time per bill, under the
bill's row lock, so two events of one bill never decide on the same state.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.schemas import BillSummary
from services.intake.status import REOPENABLE, BillStatus, advances
from services.intake.webhooks import StatusChanged, enqueue

_SUMMARY = ", ".join(f"b.{name}" for name in BillSummary.model_fields)

# "Shown in this round": an entry with the status before the last reopen when the event happened before
# it, or since the reopen when it happened after (a case agreed, reopened and agreed again shows
# "agreed" twice).
_LOCK = text(
    f"""
    SELECT {_SUMMARY}, b.partner_id, b.reopened_at,
        EXISTS (
            SELECT 1 FROM intake.bill_status_history h
            WHERE h.bill_id = b.id AND h.status = CAST(:status AS text)
              AND CASE WHEN b.reopened_at IS NULL THEN true
                       WHEN CAST(:at AS timestamptz) >= b.reopened_at THEN h.at >= b.reopened_at
                       ELSE h.at < b.reopened_at END
        ) AS shown,
        EXISTS (
            SELECT 1 FROM intake.partners p WHERE p.id = b.partner_id AND p.webhook_url IS NOT NULL
        ) AS webhook
    FROM intake.bills b
    WHERE b.id = CAST(:bill_id AS uuid)
    FOR UPDATE OF b
    """
)

_WRITE = text(
    """
    WITH entry AS (
        INSERT INTO intake.bill_status_history (bill_id, status, detail, event_id, at)
        SELECT CAST(:bill_id AS uuid), CAST(:status AS text), CAST(:detail AS text),
               CAST(:event_id AS uuid), CAST(:at AS timestamptz)
        WHERE CAST(:add_entry AS boolean)
    )
    UPDATE intake.bills SET
        status = :bill_status, status_detail = :status_detail, priced_amount = :priced_amount,
        pricing_method = :pricing_method, agreed_amount = :agreed_amount, reopened_at = :reopened_at,
        updated_at = :updated_at
    WHERE id = CAST(:bill_id AS uuid)
    """
)


async def record_status(
    session: AsyncSession,
    bill_id: uuid.UUID,
    status: BillStatus,
    *,
    detail: str | None,
    event_id: uuid.UUID,
    at: datetime,
    priced_amount: Decimal | None = None,
    pricing_method: str | None = None,
    agreed_amount: Decimal | None = None,
    reopen: bool = False,
) -> bool:
    """Keep every change in the bill's history (once, whichever events announce it); move the current
    status only forward; queue the partner's webhook for a change it can see.

    ``reopen`` (negotiation reopened the case) moves an agreed or repriced bill back to
    ``in_negotiation`` explicitly; events that happened before a reopen no longer move the status.

    A change the partner can see is its status, or an amount or method that arrived after a later
    status (events of one bill come over several topics, in no fixed order). Returns False if there is
    no such bill.
    """
    params = {"bill_id": bill_id, "status": status.value, "at": at}
    row = (await session.execute(_LOCK, params)).mappings().one_or_none()
    if row is None:
        return False
    bill: dict[str, Any] = dict(row)
    # One entry per change: two events may announce the same one (agreement.executed and a settled
    # case.closed both say "settled"; case.opened and case.closed on the repriced route both say
    # "repriced"). Every pricing is its own entry (a re-pricing is a change), and so is a reopen.
    add_entry = reopen or status is BillStatus.priced or not bill["shown"]
    before = (bill["priced_amount"], bill["pricing_method"], bill["agreed_amount"])
    if priced_amount is not None:
        bill["priced_amount"], bill["pricing_method"] = priced_amount, pricing_method
    if agreed_amount is not None:
        bill["agreed_amount"] = agreed_amount
    current = BillStatus(bill["status"])
    if reopen:
        moved = current in REOPENABLE and (bill["reopened_at"] is None or at >= bill["reopened_at"])
        if moved:
            bill["reopened_at"], bill["agreed_amount"] = at, None
    else:
        stale = bill["reopened_at"] is not None and at < bill["reopened_at"]
        moved = advances(current, status) and not stale
    if moved:
        bill["status"], bill["status_detail"] = status.value, detail
    bill["updated_at"] = datetime.now(UTC)
    await session.execute(
        _WRITE,
        {
            **params,
            "detail": detail,
            "event_id": event_id,
            "add_entry": add_entry,
            "bill_status": bill["status"],
            "status_detail": bill["status_detail"],
            "priced_amount": bill["priced_amount"],
            "pricing_method": bill["pricing_method"],
            "agreed_amount": bill["agreed_amount"],
            "reopened_at": bill["reopened_at"],
            "updated_at": bill["updated_at"],
        },
    )
    changed = moved or before != (bill["priced_amount"], bill["pricing_method"], bill["agreed_amount"])
    if changed and bill["webhook"]:  # the partner hears of each change it can see, in order
        await enqueue(session, bill["partner_id"], [StatusChanged(BillSummary.model_validate(bill), at)])
    return True
