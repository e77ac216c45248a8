"""Operator tools for dead letters: list what a consumer group gave up on, and replay it.

Replay re-publishes the original message to its original topic with its original key. Every group on
that topic sees it again; groups that already handled it drop it in their inbox, and the group that
failed handles it now (after the fix that made it fail has been deployed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.bus.kafka import make_producer
from shared.contracts import Envelope, dead_letter_topic
from shared.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    value: bytes
    error: str
    original_topic: str
    attempts: int
    failed_at: datetime | None
    event_id: str | None
    event_type: str | None
    event_headers: list[tuple[str, bytes]]  # the original ce_* headers, sent again on replay


def _header(headers: dict[str, bytes], name: str) -> str:
    return headers.get(f"parley.{name}", b"").decode(errors="replace")


def _to_dead_letter(
    partition: int, offset: int, key: bytes | None, value: bytes, raw_headers: list[tuple[str, bytes]]
) -> DeadLetter:
    headers = dict(raw_headers)
    try:
        envelope: Envelope | None = Envelope.from_bytes(value)
    except ValueError:
        envelope = None
    failed_at = _header(headers, "failed_at")
    return DeadLetter(
        partition=partition,
        offset=offset,
        key=key.decode(errors="replace") if key else None,
        value=value,
        error=_header(headers, "error"),
        original_topic=_header(headers, "original_topic"),
        attempts=int(_header(headers, "attempts") or 0),
        failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
        event_id=str(envelope.id) if envelope else None,
        event_type=envelope.type if envelope else None,
        event_headers=[(k, v) for k, v in raw_headers if k.startswith("ce_")],
    )


async def read_dead_letters(settings: Settings, group: str) -> list[DeadLetter]:
    """Everything currently in ``<group>.dlq``, oldest first per partition. Reads without a group."""
    topic = dead_letter_topic(group)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # fetches metadata for every topic
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        letters: list[DeadLetter] = []
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=2000)
            if not batch:
                break
            for tp, messages in batch.items():
                for m in messages:
                    letters.append(
                        _to_dead_letter(m.partition, m.offset, m.key, m.value or b"", list(m.headers))
                    )
                if messages and messages[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
        return letters
    finally:
        await consumer.stop()


async def replay(settings: Settings, group: str, event_ids: set[str] | None = None) -> list[DeadLetter]:
    """Re-publish dead letters of ``group`` (all, or only the given event ids). Returns what was sent."""
    letters = [
        dl
        for dl in await read_dead_letters(settings, group)
        if dl.original_topic and (event_ids is None or dl.event_id in event_ids)
    ]
    producer = make_producer(settings)
    await producer.start()
    try:
        for dl in letters:
            await producer.send_and_wait(
                dl.original_topic,
                value=dl.value,
                key=dl.key.encode() if dl.key else None,
                headers=dl.event_headers,
            )
    finally:
        await producer.stop()
    return letters
