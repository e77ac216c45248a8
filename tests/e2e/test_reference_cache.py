"""Each pricing process caches reference data; a load in any process makes every other one read it again.

Two processes here: the running pricing service, and this test process deciding bills with the same code
(``decide``) against the same database. Each test first makes one process cache "this client has no
settings" (its bill goes to U&C), then loads, in the *other* process, a client with a network holding a
90%-of-billed contract for the bill's provider; the next decision in the first process must price by that
contract. Were the cache only invalidated in the process that loaded, both tests would see U&C again.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from services.pricing.config import PricingSettings
from services.pricing.decision import decide
from services.pricing.importers import run_load
from shared.catalog import service
from shared.contracts import BillReceivedV1, PricingMethod
from shared.stack.devstack import DevStack
from tests.helpers import bill, line, new_tin, submit_bill, wait_until

pytestmark = pytest.mark.e2e


def _terms(tag: str, tin: str, client_id: str) -> dict[str, str]:
    """Reference files giving ``client_id`` a network with a 90%-of-billed contract for ``tin``."""
    return {
        "contracts": (
            f'[{{"id": "cache-{tag}", "kind": "ppo", "name": "Cache PPO", "provider": {{"tin": "{tin}"}},'
            f'"effective_from": "2020-01-01", "terms": {{"type": "percent_of_billed", "percent": 90}}}}]'
        ),
        "networks": f'[{{"id": "cache-net-{tag}", "name": "Cache", "contracts": ["cache-{tag}"]}}]',
        "clients": f'[{{"client_id": "{client_id}", "network": "cache-net-{tag}"}}]',
    }


def _mt_bill(client_id: str, tin: str) -> dict:
    body = bill(client_id=client_id, state="MT", zip_code="59101", lines=[line("29881", "3000.00")])
    body["provider"]["tin"] = tin
    return body


@pytest.fixture
async def pricing_db(stack: DevStack) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(stack.database_url(service("pricing")))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _decide_here(engine: AsyncEngine, body: dict) -> PricingMethod:
    received = BillReceivedV1.model_validate(
        {
            **body,
            "bill_id": uuid.uuid4(),
            "claim_type": "professional",
            "received_at": datetime.now(UTC),
            "lines": [
                {**x, "line_number": 1, "units": 1, "service_date": date(2026, 3, 2)} for x in body["lines"]
            ],
        }
    )
    settings = PricingSettings(service="tests", database_url=str(engine.url))
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return (await decide(session, received, settings)).method


async def test_a_load_through_the_service_is_seen_by_another_pricing_process(
    urls: dict[str, str], staff: dict[str, httpx.AsyncClient], pricing_db: AsyncEngine
) -> None:
    tag, tin = uuid.uuid4().hex[:8], new_tin()
    client_id = f"cache-a-{tag}"
    body = _mt_bill(client_id, tin)
    assert await _decide_here(pricing_db, body) is PricingMethod.usual_and_customary  # cached: no client

    for dataset, content in _terms(tag, tin, client_id).items():
        loaded = await staff["admin"].post(
            f"{urls['pricing']}/v1/reference/{dataset}", content=content.encode(), params={"source": tag}
        )
        assert loaded.status_code == 201, loaded.text

    assert await _decide_here(pricing_db, body) is PricingMethod.contract


async def test_a_load_by_another_process_is_seen_by_the_service(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    staff: dict[str, httpx.AsyncClient],
    pricing_db: AsyncEngine,
    tmp_path: Path,
) -> None:
    tag, tin = uuid.uuid4().hex[:8], new_tin()
    client_id = f"cache-b-{tag}"
    created = await submit_bill(http, urls, _mt_bill(client_id, tin))
    assert created.status_code == 201, created.text
    bill_id = created.json()["id"]

    async def latest(revision: int) -> dict | None:
        response = await staff["negotiator"].get(f"{urls['pricing']}/v1/pricings/{bill_id}")
        found = response.json()["latest"] if response.status_code == 200 else None
        return found if found and found["revision"] >= revision else None

    first = await wait_until(lambda: latest(1), what="first pricing")
    assert first["method"] == "usual_and_customary"  # the service has cached: no such client

    async with AsyncSession(pricing_db) as session, session.begin():  # this process, not the service
        for dataset, content in _terms(tag, tin, client_id).items():
            path = tmp_path / f"{dataset}.json"
            path.write_text(content)
            await run_load(session, dataset, path)

    repriced = await staff["supervisor"].post(
        f"{urls['pricing']}/v1/pricings/{bill_id}/reprice", json={"reason": "client terms loaded elsewhere"}
    )
    assert repriced.status_code == 201, repriced.text
    second = await wait_until(lambda: latest(2), what="second pricing")
    assert (second["method"], second["contract_id"]) == ("contract", f"cache-{tag}")
    assert Decimal(second["total_allowed"]) == Decimal("2700.00")  # 90% of 3000
