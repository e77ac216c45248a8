"""The consumer runner: at-least-once delivery in, exactly-once effects out.

For each message, in partition order:
1. Parse the envelope and find the handler for its (type, version). A message that cannot be parsed or
   validated goes straight to the dead-letter topic; retrying would not change it. A type this group has
   no handler for is skipped.
2. In one database transaction: insert the event ids into the inbox (``ON CONFLICT DO NOTHING``, one
   statement for the batch); for each id that was new, run the handler, which writes its effect and any
   outgoing events (outbox) in the same transaction. A duplicate changes nothing. The events of one poll
   share a transaction (up to ``consumer_batch_size``; each partition's in its order) because round trips
   and commits dominate the cost; if anything in the batch fails, the batch rolls back and its events
   are applied one by one, so a failure is isolated to its event. A group may also wrap each
   transaction's handlers in a *batch scope* (:class:`Handlers`, ``batch_scope``): entered with the
   transaction's new events before the first handler runs, left after the last, so handlers can share
   reads and have their writes made once per table for the whole batch, just before the outbox insert
   and the commit. An event applied on its own is a batch of one.
3. A failing handler is retried with exponential backoff. Infrastructure failures (database or network
   unreachable, serialization conflicts) are retried without limit, because dead-lettering every message
   during an outage would be worse than waiting; other errors get ``consumer_max_attempts`` tries, then
   the message goes to ``<group>.dlq`` with the error in its headers and the consumer moves on.
4. Offsets are committed only after the batch's database commits, so a crash re-delivers, never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import observability as obs
from shared.bus.kafka import make_consumer
from shared.bus.outbox import Outbox, Tx
from shared.contracts import EVENT_TYPE_PREFIX, Envelope, Payload, UnknownEventError, dead_letter_topic
from shared.settings import Settings

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=Payload)
Handler = Callable[[Tx, Any, Envelope], Awaitable[None]]
# (tx, the batch's new events as (payload, envelope), in order) -> a context around their handlers.
BatchScope = Callable[[Tx, Sequence[tuple[Payload, Envelope]]], contextlib.AbstractAsyncContextManager[None]]

# SQLSTATE classes that say "try again later", not "this message is bad".
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "40001", "40P01", "53", "57P", "55P03")


class PermanentError(Exception):
    """Raised by a handler for a message that can never succeed: dead-letter it without retrying."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, OSError | ConnectionError | TimeoutError | KafkaError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, PoolTimeout):  # every connection busy: the message is fine, the moment is not
        return True
    cause: BaseException | None = exc
    while cause is not None:
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return True
        if isinstance(cause, OSError | ConnectionError):
            return True
        cause = cause.__cause__
    return False


class Handlers:
    """Which function handles which event contract, for one consumer group.

    ``batch_scope`` (optional) is entered around the handlers of every transaction that has new events,
    with those events: what it does on entry (one read for the whole batch) the handlers can use, and
    what it does after its ``yield`` (one write per table for the whole batch) commits with them. It is
    left by the exception when a handler fails: nothing after its ``yield`` runs, and the transaction
    rolls back. It finds the batch's state where it put it, e.g. in ``tx.session.info`` (a session is
    one transaction here)."""

    def __init__(self, batch_scope: BatchScope | None = None) -> None:
        self._by_key: dict[tuple[str, int], tuple[type[Payload], Handler]] = {}
        self.batch_scope = batch_scope

    def on(self, payload_cls: type[P]) -> Callable[[Callable[[Tx, P, Envelope], Awaitable[None]]], Handler]:
        def register(fn: Callable[[Tx, P, Envelope], Awaitable[None]]) -> Handler:
            key = (payload_cls.event_type, payload_cls.version)
            if key in self._by_key:
                raise ValueError(f"two handlers for {key}")
            self._by_key[key] = (payload_cls, fn)
            return fn

        return register

    def topics(self) -> list[str]:
        return sorted({cls.topic.value for cls, _ in self._by_key.values()})

    def find(self, envelope: Envelope) -> tuple[type[Payload], Handler] | None:
        return self._by_key.get((envelope.event_type, envelope.version))

    def handles_type(self, ce_type: str) -> bool:
        """Whether any version of this CloudEvents type has a handler."""
        return any(event_type == ce_type.removeprefix(EVENT_TYPE_PREFIX) for event_type, _ in self._by_key)


