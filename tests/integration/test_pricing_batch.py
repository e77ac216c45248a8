"""Pricing's received-bill path writes past the ORM (issue 13), yet it and the ORM handlers see each
other's changes within one consumer batch: accepted payments handled just before and just after a
replacement of their bill, in one transaction, are spread over the replacement's lines, as when each
event commits on its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.pricing.config import PricingSettings
from services.pricing.models import bus
from services.pricing.pricings import payment_accepted, price, remember
from shared.bus.outbox import Outbox, Tx
from shared.catalog import service
from shared.contracts import BillReceivedV1
from shared.stack.devstack import DevStack


@pytest.fixture
async def sessions(stack: DevStack) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(stack.database_url(service("pricing")), pool_size=1)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


DAY = "2025-10-03"


def _bill(bill_id: uuid.UUID, revision: int, codes: list[str]) -> BillReceivedV1:
    lines = [
        {
            "line_number": n,
            "procedure_code": code,
            "units": 1,
            "charge": "200.00",
            "service_date": "2025-10-03",
        }
        for n, code in enumerate(codes, start=1)
    ]
    return BillReceivedV1.model_validate(
        {
            "bill_id": str(bill_id),
            "client_id": "batch-client",
            "partner_claim_id": f"BATCH-{bill_id}",
            "claim_type": "professional",
            "provider": {"npi": "1912301953", "tin": "587654321"},
            "facility": {"state": "FL", "zip": "33111"},
            "total_charge": str(Decimal("200.00") * len(codes)),
            "lines": lines,
            "received_at": datetime(2025, 10, 4, tzinfo=UTC).isoformat(),
            "revision": revision,
        }
    )


async def _receive(tx: Tx, bill: BillReceivedV1) -> None:
    known = await remember(tx, bill)
    assert known is not None
    await price(tx, bill, PricingSettings(), known, trigger="test")


async def test_a_payment_accepted_earlier_in_the_batch_follows_the_replacement(
    sessions: async_sessionmaker[AsyncSession], db: asyncpg.Connection
) -> None:
    bill_id = uuid.uuid4()
    outbox = Outbox(bus, source="/test")
    async with sessions() as session, session.begin():
        await _receive(Tx(session, outbox, deferred=[]), _bill(bill_id, 1, ["99213"]))
    # One transaction, as a consumer batch: a payment (through the ORM), revision 2 of the bill, a payment.
    async with sessions() as session, session.begin():
        tx = Tx(session, outbox, deferred=[])
        assert await payment_accepted(tx, bill_id, Decimal("300.00"))
        await _receive(tx, _bill(bill_id, 2, ["99214", "73030"]))
        assert await payment_accepted(tx, bill_id, Decimal("400.00"))  # reads revision 2 of the bill
    payments = await db.fetch(
        "SELECT code, amount, observed_on FROM pricing.observations "
        "WHERE origin = 'payment' AND bill_id = $1 ORDER BY code",
        bill_id,
    )
    assert [(r["code"], r["amount"]) for r in payments] == [
        ("73030", Decimal("200.00")),
        ("99214", Decimal("200.00")),
    ]
    assert {r["observed_on"] for r in payments} == {date(2025, 10, 3)}
    revisions = await db.fetch(
        "SELECT revision FROM pricing.pricings WHERE bill_id = $1 ORDER BY revision", bill_id
    )
    assert [r["revision"] for r in revisions] == [1, 2]
    stored = await db.fetchrow(
        "SELECT revision, agreed_amount FROM pricing.bills WHERE bill_id = $1", bill_id
    )
    assert (stored["revision"], stored["agreed_amount"]) == (2, Decimal("400.00"))
