"""Killing a service mid-flow loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from shared.stack.devstack import DevStack
from tests.helpers import bill, submit_bill, unique, wait_until

pytestmark = pytest.mark.e2e

BILLS = 200


async def test_sigkill_pricing_while_200_bills_flow(
    stack: DevStack,
    http: httpx.AsyncClient,
    urls: dict[str, str],
    db: asyncpg.Connection,
    staff: dict[str, httpx.AsyncClient],
) -> None:
    client_id = unique("crash")
    bodies = [bill(client_id=client_id) for _ in range(BILLS)]
    bill_ids: list[str] = []
    gate = asyncio.Semaphore(16)

    async def post(body: dict) -> None:
        async with gate:
            response = await submit_bill(http, urls, body)
            assert response.status_code == 201, response.text
            bill_ids.append(response.json()["id"])

    async def priced() -> int:
        return int(await db.fetchval("SELECT count(*) FROM pricing.pricings WHERE client_id = $1", client_id))

    posting = asyncio.gather(*(post(b) for b in bodies))
    await wait_until(lambda: _at_least(priced, 20), what="pricing to start")
    stack.stop_service("pricing", kill=True)  # SIGKILL: no cleanup, no offset commit, leases left behind
    at_kill = await priced()
    assert at_kill < BILLS, "pricing finished before the kill; the test proved nothing"
    await asyncio.sleep(1.0)
    stack.start_service("pricing")
    await stack.wait_ready(["pricing"])
    await posting
    assert len(bill_ids) == BILLS

    await wait_until(lambda: _at_least(priced, BILLS), timeout=180, what=f"all {BILLS} bills priced")
    ids = [uuid.UUID(b) for b in bill_ids]

    # Exactly one pricing per bill, and exactly one bill.priced event per bill written.
    doubled = await db.fetch(
        "SELECT bill_id FROM pricing.pricings WHERE client_id = $1 GROUP BY bill_id HAVING count(*) > 1",
        client_id,
    )
    assert doubled == []
    events = await db.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT key) AS bills FROM pricing.outbox "
        "WHERE event_type = 'parley.bill.priced' AND key = ANY($1::text[])",
        bill_ids,
    )
    assert (events["n"], events["bills"]) == (BILLS, BILLS)

    # Downstream saw each bill once: one case each, and reporting counts each bill priced once.
    async def cases() -> bool:
        n = await db.fetchval("SELECT count(*) FROM negotiation.cases WHERE bill_id = ANY($1::uuid[])", ids)
        return n == BILLS

    await wait_until(cases, timeout=120, what="a case per bill")

    # The bills are priced by the FL fee schedule: each case is repriced (no negotiation needed), which
    # reporting counts as not negotiated.
    async def reported() -> dict | None:
        kpis = (await staff["viewer"].get(f"{urls['reporting']}/v1/kpis?client_id={client_id}")).json()
        return kpis if kpis["bills_not_negotiated"] >= BILLS else None

    kpis = await wait_until(reported, timeout=120, what="reporting to count every bill")
    assert kpis["bills_received"] == kpis["bills_priced"] == kpis["bills_not_negotiated"] == BILLS

    async def all_repriced() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM intake.bills WHERE client_id = $1 AND status = 'repriced'", client_id
        )
        return n == BILLS

    await wait_until(all_repriced, timeout=120, what="intake to show every bill repriced")


async def _at_least(probe, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() >= n
