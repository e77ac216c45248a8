"""Writing events: the outbox row joins the caller's transaction.

There is no other way to publish from a service. A request handler or an event handler calls
``tx.emit(payload)``; the row commits with the business change or not at all, and the relay
(:mod:`shared.bus.relay`) publishes it afterwards. ``pg_notify`` is transactional too, so the relay is
woken exactly when there is something committed to send.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_core import to_json
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.tables import BusTables
from shared.contracts import Envelope, Payload


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
        envelopes, rows = self.rows(events)
        await self.write(session, rows)
        return envelopes

    def rows(self, events: Sequence[tuple[Payload, str]]) -> tuple[list[Envelope], list[dict[str, str]]]:
        """The envelopes of ``(payload, subject)`` events and their outbox rows, in order."""
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
        return envelopes, rows

    async def write(self, session: AsyncSession, rows: Sequence[dict[str, str]]) -> None:
        """Insert outbox rows (from :meth:`rows`) in their order with the notification that wakes the
        relay: one statement, nothing for no rows."""
        if rows:
            await session.execute(
                self._insert_many, {"rows": to_json(rows).decode(), "channel": self.tables.notify_channel}
            )

    @functools.cached_property
    def _inbox_many(self) -> TextClause:
        table = f"{self.tables.schema}.{self.tables.inbox.name}"
        return text(
            f"""
            INSERT INTO {table} (consumer_group, event_id, event_type)
            SELECT :group, r.event_id, r.event_type
            FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[])) AS r(event_id, event_type)
            ON CONFLICT DO NOTHING
            RETURNING event_id
            """
        )

    async def first_deliveries(
        self, session: AsyncSession, consumer_group: str, envelopes: Sequence[Envelope]
    ) -> list[bool]:
        """Record ``envelopes`` as processed by ``consumer_group``, in one statement; for each, True if
        this is its first delivery (an id repeated within ``envelopes`` is first only once).

        Runs in the handlers' transaction: if a handler fails, the inbox rows roll back with it, and a
        concurrent duplicate blocks on the primary key until the first commits, then sees it.
        """
        unique = list(dict.fromkeys(e.id for e in envelopes))
        types = {e.id: e.type for e in envelopes}
        result = await session.execute(
            self._inbox_many,
            {"group": consumer_group, "ids": unique, "types": [types[i] for i in unique]},
        )
        new = {row.event_id for row in result}
        first = []
        for envelope in envelopes:
            first.append(envelope.id in new)
            new.discard(envelope.id)  # a repeat within the batch is a duplicate of the first
        return first


@dataclass(frozen=True)
class Tx:
    """One unit of work: a session inside an open transaction, and the outbox that writes into it.

    With ``deferred`` (a list: the consumer's batches), emitted events are kept there in order and
    written by one :meth:`write_deferred` just before the commit, instead of one statement per emit;
    they commit with the batch or not at all either way.
    """

    session: AsyncSession
    outbox: Outbox
    deferred: list[dict[str, str]] | None = None

    async def emit(self, payload: Payload, *, subject: str) -> Envelope:
        (envelope,) = await self.emit_many([(payload, subject)])
        return envelope

    async def emit_many(self, events: Sequence[tuple[Payload, str]]) -> list[Envelope]:
        """``emit`` for many ``(payload, subject)`` events at once, in order."""
        if self.deferred is None:
            return await self.outbox.add_many(self.session, events)
        envelopes, rows = self.outbox.rows(events)
        self.deferred.extend(rows)
        return envelopes

    async def write_deferred(self) -> None:
        """Write the deferred events (if any) in the order they were emitted."""
        if self.deferred:
            await self.outbox.write(self.session, self.deferred)
            self.deferred.clear()
