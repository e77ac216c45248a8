"""Kafka clients, configured one way for every service.

Tansu (the embedded broker) refuses InitProducerId, so the producer is not idempotent; ``acks="all"``
keeps what was acknowledged, and the consumers' inboxes turn at-least-once delivery into exactly-once
effects.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.catalog import SERVICE_NAMES
from shared.contracts import Topic, dead_letter_topic
from shared.settings import Settings

log = structlog.get_logger(__name__)


def all_topics() -> list[str]:
    """Every event topic, plus a dead-letter topic per consumer group (each named after its service)."""
    return [t.value for t in Topic] + [dead_letter_topic(name) for name in SERVICE_NAMES]


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"parley-{settings.service}",
        enable_idempotence=False,
        acks="all",
        linger_ms=2,
        request_timeout_ms=15_000,
    )


def make_consumer(settings: Settings, group: str, topics: Iterable[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"parley-{settings.service}",
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        max_poll_records=settings.consumer_max_records,
    )


async def ensure_topics(settings: Settings, topics: Iterable[str] | None = None) -> list[str]:
    """Create the platform's topics explicitly; the broker would otherwise auto-create them too small.

    Returns the names that were created (existing topics are left as they are).
    """
    wanted = list(topics or all_topics())
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="parley-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(t, settings.topic_partitions, settings.topic_replication) for t in missing]
            )
            for name, code, message in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"could not create topic {name}: error {code} {message}")
            log.info("topics.created", topics=missing, partitions=settings.topic_partitions)
        return missing
    finally:
        await admin.close()
