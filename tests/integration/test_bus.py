"""The bus mechanics on the real Postgres and broker, in a scratch schema of their own.

The services use exactly these classes; here they are driven directly so each guarantee can be forced:
per-key order across concurrent relays, lease expiry after a relay dies, NOTIFY wake-up, duplicates,
bounded retries ending in the dead-letter topic, transient errors that never dead-letter, and a batch scope
whose writes commit with its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import Column, MetaData, Table, Text, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.bus import dlq
from shared.bus.consumer import EventConsumer, Handlers, PermanentError
from shared.bus.kafka import ensure_topics, make_producer
from shared.bus.outbox import Outbox, Tx
from shared.bus.relay import OutboxRelay
from shared.bus.tables import BusTables, add_bus_tables
from shared.contracts import AgreementSignedV1, Envelope, Payload, dead_letter_topic
from shared.settings import Settings


@dataclass
class Scratch:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tables: BusTables
    effects: Table
    topic: str
    producer: AIOKafkaProducer

    def outbox(self) -> Outbox:
        return Outbox(self.tables, source="/tests")


@contextlib.asynccontextmanager
async def _scratch(settings: Settings) -> AsyncIterator[Scratch]:
    schema = f"bustest_{uuid.uuid4().hex[:8]}"
    metadata = MetaData(schema=schema)
    tables = add_bus_tables(metadata)
    effects = Table("effects", metadata, Column("event_id", Text), Column("note", Text))
    engine = create_async_engine(settings.database_url, pool_size=10)
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
        await conn.run_sync(metadata.create_all)
    topic = f"test.{schema}"
    await ensure_topics(settings, [topic])
    producer = make_producer(settings)
    await producer.start()
    try:
        yield Scratch(settings, engine, async_sessionmaker(engine), tables, effects, topic, producer)
    finally:
        await producer.stop()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await engine.dispose()


@pytest.fixture
async def scratch(settings: Settings) -> AsyncIterator[Scratch]:
    async with _scratch(settings) as s:
        yield s


async def _insert_rows(s: Scratch, rows: list[tuple[str, int]]) -> None:
    """Outbox rows (key, sequence) on the scratch topic, written in order."""
    async with s.engine.begin() as conn:
        await conn.execute(
            insert(s.tables.outbox),
            [
                {
                    "event_id": uuid.uuid4(),
                    "topic": s.topic,
                    "key": key,
                    "event_type": "test",
                    "body": f"{key}:{seq}",
                }
                for key, seq in rows
            ],
        )


async def _read_topic(s: Scratch, expected: int, timeout: float = 30.0) -> list[tuple[str, int, int]]:
    """(key, sequence, partition) of every message on the scratch topic, reading without a group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=s.settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(s.topic) or set()
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(s.topic) or set()
        tps = [TopicPartition(s.topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen: list[tuple[str, int, int]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(seen) < expected and asyncio.get_running_loop().time() < deadline:
            for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                for m in messages:
                    key, seq = (m.value or b"").decode().split(":")
                    seen.append((key, int(seq), tp.partition))
        return seen
    finally:
        await consumer.stop()


async def _pending(s: Scratch) -> int:
    async with s.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(s.tables.outbox)
                    .where(s.tables.outbox.c.published_at.is_(None))
                )
            ).scalar_one()
        )


async def test_concurrent_relays_publish_everything_once_and_in_order_per_key(scratch: Scratch) -> None:
    keys = [f"bill-{i}" for i in range(12)]
    rows = [(keys[i % len(keys)], i) for i in range(600)]
    await _insert_rows(scratch, rows)
    small_batches = scratch.settings.model_copy(update={"outbox_batch_size": 25})
    relays = [OutboxRelay(small_batches, scratch.engine, scratch.tables, scratch.producer) for _ in range(3)]

    async def drain(relay: OutboxRelay) -> int:
        sent = 0
        while await _pending(scratch):
            sent += await relay.publish_pending()
            await asyncio.sleep(0)
        return sent

    counts = await asyncio.gather(*(drain(r) for r in relays))
    assert sum(counts) == 600
    assert all(c > 0 for c in counts), f"the three relays should share the work: {counts}"
    seen = await _read_topic(scratch, 600)
    assert len(seen) == 600
    assert sorted(seq for _, seq, _ in seen) == list(range(600))
    by_key: dict[str, list[int]] = {}
    for key, seq, _ in seen:
        by_key.setdefault(key, []).append(seq)
    for key, sequence in by_key.items():
        assert sequence == sorted(sequence), f"{key} published out of order"


