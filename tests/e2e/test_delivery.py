"""Delivery guarantees on the running services: duplicates have one effect, bad messages dead-letter."""

from __future__ import annotations

import json
import re
import uuid

import asyncpg
import httpx
import pytest

from shared.bus import dlq
from shared.bus.kafka import make_producer
from shared.contracts import AgreementSignedV1, Envelope
from shared.settings import Settings
from tests.helpers import bill, submit_bill, wait_until

pytestmark = pytest.mark.e2e


async def _metric(http: httpx.AsyncClient, base: str, pattern: str) -> float:
    text = (await http.get(f"{base}/metrics")).text
    return sum(float(m.group(1)) for m in re.finditer(pattern + r" ([0-9.e+]+)", text))


async def test_a_redelivered_bill_received_is_priced_once(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, settings: Settings
) -> None:
    created = await submit_bill(http, urls, bill())
    bill_id = created.json()["id"]
    await wait_until(
        lambda: db.fetchval("SELECT count(*) FROM pricing.pricings WHERE bill_id = $1", uuid.UUID(bill_id)),
        what="first pricing",
    )
    # The case from the first delivery, before the copies: afterwards it must still be the only one.
    await wait_until(
        lambda: db.fetchval("SELECT count(*) FROM negotiation.cases WHERE bill_id = $1", uuid.UUID(bill_id)),
        what="the case opened",
    )
    duplicates = (
        r'parley_events_total\{event_type="bill.received",group="pricing",'
        r'outcome="duplicate",service="pricing"\}'
    )
    before = await _metric(http, urls["pricing"], duplicates)

    # Deliver the very same event (same id) again, as a relay retry or a rebalance would.
    body = await db.fetchval(
        "SELECT body FROM intake.outbox WHERE key = $1 AND event_type = 'parley.bill.received'", bill_id
    )
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait("bills.received", value=body.encode(), key=bill_id.encode())
        await producer.send_and_wait("bills.received", value=body.encode(), key=bill_id.encode())
    finally:
        await producer.stop()

    async def both_seen() -> bool:
        return await _metric(http, urls["pricing"], duplicates) >= before + 2

    await wait_until(both_seen, what="pricing to see both copies")
    assert (
        await db.fetchval("SELECT count(*) FROM pricing.pricings WHERE bill_id = $1", uuid.UUID(bill_id)) == 1
    )
    priced_events = await db.fetchval(
        "SELECT count(*) FROM pricing.outbox WHERE key = $1 AND event_type = 'parley.bill.priced'", bill_id
    )
    assert priced_events == 1
    assert (
        await db.fetchval("SELECT count(*) FROM negotiation.cases WHERE bill_id = $1", uuid.UUID(bill_id))
        == 1
    )


async def test_a_bill_revision_sent_again_under_a_new_event_id_is_priced_once(
    http: httpx.AsyncClient, urls: dict[str, str], db: asyncpg.Connection, settings: Settings
) -> None:
    """Found by trying it: a copy of a ``bill.received`` with a new envelope id (not a duplicate to the
    inbox) priced the same revision a second time."""
    bill_id = (await submit_bill(http, urls, bill())).json()["id"]
    count = "SELECT count(*) FROM pricing.pricings WHERE bill_id = $1"
    await wait_until(lambda: db.fetchval(count, uuid.UUID(bill_id)), what="first pricing")
    processed = (
        r'parley_events_total\{event_type="bill.received",group="pricing",'
        r'outcome="processed",service="pricing"\}'
    )
    before = await _metric(http, urls["pricing"], processed)
    body = await db.fetchval(
        "SELECT body FROM intake.outbox WHERE key = $1 AND event_type = 'parley.bill.received'", bill_id
    )
    copy = json.loads(body) | {"id": str(uuid.uuid4())}
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait("bills.received", value=json.dumps(copy).encode(), key=bill_id.encode())
    finally:
        await producer.stop()

    async def seen() -> bool:
        return await _metric(http, urls["pricing"], processed) >= before + 1

    await wait_until(seen, what="pricing to take the copy")
    assert await db.fetchval(count, uuid.UUID(bill_id)) == 1


async def test_an_event_a_service_cannot_apply_lands_in_its_dead_letter_topic(
    http: httpx.AsyncClient, urls: dict[str, str], settings: Settings, staff: dict[str, httpx.AsyncClient]
) -> None:
    # A signature for a case negotiation never opened: negotiation refuses it for good.
    from datetime import UTC, datetime

    orphan = AgreementSignedV1(
        agreement_id=uuid.uuid4(),
        case_id=uuid.uuid4(),
        bill_id=uuid.uuid4(),
        agreed_amount="10.00",
        signer_name="Nobody",
        signed_at=datetime.now(UTC),
    )
    envelope = Envelope.wrap(orphan, source="/tests", subject=str(orphan.bill_id))
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            "agreements.events", value=envelope.to_bytes(), key=envelope.subject.encode()
        )
    finally:
        await producer.stop()

    async def dead_lettered() -> list[dlq.DeadLetter]:
        return [
            dl
            for dl in await dlq.read_dead_letters(settings, "negotiation")
            if dl.event_id == str(envelope.id)
        ]

    letters = await wait_until(dead_lettered, what="the dead letter")
    assert "unknown case" in letters[0].error
    assert letters[0].original_topic == "agreements.events"
    # Admins see the same over HTTP; nobody else does.
    listed = await staff["admin"].get(f"{urls['negotiation']}/v1/admin/dlq")
    assert listed.status_code == 200, listed.text
    mine = [dl for dl in listed.json() if dl["event_id"] == str(envelope.id)]
    assert mine[0]["original_topic"] == "agreements.events"
    assert "unknown case" in mine[0]["error"]
    assert (await staff["supervisor"].get(f"{urls['negotiation']}/v1/admin/dlq")).status_code == 403
    replayed = await staff["admin"].post(
        f"{urls['negotiation']}/v1/admin/dlq/replay", json={"event_ids": [str(envelope.id)]}
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"replayed": 1, "event_ids": [str(envelope.id)]}
    logged = await staff["auditor"].get(
        f"{urls['negotiation']}/v1/audit", params={"action": "replay:dlq", "actor": "admin@staff.test"}
    )
    assert str(envelope.id) in str(logged.json()["items"][0]["detail"])
    # The service keeps going: a normal bill still flows.
    created = await submit_bill(http, urls, bill())
    bill_id = created.json()["id"]

    async def opened() -> bool:
        found = (await staff["negotiator"].get(f"{urls['negotiation']}/v1/cases?bill_id={bill_id}")).json()
        return bool(found["items"])

    await wait_until(opened, what="negotiation to keep working")
