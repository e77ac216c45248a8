"""Queries on intake's tables. Repositories flush; the caller's transaction commits.

Every read a partner can cause takes the partner and its key's clients, so scoping is not something an
endpoint can forget.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic_core import to_json
from sqlalchemy import delete, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.intake.models import (
    Bill,
    BillLine,
    BillPatient,
    BillRevision,
    Partner,
    StatusHistory,
    WebhookDelivery,
    bus,
)
from services.intake.status import BillStatus
from services.intake.webhooks import NOTIFY_CHANNEL
from shared.errors import Unprocessable
from shared.idempotency import KeyClaim

ClaimKey = tuple[str, str]  # (client id, partner claim id)


@dataclass(frozen=True)
class BillFilter:
    statuses: Sequence[str] = ()
    client_id: str | None = None
    partner_claim_id: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    updated_since: datetime | None = None


def encode_cursor(received_at: datetime, bill_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{received_at.isoformat()}|{bill_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, _, bill_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), uuid.UUID(bill_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Unprocessable(
            "the cursor is not one this API returned",
            errors=[{"field": "query:cursor", "message": "unrecognised cursor", "type": "cursor"}],
        ) from exc


_INSERT_NEW = text(
    """
    WITH claimed AS (
        INSERT INTO intake.idempotency_keys (scope, key, request_hash, status_code, response)
        SELECT k.scope, k.key, k.request_hash, k.status_code, k.response
        FROM jsonb_to_record(CAST(:key AS jsonb))
             AS k(scope text, key text, request_hash text, status_code integer, response jsonb)
        WHERE k.key IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING 1
    ), new AS (
        INSERT INTO intake.bills
        SELECT * FROM jsonb_populate_recordset(NULL::intake.bills, CAST(:bills AS jsonb))
        -- Under an Idempotency-Key, only if the key was free: else the request was made before.
        WHERE CAST(:key AS jsonb) ->> 'key' IS NULL OR EXISTS (SELECT 1 FROM claimed)
        ON CONFLICT (partner_id, client_id, partner_claim_id) DO NOTHING
        RETURNING id, partner_id
    ), lines AS (
        INSERT INTO intake.bill_lines
        SELECT r.* FROM jsonb_populate_recordset(NULL::intake.bill_lines, CAST(:lines AS jsonb)) r
        JOIN new ON new.id = r.bill_id
    ), patients AS (
        INSERT INTO intake.bill_patients
        SELECT r.* FROM jsonb_populate_recordset(NULL::intake.bill_patients, CAST(:patients AS jsonb)) r
        JOIN new ON new.id = r.bill_id
    ), revisions AS (
        INSERT INTO intake.bill_revisions
        SELECT r.* FROM jsonb_populate_recordset(NULL::intake.bill_revisions, CAST(:revisions AS jsonb)) r
        JOIN new ON new.id = r.bill_id
    ), history AS (
        INSERT INTO intake.bill_status_history (bill_id, status, detail, at)
        SELECT r.bill_id, r.status, r.detail, r.at
        FROM jsonb_populate_recordset(NULL::intake.bill_status_history, CAST(:history AS jsonb)) r
        JOIN new ON new.id = r.bill_id
    ), webhooks AS (
        INSERT INTO intake.webhook_deliveries (id, partner_id, bill_id, event_type, body)
        SELECT r.id, new.partner_id, r.bill_id, r.event_type, r.body
        FROM jsonb_to_recordset(CAST(:webhooks AS jsonb))
             AS r(id uuid, bill_id uuid, event_type text, body text)
        JOIN new ON new.id = r.bill_id
        JOIN intake.partners p ON p.id = new.partner_id AND p.webhook_url IS NOT NULL
        RETURNING 1
    ), woken AS (
        SELECT pg_notify(:channel, '') FROM (SELECT 1 FROM webhooks LIMIT 1) AS any_queued
    ), events AS (
        INSERT INTO intake.outbox (event_id, topic, key, event_type, body)
        SELECT r.event_id, r.topic, r.key, r.event_type, r.body
        FROM ROWS FROM (
            jsonb_to_recordset(CAST(:events AS jsonb))
            AS (bill_id uuid, event_id uuid, topic text, key text, event_type text, body text)
        ) WITH ORDINALITY AS r(bill_id, event_id, topic, key, event_type, body, n)
        JOIN new ON new.id = r.bill_id
        ORDER BY r.n  -- ids in the order given: the relay publishes a bill's events by id
        RETURNING 1
    ), relay_woken AS (
        SELECT pg_notify(:outbox_channel, '') FROM (SELECT 1 FROM events LIMIT 1) AS any_emitted
    )
    SELECT new.id, (SELECT count(*) FROM claimed) AS claimed,
        (SELECT count(*) FROM woken) AS woken, (SELECT count(*) FROM relay_woken) AS relay_woken
    FROM (SELECT 1) AS always LEFT JOIN new ON true
    """
)


class BillRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- partner reads -------------------------------------------------------------------------------

    async def get_for_partner(
        self, bill_id: uuid.UUID, partner_id: str | None, clients: Iterable[str] | None
    ) -> Bill | None:
        """One of the partner's bills (``partner_id`` None: any partner's, for staff), if the caller may
        see that client (``clients`` None: all)."""
        stmt = (
            select(Bill)
            .where(Bill.id == bill_id)
            .options(
                selectinload(Bill.lines),
                selectinload(Bill.history),
                selectinload(Bill.revisions),
                selectinload(Bill.patient),
            )
        )
        if partner_id is not None:
            stmt = stmt.where(Bill.partner_id == partner_id)
        if clients is not None:
            stmt = stmt.where(Bill.client_id.in_(list(clients)))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def search(
        self,
        partner_id: str | None,
        clients: Iterable[str] | None,
        where: BillFilter,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
    ) -> Sequence[Bill]:
        """Bills newest first: a partner's own (staff: ``partner_id`` None), of ``clients`` (None: all)."""
        stmt = select(Bill).order_by(Bill.received_at.desc(), Bill.id.desc()).limit(limit)
        if partner_id is not None:
            stmt = stmt.where(Bill.partner_id == partner_id)
        if clients is not None:
            stmt = stmt.where(Bill.client_id.in_(list(clients)))
        if where.statuses:
            stmt = stmt.where(Bill.status.in_(list(where.statuses)))
        if where.client_id is not None:
            stmt = stmt.where(Bill.client_id == where.client_id)
        if where.partner_claim_id is not None:
            stmt = stmt.where(Bill.partner_claim_id == where.partner_claim_id)
        if where.received_from is not None:
            stmt = stmt.where(Bill.received_at >= _start_of(where.received_from))
        if where.received_to is not None:
            stmt = stmt.where(Bill.received_at < _start_of(where.received_to) + timedelta(days=1))
        if where.updated_since is not None:
            stmt = stmt.where(Bill.updated_at >= where.updated_since)
        if after is not None:
            stmt = stmt.where(tuple_(Bill.received_at, Bill.id) < tuple_(*after))
        return (await self.session.execute(stmt)).scalars().all()

    # --- receiving -------------------------------------------------------------------------------------

    async def lock_claims(self, partner_id: str, keys: Sequence[ClaimKey]) -> dict[ClaimKey, Bill]:
        if not keys:
            return {}
        stmt = (
            select(Bill)
            .where(Bill.partner_id == partner_id, tuple_(Bill.client_id, Bill.partner_claim_id).in_(keys))
            .order_by(Bill.client_id, Bill.partner_claim_id)  # one lock order: no deadlock between batches
            .with_for_update()
        )
        bills = (await self.session.execute(stmt)).scalars().all()
        return {(b.client_id, b.partner_claim_id): b for b in bills}

    async def ids_of(self, partner_id: str, keys: Sequence[ClaimKey]) -> dict[ClaimKey, uuid.UUID]:
        if not keys:
            return {}
        stmt = select(Bill.client_id, Bill.partner_claim_id, Bill.id).where(
            Bill.partner_id == partner_id, tuple_(Bill.client_id, Bill.partner_claim_id).in_(keys)
        )
        return {(r.client_id, r.partner_claim_id): r.id for r in await self.session.execute(stmt)}

    async def insert_new(
        self,
        *,
        bills: Sequence[Mapping[str, Any]],
        lines: Sequence[Mapping[str, Any]],
        patients: Sequence[Mapping[str, Any]],
        revisions: Sequence[Mapping[str, Any]],
        history: Sequence[Mapping[str, Any]],
        webhooks: Sequence[Mapping[str, Any]],
        events: Sequence[Mapping[str, Any]],
        key: KeyClaim | None = None,
        response: Any = None,
    ) -> set[uuid.UUID]:
        """Insert new bills with everything that belongs to them, their ``bill.received`` outbox rows
        included, in one statement however many.

        A claim that another request inserted meanwhile is skipped (with its lines, history, event…):
        the ids returned are the bills this call inserted. Webhook deliveries are queued only if the
        partner has a webhook. Rows travel as JSON and are typed by the tables' own row types;
        ``events`` are outbox rows (:meth:`shared.bus.outbox.Outbox.rows`) each with its ``bill_id``.
        Being one statement, it is atomic on its own: a request that writes nothing else needs no
        transaction around it.

        With ``key``, the statement first claims the Idempotency-Key with ``response`` (201, the bill's
        JSON) and inserts only if it was free; ``key.claimed`` says which. A claimed key whose bill was
        not inserted must be rolled back by the caller's transaction (the claim is answered 409).
        """
        if not bills:
            return set()
        params = {
            name: to_json(rows).decode()
            for name, rows in (
                ("bills", bills),
                ("lines", lines),
                ("patients", patients),
                ("revisions", revisions),
                ("history", history),
                ("webhooks", webhooks),
                ("events", events),
            )
        }
        claim: dict[str, Any] = {}  # no key: {} claims nothing
        if key is not None:
            claim = {"scope": key.scope, "key": key.key, "request_hash": key.request_hash}
            claim |= {"status_code": 201, "response": response}
        params["key"] = to_json(claim).decode()
        channels = {"channel": NOTIFY_CHANNEL, "outbox_channel": bus.notify_channel}
        rows = (await self.session.execute(_INSERT_NEW, {**params, **channels})).all()
        if key is not None:
            key.claimed = rows[0].claimed > 0
        return {row.id for row in rows if row.id is not None}

    async def insert_details(
        self,
        *,
        lines: Sequence[Mapping[str, Any]],
        patients: Sequence[Mapping[str, Any]],
        revisions: Sequence[Mapping[str, Any]],
        history: Sequence[Mapping[str, Any]],
    ) -> None:
        for table, rows in (
            (BillLine, lines),
            (BillPatient, patients),
            (BillRevision, revisions),
            (StatusHistory, history),
        ):
            if rows:
                await self.session.execute(insert(table), list(rows))

    async def replace(self, bill: Bill, values: Mapping[str, Any]) -> None:
        """Make ``values`` the bill's current revision, keeping the replaced lines with their revision."""
        await self.session.execute(
            text(
                "UPDATE intake.bill_revisions SET replaced_lines = ("
                " SELECT coalesce(jsonb_agg(to_jsonb(l) - 'bill_id' ORDER BY l.line_number), '[]')"
                " FROM intake.bill_lines l WHERE l.bill_id = :bill_id)"
                " WHERE bill_id = :bill_id AND revision = :revision"
            ),
            {"bill_id": bill.id, "revision": bill.revision},
        )
        await self.session.execute(delete(BillLine).where(BillLine.bill_id == bill.id))
        await self.session.execute(delete(BillPatient).where(BillPatient.bill_id == bill.id))
        await self.session.execute(update(Bill).where(Bill.id == bill.id).values(**values))

    async def mark_voided(self, bill: Bill, detail: str, at: datetime) -> None:
        await self.session.execute(
            update(Bill)
            .where(Bill.id == bill.id)
            .values(
                status=BillStatus.voided.value,
                status_detail=detail,
                frequency="void",
                voided_at=at,
                updated_at=at,
            )
        )


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class WebhookRepository:
    """A partner's webhook registration and its delivery log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def partner(self, partner_id: str) -> Partner:
        partner = await self.session.get(Partner, partner_id, with_for_update=True)
        assert partner is not None  # a key exists only for an existing partner
        return partner

    async def deliveries(
        self,
        partner_id: str,
        *,
        status: str | None,
        bill_id: uuid.UUID | None,
        limit: int,
        before_seq: int | None,
    ) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.partner_id == partner_id)
            .order_by(WebhookDelivery.seq.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        if bill_id is not None:
            stmt = stmt.where(WebhookDelivery.bill_id == bill_id)
        if before_seq is not None:
            stmt = stmt.where(WebhookDelivery.seq < before_seq)
        return (await self.session.execute(stmt)).scalars().all()

    async def delivery(
        self, partner_id: str, delivery_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookDelivery | None:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.partner_id == partner_id)
            .options(selectinload(WebhookDelivery.attempt_log))
        )
        if for_update:
            stmt = stmt.with_for_update(of=WebhookDelivery)
        return (await self.session.execute(stmt)).scalar_one_or_none()