@dataclass(frozen=True)
class _Parsed:
    envelope: Envelope
    payload: Payload
    handler: Handler


class EventConsumer:
    def __init__(
        self,
        settings: Settings,
        group: str,
        handlers: Handlers,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        producer: AIOKafkaProducer,
    ) -> None:
        self._settings = settings
        self._group = group
        self._handlers = handlers
        self._sessions = sessions
        self._outbox = outbox
        self._producer = producer
        self.assigned = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled."""
        consumer = make_consumer(self._settings, self._group, self._handlers.topics())
        await consumer.start()
        log.info("consumer.started", group=self._group, topics=self._handlers.topics())
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                if consumer.assignment():
                    self.assigned.set()
                if not batches:
                    continue
                await self._process_all(list(batches.values()))
                offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batches.items()}
                try:
                    await consumer.commit(offsets)
                except KafkaError as exc:
                    # The group rebalanced while we worked; the new owner re-reads and its inbox
                    # drops what we already applied.
                    log.warning("consumer.commit_failed", group=self._group, error=str(exc))
        finally:
            await consumer.stop()

    async def _process_all(self, partitions: list[list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Apply what one poll returned: every partition's events together, in chunks of
        ``consumer_batch_size`` per transaction (each partition's in its order). If a chunk fails, its
        partitions' events are applied one at a time instead, the partitions side by side."""
        parsed: list[list[tuple[ConsumerRecord[bytes, bytes], _Parsed]]] = []
        for messages in partitions:
            mine = []
            for message in messages:
                try:
                    found = self._parse(message)
                except (ValidationError, UnknownEventError, ValueError) as exc:
                    # Nothing of it is applied, so it may leave before the events around it.
                    await self._dead_letter(message, exc, attempts=0, event_type="unreadable")
                    continue
                if found is None:
                    obs.EVENTS.labels(self._settings.service, self._group, "unhandled", "skipped").inc()
                    continue
                mine.append((message, found))
            if mine:
                parsed.append(mine)
        size = self._settings.consumer_batch_size
        chunk: list[list[tuple[ConsumerRecord[bytes, bytes], _Parsed]]] = []
        for events in parsed:
            for start in range(0, len(events), size):
                part = events[start : start + size]
                if chunk and sum(map(len, chunk)) + len(part) > size:
                    await self._apply_batch(chunk)
                    chunk = []
                chunk.append(part)
        if chunk:
            await self._apply_batch(chunk)

    async def _apply_batch(self, chunk: list[list[tuple[ConsumerRecord[bytes, bytes], _Parsed]]]) -> None:
        """One transaction for the chunk's events (lists of one partition each, in order)."""
        batch = [item for part in chunk for item in part]
        if len(batch) > 1:
            started = time.perf_counter()
            try:
                outcomes = await self._apply_together([parsed for _, parsed in batch])
            except Exception as exc:
                log.info("consumer.batch_split", size=len(batch), error=repr(exc))
            else:
                share = (time.perf_counter() - started) / len(batch)
                for (_, parsed), outcome in zip(batch, outcomes, strict=True):
                    self._count(parsed.envelope.event_type, outcome, share)
                return
        await asyncio.gather(*(self._process_each(part) for part in chunk))

    async def _process_each(self, part: list[tuple[ConsumerRecord[bytes, bytes], _Parsed]]) -> None:
        for message, parsed in part:
            await self._process(message, parsed)

    async def _apply_together(self, batch: list[_Parsed]) -> list[str]:
        """Apply ``batch`` in one transaction: one inbox insert for all its events, then the handler of
        each event seen for the first time, in order. Returns "processed" or "duplicate" per event."""
        async with self._sessions() as session, session.begin():
            first = await self._outbox.first_deliveries(
                session, self._group, [parsed.envelope for parsed in batch]
            )
            tx = Tx(session, self._outbox, deferred=[])  # the batch's events: one outbox insert
            fresh = [parsed for parsed, new in zip(batch, first, strict=True) if new]
            scope = self._handlers.batch_scope
            async with (
                scope(tx, [(p.payload, p.envelope) for p in fresh])
                if scope is not None and fresh
                else contextlib.nullcontext()
            ):
                for parsed in fresh:
                    envelope = parsed.envelope
                    with structlog.contextvars.bound_contextvars(
                        event_id=str(envelope.id), event_type=envelope.type, bill_id=envelope.subject
                    ):
                        await parsed.handler(tx, parsed.payload, envelope)
            await tx.write_deferred()
        return ["processed" if new else "duplicate" for new in first]

    def _count(self, event_type: str, outcome: str, seconds: float) -> None:
        obs.EVENT_SECONDS.labels(self._settings.service, event_type).observe(seconds)
        obs.EVENTS.labels(self._settings.service, self._group, event_type, outcome).inc()

    def _parse(self, message: ConsumerRecord[bytes, bytes]) -> _Parsed | None:
        ce_type = next((v for k, v in message.headers if k == "ce_type"), None)
        if ce_type is not None and not self._handlers.handles_type(ce_type.decode(errors="replace")):
            return None  # not ours: no need to read the body
        envelope = Envelope.from_bytes(message.value or b"")
        found = self._handlers.find(envelope)
        if found is None:
            return None
        payload_cls, handler = found
        return _Parsed(envelope, envelope.payload(payload_cls), handler)

    async def _process(self, message: ConsumerRecord[bytes, bytes], parsed: _Parsed) -> None:
        """Apply one event on its own, retrying as the module docstring says."""
        envelope = parsed.envelope
        with structlog.contextvars.bound_contextvars(
            event_id=str(envelope.id), event_type=envelope.type, bill_id=envelope.subject
        ):
            attempt = 0
            while True:
                attempt += 1
                started = time.perf_counter()
                try:
                    (outcome,) = await self._apply_together([parsed])
                except Exception as exc:
                    transient = is_transient(exc)
                    if not transient and (isinstance(exc, PermanentError) or attempt >= self._max_attempts):
                        log.error("event.dead_lettered", attempts=attempt, error=repr(exc))
                        await self._dead_letter(
                            message, exc, attempts=attempt, event_type=envelope.event_type
                        )
                        return
                    delay = self._backoff(attempt)
                    log.warning(
                        "event.retry",
                        attempt=attempt,
                        transient=transient,
                        delay=round(delay, 2),
                        error=repr(exc),
                    )
                    obs.EVENTS.labels(
                        self._settings.service, self._group, envelope.event_type, "retried"
                    ).inc()
                    await asyncio.sleep(delay)
                    continue
                self._count(envelope.event_type, outcome, time.perf_counter() - started)
                return

    @property
    def _max_attempts(self) -> int:
        return self._settings.consumer_max_attempts

    def _backoff(self, attempt: int) -> float:
        base = self._settings.consumer_backoff_seconds * 2 ** (attempt - 1)
        return min(self._settings.consumer_backoff_max_seconds, base) * random.uniform(0.8, 1.2)

    async def _dead_letter(
        self, message: ConsumerRecord[bytes, bytes], exc: BaseException, *, attempts: int, event_type: str
    ) -> None:
        headers = [
            *[(k, v) for k, v in message.headers if k.startswith("ce_")],
            ("parley.error", repr(exc)[:4000].encode()),
            ("parley.consumer_group", self._group.encode()),
            ("parley.original_topic", message.topic.encode()),
            ("parley.original_partition", str(message.partition).encode()),
            ("parley.original_offset", str(message.offset).encode()),
            ("parley.attempts", str(attempts).encode()),
            ("parley.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        topic = dead_letter_topic(self._group)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._producer.send_and_wait(
                    topic, value=message.value, key=message.key, headers=headers
                )
                break
            except KafkaError as send_exc:
                # Moving on without the dead letter would lose the message: wait for the broker.
                log.warning("dlq.send_failed", topic=topic, error=repr(send_exc))
                await asyncio.sleep(self._backoff(attempt))
        obs.EVENTS.labels(self._settings.service, self._group, event_type, "dead_lettered").inc()
