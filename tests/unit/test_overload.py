"""Overload is answered 503 with Retry-After (nothing done, retry later), never 500."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.http import RequestSlots, install_error_handlers
from shared.service import http_slots
from shared.settings import Settings


def _app(slots: RequestSlots, release: asyncio.Event) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/work")
    async def work() -> dict[str, str]:
        async with slots.turn():
            await release.wait()
        return {"done": "yes"}

    @app.post("/pool")
    async def pool() -> dict[str, str]:
        raise PoolTimeout("QueuePool limit of size 5 overflow 5 reached, connection timed out")

    return app


async def test_a_request_that_waits_too_long_for_its_turn_gets_503_with_retry_after() -> None:
    release = asyncio.Event()
    app = _app(RequestSlots(1, wait=0.05), release)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        first = asyncio.create_task(client.post("/work"))
        await asyncio.sleep(0.01)  # the first holds the only slot
        refused = await client.post("/work")
        release.set()
        assert (await first).status_code == 200
        assert (await client.post("/work")).status_code == 200  # the slot was given back
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert "retry" in refused.json()["detail"]


async def test_requests_queue_for_their_turn_within_the_wait() -> None:
    release = asyncio.Event()
    app = _app(RequestSlots(1, wait=5.0), release)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        waiting = [asyncio.create_task(client.post("/work")) for _ in range(3)]
        await asyncio.sleep(0.05)
        release.set()
        assert [r.status_code for r in await asyncio.gather(*waiting)] == [200, 200, 200]


async def test_an_exhausted_connection_pool_is_503_not_500() -> None:
    app = _app(RequestSlots(1, wait=1.0), asyncio.Event())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post("/pool")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_requests_leave_two_pooled_connections_to_the_background_loops() -> None:
    assert http_slots(Settings()) == 8  # pool 5 + overflow 5
    assert http_slots(Settings(db_pool_size=1, db_max_overflow=0)) == 1
    assert http_slots(Settings(http_db_slots=3)) == 3


def test_a_consumer_retries_an_exhausted_pool_instead_of_dead_lettering() -> None:
    """A pool timeout says nothing about the message: the consumer waits and retries (no dead letter),
    while a plain handler error still counts towards dead-lettering."""
    from shared.bus.consumer import PermanentError, is_transient

    assert is_transient(PoolTimeout("QueuePool limit of size 5 overflow 5 reached, connection timed out"))
    assert not is_transient(ValueError("the bill has no lines"))
    assert not is_transient(PermanentError("unknown case"))
