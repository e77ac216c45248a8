"""The outbox relay: publishes committed outbox rows to Kafka, then marks them published.

Invariants:
- A row is claimed by one statement that locks it (``FOR UPDATE SKIP LOCKED``) and stamps a lease token
  and a lease end computed by the database clock. Several relays (one per service instance) can run at
  once; a relay that dies mid-batch loses only its lease, and the rows are claimed again when it ends.
- A row is marked published only if its lease token still matches, so a relay whose lease expired never
  overwrites the work of the relay that took over.
- Events of one key (one bill) are published in the order they were written: a row is claimable only
  if every older unpublished row with the same key is claimed in the same batch.
- Publishing twice is possible (crash between send and mark); the event id is fixed in the row, and
  consumers de-duplicate on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import observability as obs
from shared.bus.tables import BusTables
from shared.db import listen
from shared.settings import Settings

log = structlog.get_logger(__name__)

PRUNE_EVERY_SECONDS = 600.0
FAILED_SEND_RETRY_SECONDS = 2.0


def event_headers(event_type: str, event_id: uuid.UUID) -> list[tuple[str, bytes]]:
    """CloudEvents attributes as Kafka headers, so consumers can skip events without parsing them."""
    return [("ce_type", event_type.encode()), ("ce_id", str(event_id).encode())]


class OutboxRelay:
    def __init__(
        self, settings: Settings, engine: AsyncEngine, tables: BusTables, producer: AIOKafkaProducer
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._tables = tables
        self._producer = producer
        # Each of the relay's statements is atomic on its own: run them without BEGIN/COMMIT round trips.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._wake = asyncio.Event()
        table = f"{tables.schema}.{tables.outbox.name}"
        self._claim_sql = text(
            f"""
            WITH locked AS (
                SELECT id, key FROM {table}
                WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
                ORDER BY id
                LIMIT :limit
                FOR UPDATE SKIP LOCKED
            ), claimable AS (
                SELECT l.id FROM locked l
                WHERE NOT EXISTS (
                    SELECT 1 FROM {table} older
                    WHERE older.key = l.key AND older.published_at IS NULL AND older.id < l.id
                      AND older.id NOT IN (SELECT id FROM locked)
                )
            )
            UPDATE {table} o
            SET lease_token = :token, lease_until = now() + make_interval(secs => :lease),
                attempts = o.attempts + 1
            FROM claimable c WHERE o.id = c.id
            RETURNING o.id, o.topic, o.key, o.body, o.event_type, o.event_id
            """
        )
        self._mark_sql = text(
            f"UPDATE {table} SET published_at = now(), lease_token = NULL, lease_until = NULL, "
            "last_error = NULL WHERE id = ANY(:ids) AND lease_token = :token"
        )
        self._fail_sql = text(
            f"UPDATE {table} SET lease_until = now() + make_interval(secs => :retry), last_error = :error "
            "WHERE id = ANY(:ids) AND lease_token = :token"
        )
        self._pending_sql = text(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")
        self._prune_sql = text(
            f"DELETE FROM {table} WHERE published_at < now() - make_interval(days => :days)"
        )

    async def publish_pending(self) -> int:
        """Claim one batch, publish it, mark it. Returns how many rows were published."""
        token = uuid.uuid4()
        async with self._autocommit.connect() as conn:
            result = await conn.execute(
                self._claim_sql,
                {
                    "limit": self._settings.outbox_batch_size,
                    "token": token,
                    "lease": self._settings.outbox_lease_seconds,
                },
            )
            rows = sorted(result.all(), key=lambda r: r.id)
        if not rows:
            return 0
        futures = [
            await self._producer.send(
                row.topic,
                value=row.body.encode(),
                key=row.key.encode(),
                headers=event_headers(row.event_type, row.event_id),
            )
            for row in rows
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        sent = [
            row.id for row, result in zip(rows, results, strict=True) if not isinstance(result, BaseException)
        ]
        failed = [
            (row.id, result)
            for row, result in zip(rows, results, strict=True)
            if isinstance(result, BaseException)
        ]
        async with self._autocommit.connect() as conn:
            if sent:
                await conn.execute(self._mark_sql, {"ids": sent, "token": token})
            if failed:
                await conn.execute(
                    self._fail_sql,
                    {
                        "ids": [row_id for row_id, _ in failed],
                        "token": token,
                        "retry": FAILED_SEND_RETRY_SECONDS,
                        "error": repr(failed[0][1])[:2000],
                    },
                )
        obs.OUTBOX_PUBLISHED.labels(self._settings.service).inc(len(sent))
        if failed:
            log.warning("outbox.publish_failed", failed=len(failed), error=repr(failed[0][1]))
        return len(sent)

    async def pending(self) -> int:
        async with self._autocommit.connect() as conn:
            return int((await conn.execute(self._pending_sql)).scalar_one())

    async def prune(self) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(self._prune_sql, {"days": self._settings.outbox_retention_days})
        return int(result.rowcount)

    async def run(self) -> None:
        """Publish until cancelled. Woken by NOTIFY; polls anyway in case a notification was missed."""
        listener = asyncio.create_task(
            listen(self._settings.database_url, self._tables.notify_channel, self._wake),
            name="outbox-listener",
        )
        loop = asyncio.get_running_loop()
        next_prune = next_gauge = loop.time()
        failures = 0
        try:
            while True:
                self._wake.clear()
                try:
                    published = await self.publish_pending()
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("outbox.relay_error", failures=failures)
                    await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                    continue
                if published >= self._settings.outbox_batch_size or (published and self._wake.is_set()):
                    continue  # more may be waiting; a short batch with no NOTIFY since means none is
                if loop.time() >= next_prune:
                    next_prune = loop.time() + PRUNE_EVERY_SECONDS
                    with contextlib.suppress(Exception):
                        await self.prune()
                if loop.time() >= next_gauge:  # a metric: once per poll interval is plenty
                    next_gauge = loop.time() + self._settings.outbox_poll_seconds
                    with contextlib.suppress(Exception):
                        obs.OUTBOX_PENDING.labels(self._settings.service).set(await self.pending())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._settings.outbox_poll_seconds)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def republish(engine: AsyncEngine, schema: str, since: timedelta) -> int:
    """Mark events of ``schema`` published within ``since`` as pending, so the relay sends them again.

    For a broker that lost its log (the embedded broker keeps topics in memory). Consumers' inboxes
    drop the events they already handled.
    """
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                f"UPDATE {schema}.outbox SET published_at = NULL, lease_token = NULL, lease_until = NULL "
                "WHERE published_at >= now() - make_interval(secs => :secs)"
            ),
            {"secs": since.total_seconds()},
        )
    return int(result.rowcount)