async def test_a_dead_relays_lease_expires_and_its_late_mark_changes_nothing(scratch: Scratch) -> None:
    await _insert_rows(scratch, [("bill-a", 1), ("bill-a", 2), ("bill-b", 3)])
    short = scratch.settings.model_copy(update={"outbox_lease_seconds": 1.0})
    dead = OutboxRelay(short, scratch.engine, scratch.tables, scratch.producer)
    token = uuid.uuid4()
    # The dead relay claims everything, then never publishes.
    async with scratch.engine.begin() as conn:
        claimed = (await conn.execute(dead._claim_sql, {"limit": 10, "token": token, "lease": 1.0})).all()
    assert len(claimed) == 3

    survivor = OutboxRelay(scratch.settings, scratch.engine, scratch.tables, scratch.producer)
    assert await survivor.publish_pending() == 0, "leased rows must not be taken while the lease holds"
    await asyncio.sleep(1.3)
    assert await survivor.publish_pending() == 3
    async with scratch.engine.begin() as conn:
        late = await conn.execute(dead._mark_sql, {"ids": [r.id for r in claimed], "token": token})
    assert late.rowcount == 0
    assert await _pending(scratch) == 0
    assert sorted(seq for _, seq, _ in await _read_topic(scratch, 3)) == [1, 2, 3]


async def test_a_newer_event_waits_while_an_older_one_of_the_same_key_is_leased(scratch: Scratch) -> None:
    await _insert_rows(scratch, [("bill-a", 1)])
    relay = OutboxRelay(scratch.settings, scratch.engine, scratch.tables, scratch.producer)
    async with scratch.engine.begin() as conn:
        await conn.execute(relay._claim_sql, {"limit": 10, "token": uuid.uuid4(), "lease": 60.0})
    await _insert_rows(scratch, [("bill-a", 2), ("bill-b", 3)])
    assert await relay.publish_pending() == 1  # bill-b only; bill-a:2 must not overtake bill-a:1
    assert [seq for _, seq, _ in await _read_topic(scratch, 1)] == [3]


async def test_notify_wakes_the_relay_long_before_its_poll(scratch: Scratch) -> None:
    slow_poll = scratch.settings.model_copy(update={"outbox_poll_seconds": 60.0})
    relay = OutboxRelay(slow_poll, scratch.engine, scratch.tables, scratch.producer)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1.0)  # the relay is idle, waiting on NOTIFY or its 60 s poll
        async with scratch.sessions() as session, session.begin():
            await session.execute(
                insert(scratch.tables.outbox).values(
                    event_id=uuid.uuid4(),
                    topic=scratch.topic,
                    key="bill-n",
                    event_type="test",
                    body="bill-n:7",
                )
            )
            await session.execute(text("SELECT pg_notify(:c, '')"), {"c": scratch.tables.notify_channel})
        seen = await _read_topic(scratch, 1, timeout=10.0)
        assert [seq for _, seq, _ in seen] == [7]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _signed(note: str) -> AgreementSignedV1:
    return AgreementSignedV1(
        agreement_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        bill_id=uuid.uuid4(),
        agreed_amount="100.00",
        signer_name=note,
        signed_at=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
async def consumer_under_test(settings: Settings) -> AsyncIterator[tuple[Scratch, str, dict[str, int]]]:
    """A consumer group of its own on agreements.events, with a handler whose behaviour each event picks.

    Shared by the tests below (joining a group takes seconds); each test uses its own signer names.
    """
    async with _scratch(settings) as scratch, _running_consumer(scratch) as running:
        yield running


@contextlib.asynccontextmanager
async def _running_consumer(scratch: Scratch) -> AsyncIterator[tuple[Scratch, str, dict[str, int]]]:
    group = f"bustest-{uuid.uuid4().hex[:8]}"
    await ensure_topics(scratch.settings, [dead_letter_topic(group)])
    calls: dict[str, int] = {}
    handlers = Handlers()

    @handlers.on(AgreementSignedV1)
    async def handle(tx: Tx, e: AgreementSignedV1, event: Envelope) -> None:
        calls[e.signer_name] = calls.get(e.signer_name, 0) + 1
        if e.signer_name.startswith("poison"):
            raise RuntimeError(f"cannot handle {e.signer_name}")
        if e.signer_name.startswith("permanent"):
            raise PermanentError("this one can never work")
        if e.signer_name.startswith("flaky") and calls[e.signer_name] <= 2:
            raise ConnectionResetError("database went away")
        await tx.session.execute(insert(scratch.effects).values(event_id=str(event.id), note=e.signer_name))

    settings = scratch.settings.model_copy(
        update={"consumer_max_attempts": 3, "consumer_backoff_seconds": 0.01}
    )
    consumer = EventConsumer(settings, group, handlers, scratch.sessions, scratch.outbox(), scratch.producer)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.assigned.wait(), timeout=30)
    try:
        yield scratch, group, calls
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _publish(s: Scratch, envelope: Envelope) -> None:
    await s.producer.send_and_wait(
        "agreements.events", value=envelope.to_bytes(), key=envelope.subject.encode()
    )


