"""A bill's status as downstream events move it (pricing, negotiation, agreements).

Each event costs one statement: it locks the bill, decides (is the status already shown in this round,
does it move the bill forward, does the partner have a webhook), writes the history entry and the bill,
and returns the bill as it now is. The webhook delivery is a second statement only when the partner has
a webhook and the change is one it can see. Events are applied one at a time per bill, under the bill's
row lock, so two events of one bill never decide on the same state.

The rules are those of :mod:`services.intake.status`, whose ranks and reopenable statuses the statement
takes as parameters: a status only moves forward (a higher rank), never back to before a reopen, and a
reopen moves a reopenable bill back to ``in_negotiation``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.schemas import BillSummary
from services.intake.status import RANK, REOPENABLE, BillStatus
from services.intake.webhooks import StatusChanged, enqueue

_RANKS = json.dumps({status.value: rank for status, rank in RANK.items()})
_REOPENABLE = sorted(status.value for status in REOPENABLE)

# "Shown in this round": an entry with the status before the last reopen when the event happened before
# it, or since the reopen when it happened after (a case agreed, reopened and agreed again shows
# "agreed" twice). "Moved": a reopen of a reopenable bill not already reopened later; otherwise a status
# of higher rank, unless the event happened before the last reopen.
_RECORD = text(
    f"""
    WITH bill AS (
        SELECT b.id, b.status, b.priced_amount, b.pricing_method, b.agreed_amount, b.reopened_at,
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
    ), decided AS (
        SELECT bill.*,
            CASE WHEN CAST(:reopen AS boolean) THEN
                bill.status = ANY(CAST(:reopenable AS text[]))
                AND (bill.reopened_at IS NULL OR CAST(:at AS timestamptz) >= bill.reopened_at)
            ELSE
                CAST(CAST(:ranks AS jsonb) ->> CAST(:status AS text) AS integer)
                    > CAST(CAST(:ranks AS jsonb) ->> bill.status AS integer)
                AND NOT coalesce(CAST(:at AS timestamptz) < bill.reopened_at, false)
            END AS moved
        FROM bill
    ), entry AS (
        INSERT INTO intake.bill_status_history (bill_id, status, detail, event_id, at)
        SELECT decided.id, CAST(:status AS text), CAST(:detail AS text), CAST(:event_id AS uuid),
               CAST(:at AS timestamptz)
        FROM decided
        -- One entry per change: two events may announce the same one. Every pricing is its own entry
        -- (a re-pricing is a change), and so is a reopen.
        WHERE CAST(:reopen AS boolean) OR CAST(:status AS text) = 'priced' OR NOT decided.shown
    )
    UPDATE intake.bills b SET
        status = CASE WHEN d.moved THEN CAST(:status AS text) ELSE b.status END,
        status_detail = CASE WHEN d.moved THEN CAST(:detail AS text) ELSE b.status_detail END,
        priced_amount = coalesce(CAST(:priced_amount AS numeric), b.priced_amount),
        pricing_method = CASE WHEN CAST(:priced_amount AS numeric) IS NULL THEN b.pricing_method
                              ELSE CAST(:pricing_method AS text) END,
        agreed_amount = CASE WHEN CAST(:reopen AS boolean) AND d.moved THEN NULL
                             ELSE coalesce(CAST(:agreed_amount AS numeric), b.agreed_amount) END,
        reopened_at = CASE WHEN CAST(:reopen AS boolean) AND d.moved THEN CAST(:at AS timestamptz)
                           ELSE b.reopened_at END,
        updated_at = CAST(:updated_at AS timestamptz)
    FROM decided d
    WHERE b.id = d.id
    RETURNING {", ".join(f"b.{name}" for name in BillSummary.model_fields)}, b.partner_id, d.webhook,
        d.moved
        OR b.priced_amount IS DISTINCT FROM d.priced_amount
        OR b.pricing_method IS DISTINCT FROM d.pricing_method
        OR b.agreed_amount IS DISTINCT FROM d.agreed_amount AS changed
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
    row = (
        (
            await session.execute(
                _RECORD,
                {
                    "bill_id": bill_id,
                    "status": status.value,
                    "detail": detail,
                    "event_id": event_id,
                    "at": at,
                    "reopen": reopen,
                    "priced_amount": priced_amount,
                    "pricing_method": pricing_method,
                    "agreed_amount": agreed_amount,
                    "updated_at": datetime.now(UTC),
                    "ranks": _RANKS,
                    "reopenable": _REOPENABLE,
                },
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        return False
    if row["changed"] and row["webhook"]:  # the partner hears of each change it can see, in order
        await enqueue(session, row["partner_id"], [StatusChanged(BillSummary.model_validate(dict(row)), at)])
    return True
