"""Test data builders and polling helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
# (partner id, clients) -> a new API key for that partner; clients ["*"] means all of its clients.
KeyMaker = Callable[[str, list[str]], Coroutine[Any, Any, str]]

PROVIDER = {"npi": "1912301953", "tin": "587654321", "name": "Ben Kildare Service"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def line(code: str = "99214", charge: str = "310.00", **extra: Any) -> dict[str, Any]:
    service_date = (datetime.now(UTC).date() - timedelta(days=20)).isoformat()
    return {"procedure_code": code, "units": 1, "charge": charge, "service_date": service_date, **extra}


def bill(
    *,
    client_id: str | None = None,
    claim: str | None = None,
    state: str = "FL",
    zip_code: str = "33111",
    lines: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    lines = lines or [line("99214", "310.00"), line("73030", "120.00")]
    total = sum(float(x["charge"]) for x in lines)
    return {
        "partner_claim_id": claim or unique("CLM"),
        "client_id": client_id or unique("client"),
        "provider": dict(PROVIDER),
        "facility": {"state": state, "zip": zip_code},
        "place_of_service": "11",
        "lines": lines,
        "total_charge": f"{total:.2f}",
    }


def auth_header(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def submit_bill(
    http: httpx.AsyncClient,
    urls: dict[str, str],
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    key: str | None = None,
) -> httpx.Response:
    """POST a bill to intake the way a partner does. The one place tests submit bills.

    ``http`` (the fixture) already carries the suite's partner key; ``key`` submits as another partner.
    """
    extra = {**(headers or {}), **(auth_header(key) if key else {})}
    return await http.post(f"{urls['intake']}/v1/bills", json=body, headers=extra)


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 60.0, interval: float = 0.2, what: str = ""
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        await asyncio.sleep(interval)
