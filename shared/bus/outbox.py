"""Writing events: the outbox row joins the caller's transaction.

There is no other way to publish from a service. A request handler or an event handler calls
``tx.emit(payload)``; the row commits with the business change or not at all, and the relay
(:mod:`shared.bus.relay`) publishes it afterwards. ``pg_notify`` is transactional too, so the relay is
woken exactly when there is something committed to send.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import TextClause, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.tables import BusTables
from shared.contracts import Envelope, Payload

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outbox:
    tables: BusTables
    source: str

    @functools.cached_property
    def _insert_many(self) -> TextClause:
        table = f"{self.tables.schema}.{self.tables.outbox.name}"
        return text(
            f"""
            WITH inserted AS (
                INSERT INTO {table} (event_id, topic, key, event_type, body)
                SELECT r.event_id, r.topic, r.key, r.event_type, r.body
                FROM ROWS FROM (
                    jsonb_to_recordset(CAST(:rows AS jsonb))
                    AS (event_id uuid, topic text, key text, event_type text, body text)
                ) WITH ORDINALITY AS r(event_id, topic, key, event_type, body, n)
                ORDER BY r.n  -- ids in the order given: the relay publishes a bill's events by id
                RETURNING id
            )
            SELECT pg_notify(:channel, '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_inserted
            """
        )

    async def add(self, session: AsyncSession, payload: Payload, *, subject: str) -> Envelope:
        (envelope,) = await self.add_many(session, [(payload, subject)])
        return envelope

    async def add_many(self, session: AsyncSession, events: Sequence[tuple[Payload, str]]) -> list[Envelope]:
        """Write ``(payload, subject)`` events in their order, however many, in one round trip (an X12
        file of a thousand claims is a thousand events)."""
        envelopes = [
            Envelope.wrap(payload, source=self.source, subject=subject) for payload, subject in events
        ]
        rows = [
            {
                "event_id": str(envelope.id),
                "topic": payload.topic.value,
                "key": envelope.subject,
                "event_type": envelope.type,
                "body": envelope.model_dump_json(),
            }
            for envelope, (payload, _) in zip(envelopes, events, strict=True)
        ]
        if rows:
            # The rows (in order) and the transactional notification that wakes the relay: one statement.
            await session.execute(
                self._insert_many, {"rows": json.dumps(rows), "channel": self.tables.notify_channel}
            )
        for envelope in envelopes:
            log.info(
                "event.recorded",
                event_type=envelope.type,
                event_id=str(envelope.id),
                bill_id=envelope.subject,
            )
        return envelopes

    async def first_delivery(self, session: AsyncSession, consumer_group: str, envelope: Envelope) -> bool:
        """Record ``envelope`` as processed by ``consumer_group``; False if it already was.

        Runs in the handler's transaction: if the handler fails, the inbox row rolls back with it, and
        a concurrent duplicate blocks on the primary key until the first commits, then sees it.
        """
        inbox = self.tables.inbox
        stmt = (
            pg_insert(inbox)
            .values(consumer_group=consumer_group, event_id=envelope.id, event_type=envelope.type)
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        return (await session.execute(stmt)).scalar_one_or_none() is not None


@dataclass(frozen=True)
class Tx:
    """One unit of work: a session inside an open transaction, and the outbox that writes into it."""

    session: AsyncSession
    outbox: Outbox

    async def emit(self, payload: Payload, *, subject: str) -> Envelope:
        return await self.outbox.add(self.session, payload, subject=subject)

    async def emit_many(self, events: Sequence[tuple[Payload, str]]) -> list[Envelope]:
        """``emit`` for many ``(payload, subject)`` events at once, in order."""
        return await self.outbox.add_many(self.session, events)