async def _effects(s: Scratch, note: str) -> int:
    async with s.engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    select(func.count()).select_from(s.effects).where(s.effects.c.note == note)
                )
            ).scalar_one()
        )


async def _wait(probe, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_the_same_event_twice_has_one_effect(consumer_under_test) -> None:  # type: ignore[no-untyped-def]
    s, _, calls = consumer_under_test
    envelope = Envelope.wrap(_signed("twice"), source="/tests", subject=str(uuid.uuid4()))
    await _publish(s, envelope)
    await _publish(s, envelope)
    marker = Envelope.wrap(_signed("after-twice"), source="/tests", subject=envelope.subject)
    await _publish(s, marker)  # same key, same partition: handled after both copies
    await _wait(lambda: _effects(s, "after-twice"))
    assert await _effects(s, "twice") == 1
    assert calls["twice"] == 1


async def test_a_failing_event_is_retried_then_dead_lettered_and_the_consumer_moves_on(
    consumer_under_test,
) -> None:  # type: ignore[no-untyped-def]
    s, group, calls = consumer_under_test
    subject = str(uuid.uuid4())
    poison = Envelope.wrap(_signed("poison-1"), source="/tests", subject=subject)
    # Same key, so one partition and probably one batch: the poison must not take its neighbours down.
    await _publish(s, Envelope.wrap(_signed("good-before-poison"), source="/tests", subject=subject))
    await _publish(s, poison)
    await _publish(s, Envelope.wrap(_signed("good-after-poison"), source="/tests", subject=subject))
    await _wait(lambda: _effects(s, "good-after-poison"))
    assert await _effects(s, "good-before-poison") == 1
    # Three attempts of its own (consumer_max_attempts), plus one if it first failed inside a batch.
    assert calls["poison-1"] in (3, 4)
    assert await _effects(s, "poison-1") == 0

    letters = await _wait(lambda: _letters_for(s.settings, group, str(poison.id)), timeout=15)
    assert "cannot handle poison-1" in letters[0].error
    assert letters[0].attempts == 3
    assert letters[0].original_topic == "agreements.events"


async def _letters_for(settings: Settings, group: str, event_id: str) -> list[dlq.DeadLetter]:
    return [dl for dl in await dlq.read_dead_letters(settings, group) if dl.event_id == event_id]


async def test_a_permanent_error_is_dead_lettered_without_retries(consumer_under_test) -> None:  # type: ignore[no-untyped-def]
    s, group, calls = consumer_under_test
    bad = Envelope.wrap(_signed("permanent-1"), source="/tests", subject=str(uuid.uuid4()))
    await _publish(s, bad)
    letters = await _wait(lambda: _letters_for(s.settings, group, str(bad.id)), timeout=15)
    assert letters[0].attempts == 1
    assert calls["permanent-1"] in (1, 2)  # 2 if it first failed inside a batch
    assert "can never work" in letters[0].error


async def test_transient_errors_are_retried_past_the_attempt_limit(consumer_under_test) -> None:  # type: ignore[no-untyped-def]
    s, group, calls = consumer_under_test
    flaky = Envelope.wrap(_signed("flaky-1"), source="/tests", subject=str(uuid.uuid4()))
    await _publish(s, flaky)
    await _wait(lambda: _effects(s, "flaky-1"))
    assert calls["flaky-1"] == 3
    assert await _letters_for(s.settings, group, str(flaky.id)) == []


async def test_an_unreadable_message_is_dead_lettered_at_once(consumer_under_test) -> None:  # type: ignore[no-untyped-def]
    s, group, _ = consumer_under_test
    key = uuid.uuid4().hex
    await s.producer.send_and_wait("agreements.events", value=b"{not an envelope", key=key.encode())

    async def letter() -> list[dlq.DeadLetter]:
        return [dl for dl in await dlq.read_dead_letters(s.settings, group) if dl.key == key]

    letters = await _wait(letter, timeout=15)
    assert letters[0].attempts == 0
    assert letters[0].event_id is None


async def test_replay_sends_a_dead_letter_back_to_its_group(consumer_under_test) -> None:  # type: ignore[no-untyped-def]
    s, group, calls = consumer_under_test
    # The handler still fails after replay; what matters is that the same event reached the group again.
    event = Envelope.wrap(_signed("permanent-replay"), source="/tests", subject=str(uuid.uuid4()))
    await _publish(s, event)
    await _wait(lambda: _letters_for(s.settings, group, str(event.id)), timeout=15)
    replayed = await dlq.replay(s.settings, group, {str(event.id)})
    assert [dl.event_id for dl in replayed] == [str(event.id)]
    await _wait(lambda: _returned(calls, "permanent-replay", 2), timeout=15)


async def _returned(calls: dict[str, int], name: str, times: int) -> bool:
    return calls.get(name, 0) >= times


async def test_a_batch_scope_writes_for_its_transaction_and_a_poison_event_still_fails_alone(
    consumer_under_test,
) -> None:  # type: ignore[no-untyped-def]
    """Handlers that only collect, and a batch scope that writes what they collected once, at its end:
    each good event's effect is written exactly once (a duplicate is not given to the scope), the poison
    event's batch rolls back with everything its scope collected, and the poison alone dead-letters."""
    # Its schema and producer, and a consumer group of this test's own; that fixture's group sees these
    # events too and notes each by name, so this one notes "scoped:<name>".
    scratch, _, _ = consumer_under_test
    group = f"bustest-{uuid.uuid4().hex[:8]}"
    await ensure_topics(scratch.settings, [dead_letter_topic(group)])
    run = uuid.uuid4().hex[:8]
    seen: list[list[str]] = []

    @contextlib.asynccontextmanager
    async def scope(tx: Tx, events: Sequence[tuple[Payload, Envelope]]) -> AsyncIterator[None]:
        collected: list[dict[str, str]] = []
        tx.session.info["collected"] = collected
        seen.append([getattr(payload, "signer_name", "") for payload, _ in events])
        yield
        if collected:
            await tx.session.execute(insert(scratch.effects), collected)

    handlers = Handlers(batch_scope=scope)

    @handlers.on(AgreementSignedV1)
    async def handle(tx: Tx, e: AgreementSignedV1, event: Envelope) -> None:
        if e.signer_name == f"bad-{run}":
            raise RuntimeError("cannot handle it")
        tx.session.info["collected"].append({"event_id": str(event.id), "note": f"scoped:{e.signer_name}"})

    quick = scratch.settings.model_copy(update={"consumer_max_attempts": 3, "consumer_backoff_seconds": 0.01})
    consumer = EventConsumer(quick, group, handlers, scratch.sessions, scratch.outbox(), scratch.producer)
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(consumer.assigned.wait(), timeout=30)
        subject = str(uuid.uuid4())
        first = Envelope.wrap(_signed(f"first-{run}"), source="/tests", subject=subject)
        poison = Envelope.wrap(_signed(f"bad-{run}"), source="/tests", subject=subject)
        last = Envelope.wrap(_signed(f"last-{run}"), source="/tests", subject=subject)
        for envelope in (first, first, poison, last):
            await _publish(scratch, envelope)
        await _wait(lambda: _effects(scratch, f"scoped:last-{run}"))
        assert await _effects(scratch, f"scoped:first-{run}") == 1
        assert await _effects(scratch, f"scoped:bad-{run}") == 0
        letters = await _wait(lambda: _letters_for(scratch.settings, group, str(poison.id)), timeout=15)
        assert letters[0].attempts == 3
        mine = [[n for n in names if n.endswith(run)] for names in seen]
        assert all(names.count(f"first-{run}") <= 1 for names in mine)  # the duplicate never reaches it
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
